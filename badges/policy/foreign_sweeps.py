"""Sweeps: the status of every credential from elsewhere an agency may count, read again in
the background, so that no question waits for it.

A state query (holders, reports, evaluate-all) answers from the changes of status already
seen (`foreign_status`); what keeps those current is a sweep per agency, run at most once
per freshness window (`FRESH_FOR`, 5 minutes) and never twice at once. The service starts
one for every agency on that period (`app.startup`), and a state query starts one when the
last is older than the window (a service started with the periodic sweep off). A sweep
reads the credentials in chunks, each chunk in a transaction of its own, and yields to the
event loop between credentials: the service goes on answering while it runs.

What an answer rests on: the changes seen by the last sweep, so a revocation published by a
foreign issuer counts in state queries within about one window plus one sweep (seconds:
a sweep reads only status, each list once). A single evaluation of one educator reads her
own credentials' status itself (`evaluation`), within the same window.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from badges.policy.evaluation import relevant_achievements
from badges.policy.foreign_status import (
    FRESH_FOR,
    Foreign,
    Kind,
    StatusSource,
    observe,
)
from storage.bulk import chunks
from storage.models import (
    Agency,
    Educator,
    EducatorIdentifier,
    HeldCredential,
    SubmittedCredential,
)
from storage.session import transaction

logger = logging.getLogger(__name__)

# Credentials read per transaction: a chunk's documents are in memory at once (a few KB each).
CHUNK: Final = 500


@dataclass(frozen=True)
class SweepRecord:
    """One finished sweep: when it ran, how many credentials it read and how many changed."""

    agency_id: uuid.UUID
    started_at: datetime
    seconds: float
    read: int
    changed: int


Sweep = Callable[[], Coroutine[Any, Any, SweepRecord]]


def _now() -> datetime:
    return datetime.now(UTC)


class Sweeps:
    """The process's sweeps: at most one running per agency, and none started within
    `fresh_for` of the last one's start."""

    def __init__(self, fresh_for: timedelta = FRESH_FOR, clock: Callable[[], datetime] = _now):
        self._fresh_for = fresh_for
        self._clock = clock
        self._started: dict[uuid.UUID, datetime] = {}
        self._running: dict[uuid.UUID, asyncio.Task[SweepRecord]] = {}
        self._last: dict[uuid.UUID, SweepRecord] = {}

    def start_if_due(self, agency_id: uuid.UUID, sweep: Sweep) -> bool:
        """Start `sweep` in the background if the agency is due one; whether it started."""
        now = self._clock()
        started = self._started.get(agency_id)
        if agency_id in self._running or (started and now - started < self._fresh_for):
            return False
        self._started[agency_id] = now
        task = asyncio.create_task(sweep(), name=f"foreign-status-sweep {agency_id}")
        self._running[agency_id] = task
        task.add_done_callback(lambda done: self._finished(agency_id, done))
        return True

    async def sweep_now_if_due(self, agency_id: uuid.UUID, sweep: Sweep) -> None:
        """Start the agency's sweep if it is due, and wait for the one running, if any
        (a service without periodic sweeps: the question waits for current readings)."""
        self.start_if_due(agency_id, sweep)
        running = self._running.get(agency_id)
        if running is not None:
            await asyncio.wait({running})

    def _finished(self, agency_id: uuid.UUID, task: asyncio.Task[SweepRecord]) -> None:
        self._running.pop(agency_id, None)
        if task.cancelled():
            return
        failure = task.exception()
        if failure is not None:
            # The last changes seen stand; the next window tries again.
            logger.error("foreign status sweep of agency %s failed", agency_id, exc_info=failure)
            return
        self._last[agency_id] = task.result()

    def last(self, agency_id: uuid.UUID) -> SweepRecord | None:
        """The agency's last finished sweep in this process."""
        return self._last.get(agency_id)

    async def wait(self) -> None:
        """Until the sweeps running now have finished (shutdown, tests, benchmarks)."""
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def cancel(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await self.wait()


async def sweep_agency(
    sessions: async_sessionmaker[AsyncSession],
    agency_id: uuid.UUID,
    source: StatusSource,
    chunk: int = CHUNK,
) -> SweepRecord:
    """Read again the status of every credential from elsewhere the agency may count: those
    submitted to it, and those its educators pushed of an achievement it has a rule on.
    Each change is appended and its educators marked stale (`observe`), chunk by chunk."""
    started_at, start = _now(), time.perf_counter()
    read = changed = 0
    async for batch in _foreign_of(sessions, agency_id, chunk):
        async with transaction(sessions) as session:
            # A turn for the event loop after each credential: a query waits for at most
            # one reading (a fraction of a millisecond), not for a run of them.
            changed += await observe(session, source, batch, yield_every=1)
        read += len(batch)
    record = SweepRecord(agency_id, started_at, time.perf_counter() - start, read, changed)
    logger.info(
        "foreign status sweep of agency %s: %d read, %d changed, %.1f s",
        agency_id,
        read,
        changed,
        record.seconds,
    )
    return record


async def _foreign_of(
    sessions: async_sessionmaker[AsyncSession], agency_id: uuid.UUID, chunk: int
) -> AsyncIterator[list[Foreign]]:
    """The agency's foreign credentials, `chunk` at a time, each read in a short session."""
    submitted = select(SubmittedCredential.id, SubmittedCredential.content).where(
        SubmittedCredential.agency_id == agency_id,
        SubmittedCredential.accepted.is_(True),
        SubmittedCredential.achievement_iri.is_not(None),
    )
    async for batch in _pages(sessions, submitted, SubmittedCredential.id, "submitted", chunk):
        yield batch
    async with sessions() as session:
        agency = await session.get(Agency, agency_id)
        relevant = sorted(await relevant_achievements(session, agency)) if agency else []
    for named in chunks(relevant):
        pushed = (
            select(HeldCredential.id, HeldCredential.content)
            .join(EducatorIdentifier, EducatorIdentifier.lookup_key == HeldCredential.lookup_key)
            .join(Educator, Educator.id == EducatorIdentifier.educator_id)
            .where(Educator.agency_id == agency_id, HeldCredential.achievement_iri.in_(named))
            .distinct()
        )
        async for batch in _pages(sessions, pushed, HeldCredential.id, "held", chunk):
            yield batch


async def _pages(
    sessions: async_sessionmaker[AsyncSession],
    query: Select[uuid.UUID, str],
    key: InstrumentedAttribute[uuid.UUID],
    kind: Kind,
    chunk: int,
) -> AsyncIterator[list[Foreign]]:
    """`query`'s rows (id, content) in `key` order, `chunk` at a time (keyset paging)."""
    after = uuid.UUID(int=0)
    while True:
        async with sessions() as session:
            page = query.where(key > after).order_by(key).limit(chunk)
            rows = (await session.execute(page)).all()
        if not rows:
            return
        yield [Foreign(kind, row_id, content) for row_id, content in rows]
        after = rows[-1][0]
