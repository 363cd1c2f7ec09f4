"""When a stack or role was completed, and when it will lapse: pure functions over holdings.

The rule engine (`stack_rules.evaluate`) answers "met at this date?". A state also asks
"since when?" (the renewal date) and "until when?" (the reminder date). Both come from
re-running the engine on what the educator holds now:

- completed at: the earliest moment the credentials that count today had all started to
  count (earned, valid, and approved for the rule's purpose);
- expires at: the first moment, with nothing new earned, at which the rule stops being met
  because credentials expire, leave the window or lose their approval. With more credentials
  than the rule needs, one of them expiring does not lapse the stack.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from badges.policy.rule_book import (
    ApprovalBook,
    Holding,
    RuleBook,
)
from badges.policy.stack_rules import StackPolicy

TargetKind = Literal["stack", "role"]
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Target:
    """A stack (by lineage) or a lattice role, with the rule it is evaluated by."""

    kind: TargetKind
    id: uuid.UUID  # the stack's lineage id, or the role's id
    rule_id: uuid.UUID  # the stack revision applied, or the role's id
    name: str
    policy: StackPolicy


@dataclass(frozen=True, slots=True)
class Outcome:
    met: bool
    completed_at: datetime | None = None
    expires_at: datetime | None = None


def outcome(
    book: RuleBook,
    policy: StackPolicy,
    holdings: Sequence[Holding],
    at: datetime,
    approvals: ApprovalBook,
    memo: dict[str, bool] | None = None,
) -> Outcome:
    """Met at `at`? If so, since when and until when (see the module docstring).

    `memo`: nested stacks already decided at `at` on the same holdings (other targets)."""
    if not book.met(policy, holdings, at, approvals, memo):
        return Outcome(met=False)
    return Outcome(
        met=True,
        completed_at=_completed_at(book, policy, holdings, at, approvals),
        expires_at=_expires_at(book, policy, holdings, at, approvals),
    )


def _met(
    book: RuleBook,
    policy: StackPolicy,
    holdings: Sequence[Holding],
    at: datetime,
    approvals: ApprovalBook,
) -> bool:
    return book.met(policy, holdings, at, approvals)


def _counts_from(
    holding: Holding, policy: StackPolicy, at: datetime, approvals: ApprovalBook
) -> datetime | None:
    start = max(holding.earned_at, holding.valid_from or holding.earned_at)
    approved = approvals.counted_since(policy, holding.achievement_id, holding.earned_at, at)
    return None if approved is None else max(start, approved)


def _completed_at(
    book: RuleBook,
    policy: StackPolicy,
    holdings: Sequence[Holding],
    at: datetime,
    approvals: ApprovalBook,
) -> datetime:
    starts = [(_counts_from(item, policy, at, approvals), item) for item in holdings]
    known = sorted(
        ((start, item) for start, item in starts if start is not None and start <= at),
        key=lambda pair: pair[0],
    )
    # More credentials never un-meet a rule, so the first sufficient prefix can be bisected.
    index = _first(
        len(known),
        lambda n: _met(book, policy, [item for _, item in known[: n + 1]], at, approvals),
    )
    return at if index is None else known[index][0]


def _first(count: int, holds: Callable[[int], bool]) -> int | None:
    """The least n < count for which `holds(n)`, given that it keeps holding after it."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle + 1
    return low if low < count else None


def _lapse_candidates(
    book: RuleBook, holdings: Sequence[Holding], at: datetime, approvals: ApprovalBook
) -> list[datetime]:
    every = [*book.policies, *book.nested.values()]
    windows = {policy.window_days for policy in every if policy.window_days}
    purposes = {policy.purpose for policy in every if policy.purpose}
    found: set[datetime] = set()
    for item in holdings:
        if item.problem is not None:
            continue
        if item.valid_until is not None:
            found.add(item.valid_until)
        found.update(item.earned_at + timedelta(days=days) for days in windows)
        for purpose in purposes:
            decision = approvals.deciding(item.achievement_id, purpose, at)
            if decision is not None and decision.effective_until is not None:
                found.add(decision.effective_until)
    return sorted(moment for moment in found if moment > at)


def _expires_at(
    book: RuleBook,
    policy: StackPolicy,
    holdings: Sequence[Holding],
    at: datetime,
    approvals: ApprovalBook,
) -> datetime | None:
    moments = _lapse_candidates(book, holdings, at, approvals)
    # Credentials only drop out as time passes, so the first lapse can be bisected. Each
    # moment is checked just after the instant: a window includes its last day.
    index = _first(
        len(moments), lambda n: not _met(book, policy, holdings, moments[n] + _TICK, approvals)
    )
    return None if index is None else moments[index]
