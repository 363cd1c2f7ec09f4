"""Evaluating an educator against an agency's stacks, roles and lattice, as of a date.

Gathers the educator's credentials that the one asking may see, works out for each whether
it can count on that date (status: from the event history for credentials issued here, from
their issuer's status list, re-read and logged by `foreign_status`, for the others; the
validity window, counted from the awarded date; the proof, re-checked when a checker is
given), then applies the pure rules of `stack_rules`. A wallet copy of a credential issued
here is never counted: its original is (`badges.status.copies`).

Who may see what: a teacher sees her own (`teacher_holdings`: `badges.wallets.teachers.badge_scope`
and what she pushed into her account); an agency only what its educator's consent covers
(`agency_holdings`, see there and the README, "What an agency sees of an educator").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuing.achievements import achievement_url
from badges.policy.agencies import approved_at
from badges.policy.criteria import (
    criterion_names,
    recorded_holdings,
)
from badges.policy.foreign_status import (
    Foreign,
    Kind,
    StatusSource,
    held_ref,
    observe,
    problems_at,
    submitted_ref,
)
from badges.policy.rule_book import approved_pools
from badges.policy.stack_rules import (
    CRITERION_PREFIX,
    ROLE_HOLD_PREFIX,
    Evaluation,
    HeldCredential,
    StackPolicy,
    achievements_of,
    concrete_policy,
    evaluate,
    parse_rule,
    stacks_of,
    with_hold_harmless,
)
from badges.policy.stacks import (
    achievements_named_by_stacks,
    policy_of,
    resolve_stack_ref,
)
from badges.status.copies import not_a_copy
from badges.status.status_changes import (
    Event,
    Standing,
    standing_of,
)
from formats.dates import xsd_datetime
from storage.models import (
    Agency,
    Approval,
    Credential,
    CredentialEvent,
    CredentialRecipient,
    Educator,
    Lattice,
    LatticeRole,
    Stack,
    SubmittedCredential,
)
from storage.models.ob_api import HeldCredential as BackpackCredential


class TeacherScope(Protocol):
    """Which credentials issued here are the teacher's (`badges.wallets.teachers.BadgeScope`, the
    one rule every view of her badges uses; a teacher's account is the wallets' concern)."""

    @property
    def teacher_id(self) -> uuid.UUID: ...

    def owns(self) -> ColumnElement[bool]: ...


# Re-checks a stored credential's proof: None when it holds, otherwise why not.
ProofCheck = Callable[[str], Awaitable[str | None]]


async def teacher_holdings(
    session: AsyncSession,
    public_url: str,
    scope: TeacherScope,
    at: datetime,
    status: StatusSource | None = None,
) -> list[HeldCredential]:
    """What a teacher holds, as she sees it: the credentials issued here that are hers, and
    those she pushed into her account that name one of her verified identifiers."""
    held = await _issued(session, public_url, scope.owns() & not_a_copy(), at)
    backpack = list(
        await session.scalars(
            select(BackpackCredential).where(
                BackpackCredential.teacher_id == scope.teacher_id,
                BackpackCredential.lookup_key.is_not(None),
                BackpackCredential.achievement_iri.is_not(None),
            )
        )
    )
    problems = await _foreign_problems(session, status, [held_ref(row) for row in backpack], at)
    return held + [_from_backpack(row, at, problems.get(("held", row.id))) for row in backpack]


async def agency_holdings(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    educator: Educator,
    at: datetime,
    check_proof: ProofCheck | None = None,
    status: StatusSource | None = None,
) -> list[HeldCredential]:
    """What an agency may count for one of its own educators (its consent model):

    (a) every credential submitted to this agency for her (`/v1/agency/submissions`);
    (b) credentials naming an identifier the agency registered for her (issued here, or
        pushed by her into her account), of an achievement this agency's stacks, lattice
        roles or approval decisions name. Nothing else: not what names identifiers it did
        not register, not another agency's submissions, not achievements it has no rule on.

    With `status`, the status of what was issued elsewhere is read again first (cached).
    """
    keys = sorted({item.lookup_key for item in educator.identifiers})
    relevant = await relevant_achievements(session, agency)
    named = select(CredentialRecipient.credential_id).where(
        CredentialRecipient.lookup_key.in_(keys)
    )
    held = await _issued(
        session,
        public_url,
        Credential.id.in_(named) & not_a_copy(),
        at,
        check_proof,
        relevant.__contains__,
    )
    backpack = list(
        await session.scalars(
            select(BackpackCredential).where(
                BackpackCredential.lookup_key.in_(keys),
                BackpackCredential.achievement_iri.in_(sorted(relevant)),
            )
        )
    )
    submitted = [
        row
        for row in await session.scalars(
            select(SubmittedCredential).where(
                SubmittedCredential.agency_id == agency.id,
                SubmittedCredential.educator_id == educator.id,
            )
        )
        if row.achievement_iri
    ]
    foreign = [held_ref(row) for row in backpack]
    foreign += [submitted_ref(row) for row in submitted if row.accepted]
    problems = await _foreign_problems(session, status, foreign, at)
    held += [_from_backpack(row, at, problems.get(("held", row.id))) for row in backpack]
    held += [_submitted(row, at, problems.get(("submitted", row.id))) for row in submitted]
    recorded = await recorded_holdings(session, agency, None, [educator.id])
    return held + [item.at(at) for item in recorded.get(educator.id, [])]


async def _foreign_problems(
    session: AsyncSession, status: StatusSource | None, items: Sequence[Foreign], at: datetime
) -> dict[tuple[Kind, uuid.UUID], str]:
    """Their status re-read (with a source) and logged, then as seen on `at`."""
    await observe(session, status, items)
    return await problems_at(session, [item.key for item in items], at)


async def relevant_achievements(session: AsyncSession, agency: Agency) -> set[str]:
    """The achievements an agency has a say on: named by any revision of its stacks, by its
    lattice roles, or by one of its approval decisions."""
    found = await achievements_named_by_stacks(session, agency)
    roles = await session.scalars(
        select(LatticeRole.rule)
        .join(Lattice, Lattice.id == LatticeRole.lattice_id)
        .where(Lattice.agency_id == agency.id)
    )
    found |= {iri for rule in roles for iri in achievements_of(parse_rule(rule))}
    approvals = select(Approval.achievement_iri).where(Approval.agency_id == agency.id)
    return found | set(await session.scalars(approvals))


async def _issued(
    session: AsyncSession,
    public_url: str,
    condition: ColumnElement[bool],
    at: datetime,
    check_proof: ProofCheck | None = None,
    wanted: Callable[[str], bool] = lambda _: True,
) -> list[HeldCredential]:
    """The credentials issued here that `condition` picks (of the `wanted` achievements)."""
    rows = [
        (row, achievement)
        for row in await session.scalars(select(Credential).where(condition))
        if wanted(achievement := _achievement_of(public_url, row))
    ]
    history = await _events(session, [row.id for row, _ in rows], at)
    return [
        await _own(public_url, row, achievement, history.get(row.id, []), at, check_proof)
        for row, achievement in rows
    ]


def _achievement_of(public_url: str, row: Credential) -> str:
    if row.achievement_id:
        return achievement_url(public_url, row.achievement_id)
    return _achievement_in(row.document)


async def _events(
    session: AsyncSession, credential_ids: Sequence[uuid.UUID], at: datetime
) -> dict[uuid.UUID, list[Event]]:
    history: dict[uuid.UUID, list[Event]] = {}
    if not credential_ids:
        return history
    rows = await session.scalars(
        select(CredentialEvent)
        .where(
            CredentialEvent.credential_id.in_(list(credential_ids)),
            CredentialEvent.occurred_at <= at,
        )
        .order_by(CredentialEvent.id)
    )
    for row in rows:
        history.setdefault(row.credential_id, []).append(
            Event(row.event_type, row.occurred_at, row.actor, row.reason)
        )
    return history


async def _own(
    public_url: str,
    row: Credential,
    achievement: str,
    events: Sequence[Event],
    at: datetime,
    check_proof: ProofCheck | None,
) -> HeldCredential:
    problem = _standing_problem(events) or _validity_problem(row, at)
    if problem is None and check_proof is not None:
        problem = await check_proof(row.document)
    return HeldCredential(
        credential_id=f"{public_url}/credentials/{row.id}",
        achievement_id=achievement,
        earned_at=row.awarded_date or row.valid_from,
        problem=problem,
    )


def _standing_problem(events: Sequence[Event]) -> str | None:
    standing = standing_of(events)
    if standing is Standing.ACTIVE:
        return None
    changed = next(e for e in reversed(events) if e.event_type == standing.value)
    return f"{standing.value} on {xsd_datetime(changed.occurred_at)}"


def counts_from(awarded: datetime | None, valid_from: datetime) -> datetime:
    """When a credential starts to count "as of" a date: when it was earned.

    OB 3.0 `awardedDate` is when the achievement was earned, `validFrom` when the credential
    became valid. A backfilled award (issued today for work done last month, `validFrom` =
    issuance) counts from its awarded date; without one, from `validFrom`."""
    return min(awarded, valid_from) if awarded is not None else valid_from


def _validity_problem(row: Credential, at: datetime) -> str | None:
    if row.valid_until is not None and at >= row.valid_until:
        return f"expired on {xsd_datetime(row.valid_until)}"
    if at < counts_from(row.awarded_date, row.valid_from):
        return "not yet valid on that date"
    return None


def _achievement_in(document: str) -> str:
    """The achievement id of an OpenBadgeCredential; "" for anything else (a CLR's subject
    has no single achievement)."""
    subject = json.loads(document).get("credentialSubject", {})
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    return str(achievement.get("id", "")) if isinstance(achievement, dict) else ""


def _from_backpack(
    row: BackpackCredential, at: datetime, problem: str | None = None
) -> HeldCredential:
    """A credential she pushed into her account (OB 3.0 API), verified when it arrived;
    `problem`: its issuer's status as seen on `at`."""
    if problem is None and row.valid_until is not None and at >= row.valid_until:
        problem = f"expired on {xsd_datetime(row.valid_until)}"
    if problem is None and at < counts_from(row.earned_at, row.valid_from):
        problem = "not yet valid on that date"
    return HeldCredential(
        credential_id=row.credential_iri,
        achievement_id=row.achievement_iri or "",
        earned_at=row.earned_at or row.valid_from,
        problem=problem,
    )


