"""Criteria other than MCs, and hold harmless: what an agency records about an educator
that a career lattice role may ask for beside stacks.

A criterion (National Board certification, an interview, a legacy designation) is defined
once per agency and named in role rules as `{"criterion": key}`. The agency records that an
educator meets it from a date, with its evidence; the rule engine weighs such a record as a
leaf of the criterion's IRI (`stack_rules.criterion_iri`), so it counts once, like an MC.

Hold harmless: an educator who already held a role another way (before the lattice, or
under an earlier rule) keeps it. The agency records that, with its basis, per role; the
role's policy is then "its rule, or a hold-harmless record" (`with_hold_harmless`).

Records are never rewritten: a withdrawal sets `withdrawn_at` once (one conditional
UPDATE), and the record stops counting from then on, so every answer for an earlier date
stays what it was.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from badges.policy.rule_book import Holding
from badges.policy.stack_rules import (
    CRITERION_PREFIX,
    ROLE_HOLD_PREFIX,
    criterion_iri,
    role_hold_iri,
)
from badges.status.completion_marks import educators_changed
from storage.models import (
    Agency,
    AgencyCriterion,
    Educator,
    EducatorCriterion,
    Lattice,
    LatticeRole,
    RoleHold,
)

_KEY = re.compile(r"[a-z][a-z0-9_]{1,63}")


@dataclass(frozen=True)
class Evidence:
    """What the agency records: from when (until when), and what shows it."""

    valid_from: datetime
    valid_until: datetime | None = None
    evidence: str | None = None
    evidence_url: str | None = None


# --- the agency's criteria -----------------------------------------------------------------


async def define_criterion(
    session: AsyncSession, agency: Agency, key: str, name: str, description: str | None
) -> AgencyCriterion:
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            "key must be 2-64 lower-case letters, digits or _, starting with a letter",
            field=("key",),
        )
    if await _criterion(session, agency, key) is not None:
        raise Conflict(f"the agency already has a criterion {key!r}")
    row = AgencyCriterion(agency_id=agency.id, key=key, name=name, description=description)
    session.add(row)
    await session.flush()
    return row


async def criteria_of(session: AsyncSession, agency: Agency) -> list[AgencyCriterion]:
    return list(
        await session.scalars(
            select(AgencyCriterion)
            .where(AgencyCriterion.agency_id == agency.id)
            .order_by(AgencyCriterion.created_at, AgencyCriterion.key)
        )
    )


async def _criterion(session: AsyncSession, agency: Agency, key: str) -> AgencyCriterion | None:
    return await session.scalar(
        select(AgencyCriterion).where(
            AgencyCriterion.agency_id == agency.id, AgencyCriterion.key == key
        )
    )


async def check_criteria(
    session: AsyncSession, agency: Agency, keys: Collection[str], field: tuple[str | int, ...]
) -> None:
    """Every key names one of the agency's criteria (a typo would be a role nobody reaches)."""
    known = {row.key for row in await criteria_of(session, agency)}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise InvalidInput(
            f"unknown criterion {unknown[0]!r}: define it first (POST /v1/agency/criteria)",
            field=field,
        )


async def criterion_names(session: AsyncSession, agency: Agency) -> dict[str, str]:
    """Leaf IRI -> how a missing criterion is said to an educator."""
    return {
        criterion_iri(row.key): f"{row.name} (recorded by the agency)"
        for row in await criteria_of(session, agency)
    }


# --- records about educators -----------------------------------------------------------------


def _check_period(evidence: Evidence) -> None:
    if evidence.valid_until is not None and evidence.valid_until <= evidence.valid_from:
        raise InvalidInput("validUntil must be after validFrom", field=("validUntil",))


async def record_criterion(
    session: AsyncSession,
    agency: Agency,
    educator: Educator,
    key: str,
    evidence: Evidence,
    actor: str,
) -> EducatorCriterion:
    criterion = await _criterion(session, agency, key)
    if criterion is None:
        raise InvalidInput(f"the agency has no criterion {key!r}", field=("criterion",))
    _check_period(evidence)
    row = EducatorCriterion(
        agency_id=agency.id,
        educator_id=educator.id,
        criterion_id=criterion.id,
        evidence=evidence.evidence,
        evidence_url=evidence.evidence_url,
        valid_from=evidence.valid_from,
        valid_until=evidence.valid_until,
        recorded_by=actor,
    )
    session.add(row)
    await session.flush()
    await educators_changed(session, agency.id, [educator.id])
    return row


async def record_hold(
    session: AsyncSession,
    agency: Agency,
    educator: Educator,
    role_id: uuid.UUID,
    basis: str,
    evidence: Evidence,
    actor: str,
) -> RoleHold:
    role = await session.scalar(
        select(LatticeRole)
        .join(Lattice, Lattice.id == LatticeRole.lattice_id)
        .where(LatticeRole.id == role_id, Lattice.agency_id == agency.id)
    )
    if role is None:
        raise InvalidInput("the agency's lattices have no role with this id", field=("roleId",))
    _check_period(evidence)
    row = RoleHold(
        agency_id=agency.id,
        educator_id=educator.id,
        role_id=role.id,
        basis=basis,
        valid_from=evidence.valid_from,
        valid_until=evidence.valid_until,
        recorded_by=actor,
    )
    session.add(row)
    await session.flush()
    await educators_changed(session, agency.id, [educator.id])
    return row


