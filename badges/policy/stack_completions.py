"""Materialised completions: every educator of an agency evaluated against its stacks and
lattice roles in bulk, so holders, reports and reminders read rows instead of rules.

A run loads what the agency's educators hold with a few set-based queries (`holdings`; only
credentials of achievements the rules name: an educator holding none of them cannot meet
the rule and gets no row), evaluates each educator in Python with the pure rule engine
(`completion_rules`), and upserts the rows in batches. It uses the stored data (status
history, validity, approvals), not a fresh proof check of every credential: proofs were
checked when the credentials were issued or submitted, and the per-educator evaluation
(`badges.policy.evaluation`) re-checks them on demand.

Incremental upkeep: changes mark educators stale (`completion_marks`); `refresh_stale`
re-evaluates them against every target the agency has run, before a query reads completions.

History is append-only (`completion_history`): a run compares each educator's outcome with
her open completion period; an unchanged one is left alone (re-running changes nothing), a
changed one is closed at the time of the event that changed it (a revocation, a suspension,
a rule revision, a lapse) and the next one opened. No row is deleted or moved back.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from badges.policy.agencies import approvals_of, approved_pools_of
from badges.policy.completion_history import (
    Change,
    Timeline,
    close_periods,
    last_ends,
    open_new_periods,
    open_periods,
    status_events,
)
from badges.policy.completion_rules import (
    Outcome,
    Target,
    outcome,
)
from badges.policy.criteria import roles_with_holds
from badges.policy.holdings import holdings
from badges.policy.rule_book import (
    ApprovalBook,
    RuleBook,
    nested_refs,
)
from badges.policy.stack_rules import (
    StackPolicy,
    concrete_policy,
    parse_rule,
    pools_of,
    stacks_of,
    with_hold_harmless,
)
from badges.policy.stacks import (
    policy_of,
    resolve_stack_ref,
)
from storage.bulk import chunks, upsert
from storage.models import (
    Agency,
    CompletionRun,
    Educator,
    Lattice,
    LatticeRole,
    Stack,
    StaleEducator,
)

RUN_KEYS = ("agency_id", "target_kind", "target_id")
# Most stale educators one read refreshes; the rest wait for the next read (or a full run).
STALE_BATCH = 5000


@dataclass(frozen=True)
class RunSummary:
    at: datetime
    targets: list[Target]
    educators: int  # all the agency's educators
    evaluated: int  # those holding a credential some rule names
    met: dict[uuid.UUID, int]
    seconds: float
    opened: int = 0  # completion periods begun (or continued under new terms)
    closed: int = 0  # completion periods ended, at the time of what ended them


def stack_target(stack: Stack) -> Target:
    return Target("stack", stack.lineage_id, stack.id, stack.name, policy_of(stack))


def role_target(role: LatticeRole) -> Target:
    return Target("role", role.id, role.id, role.name, StackPolicy(parse_rule(role.rule)))


async def current_stack(session: AsyncSession, stack: Stack) -> Stack:
    if stack.is_current:
        return stack
    current = await session.scalar(
        select(Stack).where(Stack.lineage_id == stack.lineage_id, Stack.is_current.is_(True))
    )
    return current or stack


async def rule_book(
    session: AsyncSession, public_url: str, agency: Agency, targets: Sequence[Target]
) -> RuleBook:
    """The targets and, by IRI, the current revision of every stack their rules nest, made
    concrete: pools of approved MCs as the agency's approvals stand, criteria as leaves, and
    hold harmless for the roles someone holds that way."""
    nested: dict[str, StackPolicy] = {}
    frontier = list(nested_refs(target.policy for target in targets))
    while frontier:
        ref = frontier.pop()
        if ref not in nested:
            nested[ref] = policy_of(await resolve_stack_ref(session, public_url, agency, ref))
            frontier.extend(stacks_of(nested[ref].rule))
    every = [*(target.policy for target in targets), *nested.values()]
    purposes = {pool.purpose for policy in every for pool in pools_of(policy.rule)}
    pools = await approved_pools_of(session, agency, purposes)
    nested = {ref: concrete_policy(policy, pools) for ref, policy in nested.items()}
    held_harmless = await roles_with_holds(session, agency)
    weighed: dict[int, StackPolicy] = {}
    for target in targets:
        policy = concrete_policy(target.policy, pools)
        if target.kind == "role" and target.id in held_harmless:
            policy = with_hold_harmless(policy, str(target.id))
        weighed[id(target.policy)] = policy
    return RuleBook(list(weighed.values()), nested, weighed)


async def evaluate_all(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    targets: Sequence[Target],
    at: datetime,
) -> RunSummary:
    """Evaluate every educator of the agency against `targets` at `at`; record the periods
    that ended and began since the last run (`history`)."""
    started = time.perf_counter()
    found = await _evaluate(session, public_url, agency, targets, at, None)
    changes = await _write(session, public_url, agency, targets, found, at)
    educators = await session.scalar(
        select(func.count()).select_from(Educator).where(Educator.agency_id == agency.id)
    )
    runs = [
        {
            "agency_id": agency.id,
            "target_kind": target.kind,
            "target_id": target.id,
            "rule_id": target.rule_id,
            "evaluated_at": at,
            "educators": educators or 0,
            "met": found.met[target.id],
        }
        for target in targets
    ]
    await upsert(session, CompletionRun.__table__, runs, RUN_KEYS)  # type: ignore[arg-type]
    return RunSummary(
        at,
        list(targets),
        educators or 0,
        found.evaluated,
        found.met,
        time.perf_counter() - started,
        changes.opened,
        changes.closed,
    )


async def refresh_educators(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    targets: Sequence[Target],
    educator_ids: Sequence[uuid.UUID],
    at: datetime,
) -> None:
    """Re-evaluate some educators (those a change touched) against `targets`."""
    found = await _evaluate(session, public_url, agency, targets, at, educator_ids)
    await _write(session, public_url, agency, targets, found, at)


async def refresh_stale(
    session: AsyncSession, public_url: str, agency: Agency, at: datetime, limit: int = STALE_BATCH
) -> int:
    """Re-evaluate the agency's stale educators against every target it has run; how many."""
    marks = (
        await session.execute(
            select(StaleEducator.educator_id, StaleEducator.marked_at)
            .where(StaleEducator.agency_id == agency.id)
            .order_by(StaleEducator.marked_at)
            .limit(limit)
        )
    ).all()
    if not marks:
        return 0
    targets = await evaluated_targets(session, agency)
    if targets:
        educators = [educator_id for educator_id, _ in marks]
        await refresh_educators(session, public_url, agency, targets, educators, at)
    # Only the marks read: one made meanwhile (a newer marked_at) stays for the next refresh.
    for chunk in chunks([tuple(mark) for mark in marks]):
        await session.execute(
            delete(StaleEducator)
            .where(tuple_(StaleEducator.educator_id, StaleEducator.marked_at).in_(list(chunk)))
            .execution_options(synchronize_session=False)
        )
    return len(marks)


