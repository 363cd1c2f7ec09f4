"""The agency's purposes and criteria, and what it records about its educators beyond
their credentials: criteria met (National Board certification, an interview) and hold
harmless for lattice roles. Records are withdrawn, never edited or deleted."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import AgencyCaller, RequireAgency, Session, State
from badges.errors import InvalidInput
from badges.policy.agencies import educator_of
from badges.policy.criteria import (
    Evidence,
    criteria_of,
    define_criterion,
    record_criterion,
    record_hold,
    records_of,
    withdraw,
)
from badges.policy.purposes import (
    STANDARD_PURPOSES,
    add_purpose,
    purposes_of,
)
from badges.policy.stacks import (
    lattice_named,
    lattice_url,
)
from schemas.api.criteria import (
    CriterionIn,
    CriterionOut,
    CriterionRecordIn,
    CriterionRecordOut,
    PurposeIn,
    PurposeOut,
    RecordsOut,
    RoleHoldIn,
    RoleHoldOut,
    WithdrawalIn,
)
from storage.models import AgencyCriterion, EducatorCriterion, LatticeRole, RoleHold

router = APIRouter(prefix="/v1/agency", tags=["agency"])
Registrar = Annotated[AgencyCaller, Depends(RequireAgency("registry:write"))]
StackWriter = Annotated[AgencyCaller, Depends(RequireAgency("stacks:write"))]
Reporter = Annotated[AgencyCaller, Depends(RequireAgency("reports:read"))]


@router.get("/purposes", response_model=list[PurposeOut], response_model_by_alias=True)
async def purposes(caller: Reporter, session: Session) -> list[PurposeOut]:
    """The six policy areas every agency has, then the state's own purposes."""
    return [
        PurposeOut(key=key, name=name, standard=key in STANDARD_PURPOSES)
        for key, name in (await purposes_of(session, caller.agency)).items()
    ]


@router.post("/purposes", status_code=201, response_model=PurposeOut, response_model_by_alias=True)
async def new_purpose(body: PurposeIn, caller: StackWriter, session: Session) -> PurposeOut:
    """A purpose of the state's own; approvals and stacks may then name it."""
    row = await add_purpose(session, caller.agency, body.key, body.name, body.description)
    return PurposeOut(key=row.key, name=row.name, description=row.description, standard=False)


def _criterion_out(row: AgencyCriterion) -> CriterionOut:
    return CriterionOut(id=str(row.id), key=row.key, name=row.name, description=row.description)


@router.get("/criteria", response_model=list[CriterionOut], response_model_by_alias=True)
async def criteria(caller: Reporter, session: Session) -> list[CriterionOut]:
    return [_criterion_out(row) for row in await criteria_of(session, caller.agency)]


@router.post(
    "/criteria", status_code=201, response_model=CriterionOut, response_model_by_alias=True
)
async def new_criterion(body: CriterionIn, caller: StackWriter, session: Session) -> CriterionOut:
    """A criterion other than an MC that lattice roles may name (`{"criterion": key}`)."""
    row = await define_criterion(session, caller.agency, body.key, body.name, body.description)
    return _criterion_out(row)


def _criterion_record_out(
    record: EducatorCriterion, criterion: AgencyCriterion
) -> CriterionRecordOut:
    return CriterionRecordOut(
        id=str(record.id),
        criterion=criterion.key,
        name=criterion.name,
        evidence=record.evidence,
        evidence_url=record.evidence_url,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
        withdrawn_at=record.withdrawn_at,
        withdrawal_reason=record.withdrawal_reason,
    )


async def _hold_out(session: Session, state: State, row: RoleHold) -> RoleHoldOut:
    role = await session.get(LatticeRole, row.role_id)
    assert role is not None  # a role's holds go with it
    return RoleHoldOut(
        id=str(row.id),
        lattice_id=lattice_url(state.settings.public_url, role.lattice_id),
        role=role.key,
        basis=row.basis,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
    )


