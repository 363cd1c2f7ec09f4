"""One educator's progress across all of an agency's stacks and lattice roles, explained.

Her credentials are gathered as `badges.policy.evaluation` does it for an agency
(`agency_holdings`: only what her consent to this agency covers, status from the event
history or, for credentials from elsewhere, as last read from their issuer, at the date;
proofs re-checked when asked) and the same rule engine explains each
stack and role: what counted, what was rejected and why, what is missing. The agency's
stacks are loaded once (nested stacks resolve from memory, not with two queries per
reference as `Evaluator` does), and each nested stack is evaluated once for all the rules
that name it. Beside each result, the materialised completion (completed on, lapses on)
when the agency has run it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.policy.agencies import approvals_of, approved_pools_of
from badges.policy.criteria import criterion_names
from badges.policy.evaluation import (
    ProofCheck,
    agency_holdings,
    role_policy,
)
from badges.policy.foreign_status import StatusSource
from badges.policy.rule_book import (
    ApprovalBook,
    RuleBook,
)
from badges.policy.stack_rules import (
    ROLE_HOLD_PREFIX,
    Evaluation,
    StackPolicy,
    concrete_policy,
    pools_of,
)
from badges.policy.stacks import (
    policy_of,
    stack_url,
)
from storage.models import Agency, Completion, Educator, Lattice, LatticeRole, Stack


@dataclass(frozen=True)
class StackProgress:
    stack: Stack
    evaluation: Evaluation
    completion: Completion | None


@dataclass(frozen=True)
class RoleProgress:
    lattice: Lattice
    role: LatticeRole
    evaluation: Evaluation
    completion: Completion | None


@dataclass(frozen=True)
class Progress:
    educator: Educator
    at: datetime
    stacks: list[StackProgress]
    roles: list[RoleProgress]


async def educator_progress(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    educator: Educator,
    at: datetime,
    check_proof: ProofCheck | None = None,
    status: StatusSource | None = None,
) -> Progress:
    """One of the agency's own educators (`badges.policy.agencies.agency_educator`). The one
    evaluation of her progress with the agency: the agency's `/progress` and her own
    `/teacher/progress` both show this (`badges.wallets.teacher_progress`)."""
    held = await agency_holdings(session, public_url, agency, educator, at, check_proof, status)
    # Only the decisions on what she holds: the rules never ask about anything else (a
    # pool stands for every MC approved for its purpose: those ids alone, for its purposes).
    approvals = ApprovalBook(
        await approvals_of(session, agency, sorted({item.achievement_id for item in held}))
    )
    current, book = await _stacks(session, public_url, agency)
    book.names = await criterion_names(session, agency)
    held_harmless = {
        uuid.UUID(item.achievement_id.removeprefix(ROLE_HOLD_PREFIX))
        for item in held
        if item.achievement_id.startswith(ROLE_HOLD_PREFIX)
    }
    completions = await _completions(session, educator)
    memo: dict[str, Evaluation] = {}

    def explain(policy: StackPolicy) -> Evaluation:
        return book.evaluate(policy, held, at, approvals, memo)

    stacks = [
        StackProgress(
            stack,
            explain(book.nested[stack_url(public_url, stack.id)]),
            completions.get(stack.lineage_id),
        )
        for stack in current
    ]
    lattices = await session.scalars(
        select(Lattice).where(Lattice.agency_id == agency.id).order_by(Lattice.created_at)
    )
    roles = [
        RoleProgress(
            lattice,
            role,
            explain(role_policy(role, {}, held_harmless)),  # roles hold no pools
            completions.get(role.id),
        )
        for lattice in lattices
        for role in lattice.roles
    ]
    return Progress(educator, at, stacks, roles)


async def _stacks(
    session: AsyncSession, public_url: str, agency: Agency
) -> tuple[list[Stack], RuleBook]:
    """The current stacks, and a book resolving any revision's IRI to its current rule."""
    rows = list(
        await session.scalars(
            select(Stack).where(Stack.agency_id == agency.id).order_by(Stack.created_at)
        )
    )
    current = {row.lineage_id: row for row in rows if row.is_current}
    policies = {
        stack_url(public_url, row.id): policy_of(current.get(row.lineage_id, row)) for row in rows
    }
    purposes = {pool.purpose for policy in policies.values() for pool in pools_of(policy.rule)}
    pools = await approved_pools_of(session, agency, purposes)
    nested = {ref: concrete_policy(policy, pools) for ref, policy in policies.items()}
    return list(current.values()), RuleBook([], nested)


async def _completions(session: AsyncSession, educator: Educator) -> dict[uuid.UUID, Completion]:
    # Her open completion periods (closed ones are history: `stack_completions`).
    rows = await session.scalars(
        select(Completion).where(
            Completion.educator_id == educator.id, Completion.ended_at.is_(None)
        )
    )
    return {row.target_id: row for row in rows}