async def evaluated_targets(session: AsyncSession, agency: Agency) -> list[Target]:
    """The stacks (current revision) and roles the agency has had evaluated in full."""
    runs = list(
        await session.scalars(select(CompletionRun).where(CompletionRun.agency_id == agency.id))
    )
    lineages = [run.target_id for run in runs if run.target_kind == "stack"]
    roles = [run.target_id for run in runs if run.target_kind == "role"]
    stacks = await session.scalars(
        select(Stack).where(Stack.lineage_id.in_(lineages), Stack.is_current.is_(True))
    )
    found = [stack_target(stack) for stack in stacks]
    role_rows = await session.scalars(
        select(LatticeRole)
        .join(Lattice, Lattice.id == LatticeRole.lattice_id)
        .where(LatticeRole.id.in_(roles), Lattice.agency_id == agency.id)
    )
    return found + [role_target(role) for role in role_rows]


# --- evaluation ----------------------------------------------------------------------------


@dataclass
class _Found:
    """What a run found: the educators whose periods change, and who meets each target."""

    book: RuleBook
    approvals: ApprovalBook
    changes: list[Change]
    met: dict[uuid.UUID, int]
    evaluated: int


async def _evaluate(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    targets: Sequence[Target],
    at: datetime,
    educator_ids: Sequence[uuid.UUID] | None,
) -> _Found:
    book = await rule_book(session, public_url, agency, targets)
    approvals = ApprovalBook(await approvals_of(session, agency, sorted(book.achievements())))
    wanted = {target.id: book.achievements_for(target.policy) for target in targets}
    naming: dict[str, list[Target]] = defaultdict(list)  # achievement -> targets counting it
    for target in targets:
        for achievement in wanted[target.id]:
            naming[achievement].append(target)
    periods = await open_periods(session, agency, targets, educator_ids)
    ends = await last_ends(session, agency, targets, educator_ids)
    found = _Found(book, approvals, [], dict.fromkeys((t.id for t in targets), 0), 0)
    held_by = holdings(session, public_url, agency, book.achievements(), at, educator_ids)
    async for educator_id, held in held_by:
        found.evaluated += 1
        memo: dict[str, bool] = {}  # her nested stacks, shared by the targets
        concerned = {t.id: t for item in held for t in naming.get(item.achievement_id, ())}
        for target in concerned.values():
            relevant = [item for item in held if item.achievement_id in wanted[target.id]]
            result = outcome(book, target.policy, relevant, at, approvals, memo)
            found.met[target.id] += result.met
            key = (target.id, educator_id)
            change = Change(target, educator_id, result, periods.pop(key, None), ends.get(key))
            if not change.unchanged():
                # Her credentials are kept only when the change must be dated from them.
                change.held = relevant if change.needs_history() else []
                found.changes.append(change)
    # Open periods of educators who hold nothing a target names any more: no longer met.
    by_id = {target.id: target for target in targets}
    for (target_id, educator_id), period in periods.items():
        found.changes.append(Change(by_id[target_id], educator_id, Outcome(False), period, None))
    return found


