"""Completion periods as history: when a run finds an educator's outcome changed, when did
the change happen?

A run knows her outcome now (met or not, since when, until when) and her open period (what
the last run recorded). When they differ, the open period is closed at the time of the
event that changed it, never earlier, and the next one is opened:

- a credential revoked or suspended at T (the event log, `credential_events`), or a newly
  counted credential starting at T: the first such moment after the period was recorded at
  which the rule, re-run with the status of that moment, no longer gives the recorded
  outcome;
- the rule revised at T (the revision's creation);
- the recorded lapse (a counted credential expires, leaves the window or loses its
  approval), when nothing ended it earlier;
- otherwise (a change the log does not date: an approval decision, an identifier
  registered) the run itself.

A period that ends while she still holds the target is followed by one that `continues` it
from the same instant (not a new completion); after a gap, the next one starts at the first
moment she holds it again. Everything before the closing instant stays as recorded.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from badges.policy.completion_rules import (
    Outcome,
    Target,
    outcome,
)
from badges.policy.rule_book import (
    ApprovalBook,
    Holding,
    RuleBook,
)
from badges.status.status_changes import (
    Event,
    Standing,
    standing_of,
)
from storage.bulk import chunks
from storage.models import Agency, Completion, CredentialEvent
from storage.models.completions import STATUS_EVENTS

# Just after an instant: a lapse at T means "not met just after T" (`completion_rules`).
_TICK = timedelta(microseconds=1)
PairKey = tuple[uuid.UUID, uuid.UUID]  # (target id, educator id)


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    id: uuid.UUID
    rule_id: uuid.UUID
    completed_at: datetime
    expires_at: datetime | None
    started_at: datetime
    evaluated_at: datetime


@dataclass
class Change:
    """One educator and target whose outcome may differ from her open period."""

    target: Target
    educator_id: uuid.UUID
    outcome: Outcome
    period: OpenPeriod | None
    last_end: datetime | None  # when her last closed period ended (no open one)
    held: list[Holding] = field(default_factory=list)

    def unchanged(self) -> bool:
        """The outcome is the one recorded: nothing to write (re-running changes nothing)."""
        if self.period is None:
            return not self.outcome.met
        return (
            self.outcome.met
            and self.period.rule_id == self.target.rule_id
            and self.period.completed_at == self.outcome.completed_at
            and self.period.expires_at == self.outcome.expires_at
        )

    def needs_history(self) -> bool:
        """Whether dating the change needs her credentials and their status events."""
        if self.period is None:
            return self.last_end is not None
        return self.period.rule_id == self.target.rule_id


@dataclass(frozen=True)
class End:
    at: datetime
    reason: str  # lapsed, revoked, suspended, unsuspended, credential, rule_revised, re_evaluated
    detail: str | None = None


@dataclass
class Timeline:
    """Re-runs a rule at past moments with the status each credential had then."""

    book: RuleBook
    approvals: ApprovalBook
    events: dict[str, list[Event]]  # status events by credential IRI, oldest first
    now: datetime

    def resolve(
        self, change: Change, revised_at: datetime | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the closing of her open period, the period opened), either may be None.

        `revised_at`: when the rule applied took effect, if it revised an earlier one."""
        closing = None
        after = change.last_end
        continues = False
        if change.period is not None:
            end = self.end_of(change, change.period, revised_at)
            closing = {
                "id": change.period.id,
                "ended_at": end.at,
                "end_reason": end.reason,
                "end_detail": end.detail,
                "closed_by_run_at": self.now,
            }
            if not change.outcome.met:
                return closing, None
            continues = self._holds_at(change, end)
            after = end.at
        if not change.outcome.met:
            return closing, None
        if continues and after is not None:
            return closing, self._opening(change, after, continues=True)
        # A revised rule speaks from its revision on: it never makes her a holder before.
        floor = after if after is not None else revised_at
        return closing, self._opening(change, self._start(change, floor), continues=False)

    def end_of(self, change: Change, period: OpenPeriod, revised_at: datetime | None) -> End:
        if revised_at is not None and period.rule_id != change.target.rule_id:
            revision = str(change.target.rule_id)
            return End(max(revised_at, period.started_at), "rule_revised", revision)
        lapse = period.expires_at
        if lapse is not None and lapse > self.now:
            lapse = None
        # What the recorded period already reflected: the world as of the run that wrote it.
        lower = max(period.started_at, period.evaluated_at)
        for moment, reason, detail in self._moments(change.held, lower, lapse or self.now):
            found = self._outcome(change, moment)
            if not (
                found.met
                and found.completed_at == period.completed_at
                and found.expires_at == period.expires_at
            ):
                return End(moment, reason, detail)
        if lapse is not None:
            return End(lapse, "lapsed")
        return End(max(self.now, period.started_at), "re_evaluated")

    def _holds_at(self, change: Change, end: End) -> bool:
        """Whether she still held it right at the end: then the next period continues."""
        completed = change.outcome.completed_at
        if end.reason == "re_evaluated":
            return True  # dated by this run: she holds it now
        if end.reason == "rule_revised":
            return completed is not None and completed <= end.at
        moment = end.at + _TICK if end.reason == "lapsed" else end.at
        return self._outcome(change, moment).met

    def _start(self, change: Change, after: datetime | None) -> datetime:
        """When a new (not continuing) period starts: the rule's completion date for her
        first one; after `after` (an earlier one ended, or the rule was revised), the first
        moment since then that she holds it."""
        completed = change.outcome.completed_at or self.now
        if after is None:
            return completed
        first = max(completed, after)
        if not change.held:
            return first  # not kept: nothing in her history to date it by
        later = [moment for moment, _, _ in self._moments(change.held, first, self.now)]
        for moment in [first, *later]:
            if self._outcome(change, moment).met:
                return moment
        return self.now

    def _opening(self, change: Change, started: datetime, continues: bool) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "target_kind": change.target.kind,
            "target_id": change.target.id,
            "educator_id": change.educator_id,
            "rule_id": change.target.rule_id,
            "completed_at": change.outcome.completed_at,
            "expires_at": change.outcome.expires_at,
            "started_at": started,
            "ended_at": None,
            "end_reason": None,
            "end_detail": None,
            "continues": continues,
            "evaluated_at": self.now,
            "closed_by_run_at": None,
        }

    def _moments(
        self, held: Sequence[Holding], lower: datetime, limit: datetime
    ) -> Iterator[tuple[datetime, str, str | None]]:
        """Moments in [lower, limit) at which her outcome may have changed, in order: a
        credential starting to count, or a status event of one."""
        found: list[tuple[datetime, str, str | None]] = []
        for item in held:
            start = max(item.earned_at, item.valid_from or item.earned_at)
            found.append((start, "credential", item.credential_id))
            found.extend(
                (event.occurred_at, event.event_type, item.credential_id)
                for event in self.events.get(item.credential_id, ())
            )
        yield from sorted(moment for moment in found if lower <= moment[0] < limit)

    def _outcome(self, change: Change, moment: datetime) -> Outcome:
        held = [self._as_of(item, moment) for item in change.held]
        return outcome(self.book, change.target.policy, held, moment, self.approvals)

    def _as_of(self, item: Holding, moment: datetime) -> Holding:
        """The credential with the status it had at `moment` (revocation counts from its
        time, not before)."""
        events = self.events.get(item.credential_id)
        if not events:
            return item
        then = standing_of([event for event in events if event.occurred_at <= moment])
        if then is not Standing.ACTIVE:
            return replace(item, problem=f"{then.value} then")
        if standing_of(events) is not Standing.ACTIVE:
            return replace(item, problem=None)  # its problem today is that later status
        return item


