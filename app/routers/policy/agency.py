"""The state agency API: vetting, educators, stacks and lattices, submissions, evaluations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app.deps import AgencyCaller, RequireAgency, Session, State
from app.foreign_status import status_source
from app.routers.issuing.credentials import issued_json
from badges.errors import Conflict, InvalidInput, NotFound
from badges.issuing.achievements import achievement_iri
from badges.issuing.recipients import Recipient
from badges.policy.agencies import (
    ApprovalDecision,
    agency_educator,
    approvals_of,
    decide,
    districts_of,
    educator_of,
    move_educator,
    open_membership,
    register_educator,
)
from badges.policy.evaluation import (
    Evaluator,
    ProofCheck,
    agency_holdings,
    evaluation_json,
)
from badges.policy.evaluation_runs import (
    EvaluationRuns,
    not_evaluated,
    reevaluation,
)
from badges.policy.stack_credentials import (
    completed_stack,
    issue_clr,
    issue_stack_credential,
)
from badges.policy.stacks import (
    RoleDetails,
    StackDetails,
    create_lattice,
    create_stack,
    lattice_document,
    lattice_named,
    list_stacks,
    revise_stack,
    stack_document,
    stack_named,
    stack_url,
)
from badges.policy.submissions import (
    content_of,
    record_submission,
)
from schemas.api.agencies import (
    ApprovalIn,
    ApprovalOut,
    DistrictPeriodOut,
    EducatorIn,
    EducatorMoveIn,
    EducatorOut,
    EducatorRef,
    EvaluationIn,
    EvaluationRunOut,
    LatticeIn,
    RunTargetStatusOut,
    StackIn,
    SubmissionIn,
)
from storage.models import Approval, Educator, Stack
from verification.context import RecipientQuery
from verification.inputs import InputError, read_presented
from verification.report import Verdict

router = APIRouter(prefix="/v1/agency", tags=["agency"])
Registrar = Annotated[AgencyCaller, Depends(RequireAgency("registry:write"))]
StackWriter = Annotated[AgencyCaller, Depends(RequireAgency("stacks:write"))]
Reporter = Annotated[AgencyCaller, Depends(RequireAgency("reports:read"))]


def _recipient(ref: EducatorRef) -> Recipient:
    return Recipient(
        email=str(ref.email) if ref.email else None,
        educator_id=ref.educator_id,
        educator_state=ref.state,
    )


def _approval_out(row: Approval) -> ApprovalOut:
    return ApprovalOut(
        id=str(row.id),
        achievement_id=row.achievement_iri,
        purpose=row.purpose,
        decision=row.decision,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        note=row.note,
        decided_by=row.decided_by,
    )


@router.post(
    "/approvals", status_code=201, response_model=ApprovalOut, response_model_by_alias=True
)
async def approve(
    body: ApprovalIn, caller: Registrar, session: Session, state: State
) -> ApprovalOut:
    """Record a vetting decision on an achievement (any issuer's, by IRI; this service's
    also by UUID) for one purpose."""
    achievement = await achievement_iri(
        session, state.settings.public_url, body.achievement_id, ("achievementId",)
    )
    decision = ApprovalDecision(
        achievement,
        body.purpose,
        body.decision,
        body.effective_from,
        body.effective_until,
        body.note,
    )
    return _approval_out(await decide(session, caller.agency, decision, caller.client.client_id))


@router.get("/approvals", response_model=list[ApprovalOut], response_model_by_alias=True)
async def approvals(caller: Reporter, session: Session) -> list[ApprovalOut]:
    return [_approval_out(row) for row in await approvals_of(session, caller.agency)]


async def _educator_out(session: Session, row: Educator) -> EducatorOut:
    memberships = await districts_of(session, row)
    current = open_membership(memberships)
    return EducatorOut(
        id=str(row.id),
        district=current.district if current else None,
        identifiers=len(row.identifiers),
        districts=[
            DistrictPeriodOut(
                district=item.district, valid_from=item.valid_from, valid_until=item.valid_until
            )
            for item in memberships
        ],
    )


@router.post(
    "/educators", status_code=201, response_model=EducatorOut, response_model_by_alias=True
)
async def educator(
    body: EducatorIn, caller: Registrar, session: Session, state: State
) -> EducatorOut:
    """Register an educator; only keyed hashes of the identifiers are stored. A district
    other than her current one is a move from `since` (default now): see "History is
    append-only" in the README."""
    row = await register_educator(
        session, state.vault, caller.agency, _recipient(body), body.district, body.since
    )
    return await _educator_out(session, row)


