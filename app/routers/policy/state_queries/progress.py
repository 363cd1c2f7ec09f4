"""One educator's progress across the agency's stacks and lattice roles, explained."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from fastapi import APIRouter

from app.deps import Session, State
from app.foreign_status import status_source
from app.routers.policy.state_queries.common import (
    Reporter,
    now,
    refresh,
)
from badges.issuing.recipients import Recipient
from badges.policy.agencies import agency_educator
from badges.policy.educator_progress import educator_progress
from badges.policy.evaluation import ProofCheck
from badges.policy.stack_rules import Evaluation
from badges.policy.stacks import (
    lattice_url,
    role_url,
    stack_url,
)
from schemas.api.state_queries import (
    CountedOut,
    ProgressIn,
    ProgressOut,
    RejectedOut,
    RoleProgressOut,
    StackProgressOut,
)
from storage.models import Completion
from verification.inputs import read_presented

router = APIRouter()


def _proof_check(state: State) -> ProofCheck:
    async def check(document: str) -> str | None:
        report = await state.verifier.verify(read_presented(document))
        proof = report.check("proof")
        if proof is None or proof.status.value != "passed":
            return "its proof no longer verifies"
        return None

    return check


class _Explained(TypedDict):
    met: bool
    counted: list[CountedOut]
    rejected: list[RejectedOut]
    missing: list[str]
    completed_at: datetime | None
    expires_at: datetime | None
    evaluated_at: datetime | None


def _explained(evaluation: Evaluation, completion: Completion | None) -> _Explained:
    return {
        "met": evaluation.met,
        "counted": [
            CountedOut(
                credential_id=item.credential_id,
                achievement_id=item.achievement_id,
                earned_at=item.earned_at,
            )
            for item in evaluation.counted
        ],
        "rejected": [
            RejectedOut(
                credential_id=item.credential_id,
                achievement_id=item.achievement_id,
                reason=item.reason,
            )
            for item in evaluation.rejected
        ],
        "missing": evaluation.missing,
        "completed_at": completion.completed_at if completion else None,
        "expires_at": completion.expires_at if completion else None,
        "evaluated_at": completion.evaluated_at if completion else None,
    }


@router.post("/progress", response_model_by_alias=True)
async def progress(
    body: ProgressIn, caller: Reporter, session: Session, state: State
) -> ProgressOut:
    """One educator (by state educator ID and/or e-mail) against every stack and lattice
    role of the agency, as of a date: met or not, what counted, what was rejected and why,
    what is missing; with the completion and lapse dates of the last completions run.
    Only the agency's own educators: anyone else is a 404 (README, "What an agency sees")."""
    public_url = state.settings.public_url
    ref = body.educator
    recipient = Recipient(
        email=str(ref.email) if ref.email else None,
        educator_id=ref.educator_id,
        educator_state=ref.state,
    )
    educator = await agency_educator(session, state.vault, caller.agency, recipient)
    await refresh(state, caller.agency)
    check = _proof_check(state) if body.verify_proofs else None
    asked_at = now()
    result = await educator_progress(
        session,
        public_url,
        caller.agency,
        educator,
        body.at or asked_at,
        check,
        status_source(state, asked_at),
    )
    return ProgressOut(
        educator=str(result.educator.id),
        at=result.at,
        stacks=[
            StackProgressOut(
                id=stack_url(public_url, item.stack.id),
                code=item.stack.code,
                name=item.stack.name,
                revision=item.stack.revision,
                **_explained(item.evaluation, item.completion),
            )
            for item in result.stacks
        ],
        roles=[
            RoleProgressOut(
                id=role_url(public_url, item.lattice.id, item.role.key),
                lattice=lattice_url(public_url, item.lattice.id),
                key=item.role.key,
                name=item.role.name,
                **_explained(item.evaluation, item.completion),
            )
            for item in result.roles
        ],
    )