@router.get(
    "/educators/{educator_id}/records", response_model=RecordsOut, response_model_by_alias=True
)
async def records(
    educator_id: uuid.UUID, caller: Reporter, session: Session, state: State
) -> RecordsOut:
    """Every criterion and hold-harmless record of the educator, withdrawn ones included."""
    educator = await educator_of(session, caller.agency, educator_id)
    found, holds = await records_of(session, caller.agency, educator)
    return RecordsOut(
        criteria=[_criterion_record_out(record, criterion) for record, criterion in found],
        role_holds=[await _hold_out(session, state, row) for row in holds],
    )


@router.post(
    "/educators/{educator_id}/criteria",
    status_code=201,
    response_model=CriterionRecordOut,
    response_model_by_alias=True,
)
async def met_criterion(
    educator_id: uuid.UUID, body: CriterionRecordIn, caller: Registrar, session: Session
) -> CriterionRecordOut:
    """Record that the educator meets a criterion from `validFrom`, with its evidence."""
    educator = await educator_of(session, caller.agency, educator_id)
    evidence = Evidence(
        body.valid_from,
        body.valid_until,
        body.evidence,
        str(body.evidence_url) if body.evidence_url else None,
    )
    record = await record_criterion(
        session, caller.agency, educator, body.criterion, evidence, caller.client.client_id
    )
    criterion = await session.get(AgencyCriterion, record.criterion_id)
    assert criterion is not None  # just recorded against it
    return _criterion_record_out(record, criterion)


@router.post(
    "/educators/{educator_id}/role-holds",
    status_code=201,
    response_model=RoleHoldOut,
    response_model_by_alias=True,
)
async def hold_harmless(
    educator_id: uuid.UUID, body: RoleHoldIn, caller: Registrar, session: Session, state: State
) -> RoleHoldOut:
    """Hold harmless: she held the role another way, and keeps it from `validFrom`."""
    educator = await educator_of(session, caller.agency, educator_id)
    public_url = state.settings.public_url
    lattice = await lattice_named(
        session, public_url, caller.agency, body.lattice_id, ("latticeId",)
    )
    role = next((item for item in lattice.roles if item.key == body.role), None)
    if role is None:
        raise InvalidInput(f"the lattice has no role {body.role!r}", field=("role",))
    row = await record_hold(
        session,
        caller.agency,
        educator,
        role.id,
        body.basis,
        Evidence(body.valid_from, body.valid_until),
        caller.client.client_id,
    )
    return await _hold_out(session, state, row)


@router.post(
    "/educators/{educator_id}/criteria/{record_id}/withdrawal",
    response_model=CriterionRecordOut,
    response_model_by_alias=True,
)
async def withdraw_criterion(
    educator_id: uuid.UUID,
    record_id: uuid.UUID,
    body: WithdrawalIn,
    caller: Registrar,
    session: Session,
) -> CriterionRecordOut:
    """It stops counting from `at`; every answer for an earlier date stays as it was."""
    educator = await educator_of(session, caller.agency, educator_id)
    record = await withdraw(
        session,
        caller.agency,
        educator,
        EducatorCriterion,
        record_id,
        body.reason,
        caller.client.client_id,
        body.at,
    )
    assert isinstance(record, EducatorCriterion)
    criterion = await session.get(AgencyCriterion, record.criterion_id)
    assert criterion is not None
    return _criterion_record_out(record, criterion)


@router.post(
    "/educators/{educator_id}/role-holds/{record_id}/withdrawal",
    response_model=RoleHoldOut,
    response_model_by_alias=True,
)
async def withdraw_hold(
    educator_id: uuid.UUID,
    record_id: uuid.UUID,
    body: WithdrawalIn,
    caller: Registrar,
    session: Session,
    state: State,
) -> RoleHoldOut:
    educator = await educator_of(session, caller.agency, educator_id)
    row = await withdraw(
        session,
        caller.agency,
        educator,
        RoleHold,
        record_id,
        body.reason,
        caller.client.client_id,
        body.at,
    )
    assert isinstance(row, RoleHold)
    return await _hold_out(session, state, row)