@router.patch("/educators/{educator_id}", response_model=EducatorOut, response_model_by_alias=True)
async def move(
    educator_id: uuid.UUID, body: EducatorMoveIn, caller: Registrar, session: Session
) -> EducatorOut:
    """Move an educator to another district (null: none) from `since` (default now): her
    earlier memberships, and every report row before `since`, stay as they were."""
    row = await educator_of(session, caller.agency, educator_id)
    await move_educator(session, row, body.district, body.since)
    return await _educator_out(session, row)


@router.post("/stacks", status_code=201)
async def new_stack(
    body: StackIn, caller: StackWriter, session: Session, state: State, response: Response
) -> dict[str, Any]:
    """Define a stack: a rule over achievements, with an optional window and purpose."""
    stack = await create_stack(
        session, state.settings.public_url, caller.agency, _stack_details(body)
    )
    response.headers["Location"] = stack_url(state.settings.public_url, stack.id)
    return stack_document(state.settings.public_url, stack, caller.issuer.name)


@router.put("/stacks/{stack_id}", status_code=201)
async def revise(
    stack_id: uuid.UUID,
    body: StackIn,
    caller: StackWriter,
    session: Session,
    state: State,
    request: Request,
) -> dict[str, Any]:
    """Revise a stack: a new revision with its own id; the old one stays for the record.

    Once committed, the completions stored for it, for the stacks nesting it and for the
    roles naming them (those evaluated in full before) are re-evaluated in the background:
    `evaluationRun` is the URL of that run's status."""
    public_url = state.settings.public_url
    stack = await revise_stack(session, public_url, caller.agency, stack_id, _stack_details(body))
    # The run reads the revision from its own session: it must be committed first.
    await session.commit()
    run = _runs(request).start(
        caller.agency.id, stack.id, reevaluation(state.sessions, public_url, stack.lineage_id)
    )
    document = stack_document(public_url, stack, caller.issuer.name)
    return document | {"evaluationRun": _run_url(public_url, stack.id, run.id)}


def _runs(request: Request) -> EvaluationRuns:
    """The service's background runs (one registry per app)."""
    runs: EvaluationRuns | None = getattr(request.app.state, "evaluation_runs", None)
    if runs is None:
        runs = request.app.state.evaluation_runs = EvaluationRuns()
    return runs


def _run_url(public_url: str, stack_id: uuid.UUID, run_id: uuid.UUID) -> str:
    return f"{public_url}/v1/agency/stacks/{stack_id}/evaluation-runs/{run_id}"


@router.get(
    "/stacks/{stack_id}/evaluation-runs/{run_id}",
    response_model=EvaluationRunOut,
    response_model_by_alias=True,
)
async def evaluation_run(
    stack_id: uuid.UUID, run_id: uuid.UUID, caller: Reporter, request: Request, state: State
) -> EvaluationRunOut:
    """A background re-evaluation after a stack revision: pending, running, done or failed;
    the targets it covers and, once done, how many educators meet each."""
    run = _runs(request).get(caller.agency.id, run_id)
    if run is None or run.stack_id != stack_id:
        raise NotFound(f"no evaluation run {run_id} of stack {stack_id}", field=("runId",))
    public_url = state.settings.public_url
    summary = run.summary
    return EvaluationRunOut(
        id=str(run.id),
        url=_run_url(public_url, stack_id, run.id),
        stack=stack_url(public_url, run.stack_id),
        status=run.status,
        created_at=run.created_at,
        finished_at=run.finished_at,
        targets=[
            RunTargetStatusOut(
                kind=target.kind,
                name=target.name,
                met=summary.met.get(target.id) if summary else None,
            )
            for target in run.targets
        ],
        educators=summary.educators if summary else None,
        evaluated=summary.evaluated if summary else None,
        not_evaluated=[
            {"reason": reason, "educators": count}
            for reason, count in (not_evaluated(summary) if summary else [])
        ],
        error=run.error,
    )