def _submitted(
    row: SubmittedCredential, at: datetime, status_problem: str | None = None
) -> HeldCredential:
    problem = None if row.accepted else f"failed verification on entry ({row.verdict})"
    problem = problem or status_problem
    if problem is None and row.valid_until is not None and at >= row.valid_until:
        problem = f"expired on {xsd_datetime(row.valid_until)}"
    return HeldCredential(
        credential_id=row.credential_iri or f"urn:uuid:{row.id}",
        achievement_id=row.achievement_iri or "",
        earned_at=row.earned_at or row.submitted_at,
        problem=problem,
    )


@dataclass
class Evaluator:
    """Evaluates one educator's held credentials against an agency's rules at one date."""

    session: AsyncSession
    public_url: str
    agency: Agency
    held: Sequence[HeldCredential]
    at: datetime
    approvals: Sequence[Approval] = ()
    _stacks: dict[uuid.UUID, Evaluation] = field(default_factory=dict)

    # How leaves that are not achievements (criteria) are named; loaded on first use.
    names: Mapping[str, str] | None = None

    async def _leaf_names(self) -> Mapping[str, str]:
        if self.names is None:
            self.names = await criterion_names(self.session, self.agency)
        return self.names

    def _approved(self, achievement: str, purpose: str, at: datetime) -> bool:
        return approved_at(self.approvals, achievement, purpose, at)

    @cached_property
    def _pools(self) -> dict[str, list[str]]:
        return approved_pools(self.approvals)

    async def stack(self, stack: Stack) -> Evaluation:
        if stack.lineage_id in self._stacks:
            return self._stacks[stack.lineage_id]
        policy = concrete_policy(policy_of(stack), self._pools)
        nested = await self._nested(policy.rule)
        result = evaluate(
            policy,
            self.held,
            self.at,
            approved=self._approved,
            nested=nested.__getitem__,
            names=await self._leaf_names(),
        )
        self._stacks[stack.lineage_id] = result
        return result

    async def _nested(self, rule: Any) -> dict[str, Evaluation]:
        found: dict[str, Evaluation] = {}
        for ref in stacks_of(rule):
            stack = await resolve_stack_ref(self.session, self.public_url, self.agency, ref)
            found[ref] = await self.stack(stack)
        return found

    async def role(self, role: LatticeRole) -> Evaluation:
        held_harmless = {
            uuid.UUID(item.achievement_id.removeprefix(ROLE_HOLD_PREFIX))
            for item in self.held
            if item.achievement_id.startswith(ROLE_HOLD_PREFIX)
        }
        policy = role_policy(role, self._pools, held_harmless)
        nested = await self._nested(policy.rule)
        return evaluate(
            policy,
            self.held,
            self.at,
            approved=self._approved,
            nested=nested.__getitem__,
            names=await self._leaf_names(),
        )

    async def lattice(self, lattice: Lattice) -> list[tuple[LatticeRole, Evaluation]]:
        return [(role, await self.role(role)) for role in lattice.roles]