async def withdraw(
    session: AsyncSession,
    agency: Agency,
    educator: Educator,
    table: type[EducatorCriterion] | type[RoleHold],
    record_id: uuid.UUID,
    reason: str,
    actor: str,
    at: datetime | None = None,
) -> EducatorCriterion | RoleHold:
    """Withdraw a record from `at` (default now; never before it was recorded, as that would
    change answers already given): one conditional UPDATE, so it is withdrawn once."""
    row: EducatorCriterion | RoleHold | None = await session.get(table, record_id)
    if row is None or row.agency_id != agency.id or row.educator_id != educator.id:
        raise NotFound("this educator has no such record", field=("recordId",))
    moment = at or datetime.now(UTC)
    if moment < row.recorded_at:
        raise InvalidInput(
            "a withdrawal cannot take effect before the record was made", field=("at",)
        )
    done = await session.execute(
        update(table)
        .where(table.id == record_id, table.withdrawn_at.is_(None))
        .values(withdrawn_at=moment, withdrawn_by=actor, withdrawal_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this record was already withdrawn")
    await session.refresh(row)
    await educators_changed(session, agency.id, [row.educator_id])
    return row


async def records_of(
    session: AsyncSession, agency: Agency, educator: Educator
) -> tuple[list[tuple[EducatorCriterion, AgencyCriterion]], list[RoleHold]]:
    criteria = (
        await session.execute(
            select(EducatorCriterion, AgencyCriterion)
            .join(AgencyCriterion, AgencyCriterion.id == EducatorCriterion.criterion_id)
            .where(
                EducatorCriterion.agency_id == agency.id,
                EducatorCriterion.educator_id == educator.id,
            )
            .order_by(EducatorCriterion.recorded_at)
        )
    ).all()
    holds = await session.scalars(
        select(RoleHold)
        .where(RoleHold.agency_id == agency.id, RoleHold.educator_id == educator.id)
        .order_by(RoleHold.recorded_at)
    )
    return [(record, criterion) for record, criterion in criteria], list(holds)


# --- what the rule engine weighs ---------------------------------------------------------------


def _ends(valid_until: datetime | None, withdrawn_at: datetime | None) -> datetime | None:
    ends = [moment for moment in (valid_until, withdrawn_at) if moment is not None]
    return min(ends) if ends else None


async def recorded_holdings(
    session: AsyncSession,
    agency: Agency,
    iris: Collection[str] | None,
    educator_ids: Sequence[uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[Holding]]:
    """Educator -> her criterion records and hold-harmless records among the leaf `iris`
    (None: all of them), as holdings: from `valid_from`, until `valid_until` or the
    withdrawal."""
    every = iris is None
    iris = iris or ()
    keys = [iri.removeprefix(CRITERION_PREFIX) for iri in iris if iri.startswith(CRITERION_PREFIX)]
    roles = [
        uuid.UUID(iri.removeprefix(ROLE_HOLD_PREFIX))
        for iri in iris
        if iri.startswith(ROLE_HOLD_PREFIX)
    ]
    found: dict[uuid.UUID, list[Holding]] = defaultdict(list)
    if keys or every:
        query = (
            select(EducatorCriterion, AgencyCriterion.key)
            .join(AgencyCriterion, AgencyCriterion.id == EducatorCriterion.criterion_id)
            .where(EducatorCriterion.agency_id == agency.id)
        )
        if not every:
            query = query.where(AgencyCriterion.key.in_(keys))
        if educator_ids is not None:
            query = query.where(EducatorCriterion.educator_id.in_(list(educator_ids)))
        for record, key in (await session.execute(query)).all():
            found[record.educator_id].append(
                Holding(
                    f"urn:uuid:{record.id}",
                    criterion_iri(key),
                    record.valid_from,
                    record.valid_from,
                    _ends(record.valid_until, record.withdrawn_at),
                )
            )
    if roles or every:
        holds = select(RoleHold).where(RoleHold.agency_id == agency.id)
        if not every:
            holds = holds.where(RoleHold.role_id.in_(roles))
        if educator_ids is not None:
            holds = holds.where(RoleHold.educator_id.in_(list(educator_ids)))
        for hold in await session.scalars(holds):
            found[hold.educator_id].append(
                Holding(
                    f"urn:uuid:{hold.id}",
                    role_hold_iri(str(hold.role_id)),
                    hold.valid_from,
                    hold.valid_from,
                    _ends(hold.valid_until, hold.withdrawn_at),
                )
            )
    return found


async def roles_with_holds(session: AsyncSession, agency: Agency) -> set[uuid.UUID]:
    """The roles some educator has (or had) a hold-harmless record for."""
    return set(
        await session.scalars(
            select(RoleHold.role_id).where(RoleHold.agency_id == agency.id).distinct()
        )
    )