# --- writing: closing and opening, never deleting ----------------------------------------


def _table() -> Table:
    return cast(Table, Completion.__table__)


async def close_periods(session: AsyncSession, closes: Sequence[dict[str, Any]]) -> None:
    """Close each period, if still open: a concurrent run (a refresh beside a full run) may
    have closed it already, and its closing time stands."""
    table = _table()
    statement = (
        update(table)
        .where(table.c.id == bindparam("period_id"), table.c.ended_at.is_(None))
        .values(
            ended_at=bindparam("ended_at"),
            end_reason=bindparam("end_reason"),
            end_detail=bindparam("end_detail"),
            closed_by_run_at=bindparam("closed_by_run_at"),
        )
    )
    rows = [
        {"period_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in closes
    ]
    for chunk in chunks(rows):
        await session.execute(statement, list(chunk))


async def open_new_periods(session: AsyncSession, opens: Sequence[dict[str, Any]]) -> None:
    """Insert the new periods; one whose educator and target already has an open period (a
    concurrent run opened it) is left out: one open period each."""
    table = _table()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(
        index_elements=["agency_id", "target_kind", "target_id", "educator_id"],
        index_where=table.c.ended_at.is_(None),
    )
    for chunk in chunks(opens):
        await session.execute(statement, list(chunk))


# --- reading what is recorded ------------------------------------------------------------


def _targets_clause(targets: Sequence[Target]) -> Any:
    return or_(
        *(
            and_(Completion.target_kind == target.kind, Completion.target_id == target.id)
            for target in targets
        )
    )


def _scopes(educator_ids: Sequence[uuid.UUID] | None) -> list[Sequence[uuid.UUID] | None]:
    return [None] if educator_ids is None else list(chunks(list(educator_ids)))


async def open_periods(
    session: AsyncSession,
    agency: Agency,
    targets: Sequence[Target],
    educator_ids: Sequence[uuid.UUID] | None,
) -> dict[PairKey, OpenPeriod]:
    """The open period of each educator (all, or those named) and target."""
    found: dict[PairKey, OpenPeriod] = {}
    if not targets:
        return found
    query = select(
        Completion.target_id,
        Completion.educator_id,
        Completion.id,
        Completion.rule_id,
        Completion.completed_at,
        Completion.expires_at,
        Completion.started_at,
        Completion.evaluated_at,
    ).where(
        Completion.agency_id == agency.id,
        Completion.ended_at.is_(None),
        _targets_clause(targets),
    )
    for scope in _scopes(educator_ids):
        scoped = query if scope is None else query.where(Completion.educator_id.in_(scope))
        for row in await session.execute(scoped):
            found[(row.target_id, row.educator_id)] = OpenPeriod(
                row.id,
                row.rule_id,
                row.completed_at,
                row.expires_at,
                row.started_at,
                row.evaluated_at,
            )
    return found


async def last_ends(
    session: AsyncSession,
    agency: Agency,
    targets: Sequence[Target],
    educator_ids: Sequence[uuid.UUID] | None,
) -> dict[PairKey, datetime]:
    """When each educator's last closed period of each target ended."""
    found: dict[PairKey, datetime] = {}
    if not targets:
        return found
    query = (
        select(Completion.target_id, Completion.educator_id, func.max(Completion.ended_at))
        .where(
            Completion.agency_id == agency.id,
            Completion.ended_at.is_not(None),
            _targets_clause(targets),
        )
        .group_by(Completion.target_id, Completion.educator_id)
    )
    for scope in _scopes(educator_ids):
        scoped = query if scope is None else query.where(Completion.educator_id.in_(scope))
        for target_id, educator_id, ended in await session.execute(scoped):
            if ended is not None:
                found[(target_id, educator_id)] = ended
    return found


async def status_events(
    session: AsyncSession, public_url: str, changes: Sequence[Change]
) -> dict[str, list[Event]]:
    """The status events (revoked, suspended, unsuspended) of the credentials issued here
    that the changes' educators hold, by credential IRI, oldest first."""
    prefix = f"{public_url}/credentials/"
    iris: dict[uuid.UUID, str] = {}
    for change in changes:
        for item in change.held:
            if item.credential_id.startswith(prefix):
                try:
                    iris[uuid.UUID(item.credential_id.removeprefix(prefix))] = item.credential_id
                except ValueError:
                    continue
    found: dict[str, list[Event]] = defaultdict(list)
    for chunk in chunks(sorted(iris)):
        rows = await session.execute(
            select(
                CredentialEvent.credential_id,
                CredentialEvent.event_type,
                CredentialEvent.occurred_at,
            )
            .where(
                CredentialEvent.credential_id.in_(list(chunk)),
                CredentialEvent.event_type.in_(STATUS_EVENTS),
            )
            .order_by(CredentialEvent.id)
        )
        for credential_id, event_type, occurred_at in rows:
            found[iris[credential_id]].append(Event(event_type, occurred_at, None, None))
    return found
