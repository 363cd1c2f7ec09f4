"""Evaluating an educator against an agency's stacks, roles and lattice, as of a date.

Gathers every credential of the educator the service knows (issued here and matched by the
keyed lookup hash, or submitted by the agency and verified on entry), works out for each
whether it can count on that date (status from the event history, validity window, proof
re-checked when a checker is given), then applies the pure rules of `stack_rules`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.achievements import achievement_url
from badges.agencies import approved_at
from badges.credential_document import xsd_datetime
from badges.stack_rules import (
    Evaluation,
    HeldCredential,
    StackPolicy,
    evaluate,
    parse_rule,
    stacks_of,
)
from badges.stacks import policy_of, resolve_stack_ref
from badges.status_changes import Event, Standing, Validity, standing_of, validity_at
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

# Re-checks a stored credential's proof: None when it holds, otherwise why not.
ProofCheck = Callable[[str], Awaitable[str | None]]


async def held_credentials(
    session: AsyncSession,
    public_url: str,
    lookup_keys: Sequence[str],
    educator: Educator | None,
    at: datetime,
    check_proof: ProofCheck | None = None,
) -> list[HeldCredential]:
    """Everything the educator holds that the service knows of: credentials issued here
    and those she pushed into her account (both by the lookup keys of her identifiers),
    and those an agency submitted for her (if registered)."""
    keys = (
        {*lookup_keys, *(item.lookup_key for item in educator.identifiers)}
        if educator
        else {*lookup_keys}
    )
    own = list(
        await session.scalars(
            select(Credential)
            .join(CredentialRecipient, CredentialRecipient.credential_id == Credential.id)
            .where(CredentialRecipient.lookup_key.in_(list(keys)))
            .distinct()
        )
    )
    history = await _events(session, [row.id for row in own], at)
    held = [await _own(public_url, row, history.get(row.id, []), at, check_proof) for row in own]
    backpack = await session.scalars(
        select(BackpackCredential).where(
            BackpackCredential.lookup_key.in_(list(keys)),
            BackpackCredential.achievement_iri.is_not(None),
        )
    )
    held += [_from_backpack(row, at) for row in backpack]
    if educator is not None:
        submitted = await session.scalars(
            select(SubmittedCredential).where(SubmittedCredential.educator_id == educator.id)
        )
        held += [_submitted(row, at) for row in submitted if row.achievement_iri]
    return held


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
    events: Sequence[Event],
    at: datetime,
    check_proof: ProofCheck | None,
) -> HeldCredential:
    problem = _standing_problem(events) or _validity_problem(row, at)
    if problem is None and check_proof is not None:
        problem = await check_proof(row.document)
    return HeldCredential(
        credential_id=f"{public_url}/credentials/{row.id}",
        achievement_id=(
            achievement_url(public_url, row.achievement_id)
            if row.achievement_id
            else _achievement_in(row.document)
        ),
        earned_at=row.awarded_date or row.valid_from,
        problem=problem,
    )


def _standing_problem(events: Sequence[Event]) -> str | None:
    standing = standing_of(events)
    if standing is Standing.ACTIVE:
        return None
    changed = next(e for e in reversed(events) if e.event_type == standing.value)
    return f"{standing.value} on {xsd_datetime(changed.occurred_at)}"


def _validity_problem(row: Credential, at: datetime) -> str | None:
    validity = validity_at(row, at)
    if validity is Validity.EXPIRED and row.valid_until is not None:
        return f"expired on {xsd_datetime(row.valid_until)}"
    if validity in (Validity.NOT_YET_VALID, Validity.NOT_ISSUED):
        return "not yet valid on that date"
    return None


def _achievement_in(document: str) -> str:
    subject = json.loads(document).get("credentialSubject", {})
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    return str(achievement.get("id", ""))


def _from_backpack(row: BackpackCredential, at: datetime) -> HeldCredential:
    """A credential she pushed into her account (OB 3.0 API), verified when it arrived."""
    problem = None
    if row.valid_until is not None and at >= row.valid_until:
        problem = f"expired on {xsd_datetime(row.valid_until)}"
    elif at < row.valid_from:
        problem = "not yet valid on that date"
    return HeldCredential(
        credential_id=row.credential_iri,
        achievement_id=row.achievement_iri or "",
        earned_at=row.earned_at or row.valid_from,
        problem=problem,
    )


def _submitted(row: SubmittedCredential, at: datetime) -> HeldCredential:
    problem = None if row.accepted else f"failed verification on entry ({row.verdict})"
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

    def _approved(self, achievement: str, purpose: str, at: datetime) -> bool:
        return approved_at(self.approvals, achievement, purpose, at)

    async def stack(self, stack: Stack) -> Evaluation:
        if stack.lineage_id in self._stacks:
            return self._stacks[stack.lineage_id]
        policy = policy_of(stack)
        nested = await self._nested(policy.rule)
        result = evaluate(
            policy, self.held, self.at, approved=self._approved, nested=nested.__getitem__
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
        rule = parse_rule(role.rule)
        nested = await self._nested(rule)
        return evaluate(
            StackPolicy(rule),
            self.held,
            self.at,
            approved=self._approved,
            nested=nested.__getitem__,
        )

    async def lattice(self, lattice: Lattice) -> list[tuple[LatticeRole, Evaluation]]:
        return [(role, await self.role(role)) for role in lattice.roles]


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "met": evaluation.met,
        "counted": [
            {
                "credentialId": item.credential_id,
                "achievementId": item.achievement_id,
                "earnedAt": xsd_datetime(item.earned_at),
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