@router.get("/stacks")
async def stacks(caller: Reporter, session: Session, state: State) -> list[dict[str, Any]]:
    return [
        stack_document(state.settings.public_url, row, caller.issuer.name)
        for row in await list_stacks(session, caller.agency)
    ]


def _stack_details(body: StackIn) -> StackDetails:
    return StackDetails(
        code=body.code,
        name=body.name,
        rule=body.rule,
        description=body.description,
        window_days=body.window_days,
        purpose=body.purpose,
        approval_at=body.approval_at,
    )


@router.post("/lattices", status_code=201)
async def new_lattice(
    body: LatticeIn, caller: StackWriter, session: Session, state: State
) -> dict[str, Any]:
    """Define a career lattice: roles reached by rules over stacks, and their order."""
    roles = [
        RoleDetails(role.key, role.name, role.rule, role.description, tuple(role.precedes))
        for role in body.roles
    ]
    lattice = await create_lattice(
        session, state.settings.public_url, caller.agency, body.name, body.description, roles
    )
    return lattice_document(state.settings.public_url, lattice, caller.issuer.name)


def _proof_check(state: State) -> ProofCheck:
    async def check(document: str) -> str | None:
        report = await state.verifier.verify(read_presented(document))
        proof = report.check("proof")
        if proof is None or proof.status.value != "passed":
            return "its proof no longer verifies"
        return None

    return check


@router.post("/evaluations")
async def evaluate_educator(
    body: EvaluationIn, caller: Reporter, session: Session, state: State
) -> dict[str, Any]:
    """Evaluate one educator against a stack, a role, or the whole lattice, as of a date:
    what counted, what was rejected and why, and what is still missing."""
    evaluator, at, educator = await _evaluation_context(body, caller, session, state)
    public_url = state.settings.public_url
    answer: dict[str, Any] = {
        "educator": str(educator.id),
        "at": at.isoformat(),
    }
    if body.stack_id:
        stack = await _target_stack(session, public_url, caller, body.stack_id)
        answer["stack"] = stack_document(public_url, stack, caller.issuer.name)
        answer |= evaluation_json(await evaluator.stack(stack))
        return answer
    lattice = await lattice_named(
        session, public_url, caller.agency, str(body.lattice_id), ("latticeId",), NotFound
    )
    roles = [role for role in lattice.roles if body.role in (None, role.key)]
    if not roles:
        raise InvalidInput(f"lattice has no role {body.role!r}", field=("role",))
    answer["lattice"] = lattice_document(public_url, lattice, caller.issuer.name)["id"]
    answer["roles"] = [
        {"key": role.key, "name": role.name, **evaluation_json(await evaluator.role(role))}
        for role in roles
    ]
    return answer


async def _target_stack(
    session: Session, public_url: str, caller: AgencyCaller, stack_id: str
) -> Stack:
    """The stack (the revision named) an evaluation or award is for. Another agency's is as
    unknown as one that never was: a 404, as for the educator the request names."""
    return await stack_named(session, public_url, caller.agency, stack_id, ("stackId",), NotFound)