@dataclass(frozen=True)
class _Written:
    opened: int
    closed: int


async def _write(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    targets: Sequence[Target],
    found: _Found,
    at: datetime,
) -> _Written:
    """Close the periods that ended and open the ones that began: never a delete."""
    if not found.changes:
        return _Written(0, 0)
    events = await status_events(session, public_url, found.changes)
    revised = await revision_times(session, targets)
    timeline = Timeline(found.book, found.approvals, events, at)
    closes: list[dict[str, Any]] = []
    opens: list[dict[str, Any]] = []
    for change in found.changes:
        closing, opening = timeline.resolve(change, revised.get(change.target.rule_id))
        if closing is not None:
            closes.append(closing)
        if opening is not None:
            opens.append(opening | {"agency_id": agency.id})
    # Closed first: the next period of the same target opens once the last one is closed.
    await close_periods(session, closes)
    await open_new_periods(session, opens)
    return _Written(len(opens), len(closes))


async def revision_times(
    session: AsyncSession, targets: Sequence[Target]
) -> dict[uuid.UUID, datetime]:
    """When each stack revision applied took effect (its creation), for revisions of an
    earlier rule: a period judged by the earlier rule ends then, and the revision makes no
    one a holder before it. (A first revision judges the past too: that is what it is for.)"""
    rule_ids = [target.rule_id for target in targets if target.kind == "stack"]
    rows = await session.execute(
        select(Stack.id, Stack.created_at).where(Stack.id.in_(rule_ids), Stack.revision > 1)
    )
    return {stack_id: created for stack_id, created in rows}