def role_policy(
    role: LatticeRole, pools: Mapping[str, Sequence[str]], held_harmless: Collection[uuid.UUID]
) -> StackPolicy:
    """A role's rule as weighed: concrete, and met also by a hold-harmless record when the
    educator has one for it (`badges.policy.criteria`)."""
    policy = concrete_policy(StackPolicy(parse_rule(role.rule)), pools)
    if role.id in held_harmless:
        policy = with_hold_harmless(policy, str(role.id))
    return policy


def _kind(leaf: str) -> str:
    """What counted: a credential, a criterion the agency recorded, or hold harmless."""
    if leaf.startswith(ROLE_HOLD_PREFIX):
        return "holdHarmless"
    return "criterion" if leaf.startswith(CRITERION_PREFIX) else "credential"


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "met": evaluation.met,
        "counted": [
            {
                "credentialId": item.credential_id,
                "achievementId": item.achievement_id,
                "earnedAt": xsd_datetime(item.earned_at),
                "kind": _kind(item.achievement_id),
            }
            for item in evaluation.counted
        ],
        "rejected": [
            {
                "credentialId": item.credential_id,
                "achievementId": item.achievement_id,
                "reason": item.reason,
            }
            for item in evaluation.rejected
        ],
        "missing": evaluation.missing,
    }