@router.post("/submissions", status_code=201)
async def submit(
    body: SubmissionIn, caller: Registrar, session: Session, state: State
) -> dict[str, Any]:
    """Submit other issuers' credentials for an educator; each is verified on entry and
    stored as accepted or rejected with its report (rejected ones never count)."""
    identifiers = _recipient(body.educator)
    educator = await register_educator(session, state.vault, caller.agency, identifiers)
    query = RecipientQuery(
        email=identifiers.email,
        educator_id=identifiers.educator_id,
        state=identifiers.educator_state,
    )
    results = []
    for index, item in enumerate(body.credentials):
        try:
            presented = read_presented(item)
        except InputError as error:
            raise InvalidInput(str(error), field=("credentials", index)) from None
        report = await state.verifier.verify(presented, recipient=query)
        recipient_check = report.check("recipient")
        named = recipient_check is not None and recipient_check.status.value == "passed"
        accepted = (
            named
            and report.is_achievement_credential
            and report.verdict in (Verdict.VERIFIED, Verdict.EXPIRED)
        )
        row = await record_submission(
            session,
            caller.agency,
            educator,
            content=content_of(item),
            credential=report.credential,
            verdict=report.verdict.value,
            report=report.to_json(),
            accepted=accepted,
        )
        results.append(
            {
                "id": str(row.id),
                "accepted": accepted,
                "verdict": report.verdict.value,
                "namesEducator": named,
                "achievementId": row.achievement_iri,
            }
        )
    return {"educator": str(educator.id), "results": results}


async def _evaluation_context(
    body: EvaluationIn, caller: AgencyCaller, session: Session, state: State
) -> tuple[Evaluator, datetime, Educator]:
    """One of the agency's own educators, with what her consent lets it count; anyone else
    is a 404 that names no credential (README, "What an agency sees of an educator")."""
    asked_at = datetime.now(UTC)
    at = body.at or asked_at
    educator = await agency_educator(session, state.vault, caller.agency, _recipient(body.educator))
    proof_check = _proof_check(state) if body.verify_proofs else None
    held = await agency_holdings(
        session,
        state.settings.public_url,
        caller.agency,
        educator,
        at,
        proof_check,
        status_source(state, asked_at),
    )
    approvals = await approvals_of(session, caller.agency)
    evaluator = Evaluator(session, state.settings.public_url, caller.agency, held, at, approvals)
    return evaluator, at, educator


@router.post("/stack-credentials", status_code=201)
async def award_stack(
    body: EvaluationIn,
    caller: Annotated[AgencyCaller, Depends(RequireAgency("credentials:issue", "reports:read"))],
    session: Session,
    state: State,
) -> Response:
    """Award a completed stack as a credential from the agency, listing the constituent
    credentials as evidence. 409 with what is missing when the stack is not complete."""
    if not body.stack_id:
        raise InvalidInput("stack credentials are awarded for a stackId", field=("stackId",))
    evaluator, _, _ = await _evaluation_context(body, caller, session, state)
    stack = await _target_stack(session, state.settings.public_url, caller, body.stack_id)
    result = await evaluator.stack(stack)
    if not result.met:
        raise Conflict(
            f"the stack is not complete; missing: {'; '.join(result.missing)}", field=("stackId",)
        )
    issued = await issue_stack_credential(
        session,
        state.issuing,
        caller.issuer,
        caller.client,
        completed_stack(state.settings.public_url, stack, result.counted),
        _recipient(body.educator),
    )
    return Response(
        issued_json(state.settings.public_url, issued),
        media_type="application/json",
        status_code=201,
    )


@router.post("/clr", status_code=201)
async def export_clr(
    body: EvaluationIn,
    caller: Annotated[AgencyCaller, Depends(RequireAgency("credentials:issue", "reports:read"))],
    session: Session,
    state: State,
) -> Response:
    """The educator's progress as a signed CLR 2.0 ClrCredential: every stack of the agency
    she has completed, with the constituent credentials and their associations."""
    evaluator, _, _ = await _evaluation_context(body, caller, session, state)
    public_url = state.settings.public_url
    only = (
        (await _target_stack(session, public_url, caller, body.stack_id)).lineage_id
        if body.stack_id
        else None
    )
    completed = []
    for stack in await list_stacks(session, caller.agency):
        if only is not None and stack.lineage_id != only:
            continue
        result = await evaluator.stack(stack)
        if result.met:
            completed.append(completed_stack(public_url, stack, result.counted))
    issued = await issue_clr(
        session, state.issuing, caller.issuer, caller.client, _recipient(body.educator), completed
    )
    return Response(issued_json(public_url, issued), media_type="application/json", status_code=201)
