"""The status of credentials issued elsewhere, re-established before they are counted.

A credential issued here has its status in the event log (`status_changes`). One issued
elsewhere (submitted by an agency, or pushed by the teacher through the OB 3.0 API) was
verified once, on entry; its issuer may revoke it any time after. So before it is counted
its status is read again from the issuer's status list, through the service's verifier
(`StatusCheck`, supplied by the transport layer: this module does not verify anything).

Freshness: a reading is reused for `FRESH_FOR` (5 minutes) per stored document
(`StatusCache`), so counting many educators reads each list once in a while, not once per
question. The verifier's own fetch cache sits below it and honours the list's
`Cache-Control: max-age` (a Lattice list says 60 s), so a reading never rests on a list
older than the two together. A revocation is therefore counted at most about 5 minutes
after the issuer published it. State queries over all educators read no status themselves:
a background sweep reads every counted foreign credential once per window
(`foreign_sweeps`), and they answer from the changes it saw.

History: each change of status seen is appended, with the moment it was first seen
(`ForeignStatusObservation`), and never rewritten. An answer "as of" a date reads the last
change seen on or before that date: a credential revoked abroad keeps counting for dates
before this service saw the revocation (it could not have known), and stops counting from
then on. A status that cannot be read now (the list is unreachable, or does not verify)
changes nothing: the last status seen stands.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from badges.status.completion_marks import educators_changed
from badges.status.status_changes import Standing
from formats.dates import xsd_datetime
from net.lru import LruCache
from storage.bulk import chunks
from storage.models import (
    Educator,
    EducatorIdentifier,
    ForeignStatusObservation,
    HeldCredential,
    SubmittedCredential,
)

FRESH_FOR: Final = timedelta(minutes=5)
# Readings kept in memory per process: a digest, a status and a few words each.
CACHED_READINGS: Final = 50_000
Observation = ForeignStatusObservation


@dataclass(frozen=True)
class Reading:
    """What the issuer's status list says of a credential now."""

    standing: Standing
    detail: str


# Reads the status of a stored credential (JSON or VC-JWT text) from its issuer's lists:
# None when it cannot be established (no status entry, list unreachable or not verifying).
StatusCheck = Callable[[str], Awaitable[Reading | None]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Cached:
    reading: Reading | None
    taken_at: datetime


class StatusCache:
    """Readings by document, each reused for `fresh_for` after it was taken (per process)."""

    def __init__(
        self,
        fresh_for: timedelta = FRESH_FOR,
        clock: Callable[[], datetime] = _now,
        max_entries: int = CACHED_READINGS,
    ) -> None:
        self._fresh_for = fresh_for
        self._clock = clock
        self._entries: LruCache[str, _Cached] = LruCache(max_entries)

    async def read(self, document: str, check: StatusCheck) -> tuple[Reading | None, datetime]:
        """The reading of `document`, and when it was taken."""
        key = hashlib.sha256(document.encode("utf-8")).hexdigest()
        cached = self._entries.get(key)
        now = self._clock()
        if cached is not None and now - cached.taken_at < self._fresh_for:
            return cached.reading, cached.taken_at
        reading = await check(document)
        self._entries.put(key, _Cached(reading, now))
        return reading, now


@dataclass(frozen=True)
class StatusSource:
    """How one question re-establishes status: the check, the process's cache, and the
    moment the question was asked (a change seen while answering it is dated then, so the
    answer "now" already reflects it)."""

    check: StatusCheck
    cache: StatusCache
    asked_at: datetime

    async def read(self, document: str) -> tuple[Reading | None, datetime]:
        reading, taken_at = await self.cache.read(document, self.check)
        return reading, min(taken_at, self.asked_at)


Kind = Literal["submitted", "held"]


@dataclass(frozen=True)
class Foreign:
    """A stored credential issued elsewhere: which row, and its text as received."""

    kind: Kind
    id: uuid.UUID
    content: str

    @property
    def key(self) -> tuple[Kind, uuid.UUID]:
        return (self.kind, self.id)


def submitted_ref(row: SubmittedCredential) -> Foreign:
    return Foreign("submitted", row.id, row.content)


def held_ref(row: HeldCredential) -> Foreign:
    return Foreign("held", row.id, row.content)


@dataclass(frozen=True)
class _Seen:
    status: str
    observed_at: datetime


async def observe(
    session: AsyncSession,
    source: StatusSource | None,
    items: Sequence[Foreign],
    yield_every: int = 0,
) -> int:
    """Read each credential's status again (cached) and append what changed; how many did.

    A revocation is final: a revoked credential is not read again. A reading taken before
    the last change recorded (a stale cache in another process) is not newer news. The
    educators a change concerns are marked for re-evaluation (`completion_marks`). With
    `yield_every`, the event loop gets a turn after that many readings (a background sweep:
    a reading from a remembered list never waits, so it would never give one up)."""
    if source is None or not items:
        return 0
    last = await _last_seen(session, [item.key for item in items], None)
    changed: list[Foreign] = []
    for position, item in enumerate(items, 1):
        if yield_every and position % yield_every == 0:
            await asyncio.sleep(0)
        seen = last.get(item.key)
        if seen is not None and seen.status == Standing.REVOKED.value:
            continue
        reading, observed_at = await source.read(item.content)
        if reading is None or reading.standing.value == (seen.status if seen else "active"):
            continue
        if seen is not None and observed_at <= seen.observed_at:
            continue
        session.add(
            Observation(
                submitted_id=item.id if item.kind == "submitted" else None,
                held_id=item.id if item.kind == "held" else None,
                status=reading.standing.value,
                observed_at=observed_at,
                detail=reading.detail,
            )
        )
        changed.append(item)
    if changed:
        await session.flush()
        await _mark_educators(session, changed)
    return len(changed)


async def problems_at(
    session: AsyncSession, keys: Iterable[tuple[Kind, uuid.UUID]], at: datetime
) -> dict[tuple[Kind, uuid.UUID], str]:
    """Why each credential cannot count at `at` by its issuer's word, as seen by then."""
    found = {}
    for key, seen in (await _last_seen(session, list(keys), at)).items():
        if seen.status != Standing.ACTIVE.value:
            found[key] = f"{seen.status} by its issuer (seen on {xsd_datetime(seen.observed_at)})"
    return found


def good_standing(
    column: InstrumentedAttribute[uuid.UUID], kind: Kind, at: datetime
) -> ColumnElement[bool]:
    """SQL: the credential of `column` (a submitted or held row's id) was not seen revoked
    or suspended by its issuer as of `at` (the last change seen by then, as `problems_at`)."""
    row = Observation.submitted_id if kind == "submitted" else Observation.held_id
    last = (
        select(Observation.status)
        .where(row == column, Observation.observed_at <= at)
        .order_by(Observation.observed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(last, Standing.ACTIVE.value) == Standing.ACTIVE.value


async def _last_seen(
    session: AsyncSession, keys: Sequence[tuple[Kind, uuid.UUID]], at: datetime | None
) -> dict[tuple[Kind, uuid.UUID], _Seen]:
    found: dict[tuple[Kind, uuid.UUID], _Seen] = {}
    ids = {kind: sorted(i for k, i in keys if k == kind) for kind in ("submitted", "held")}
    for kind, column in (("submitted", Observation.submitted_id), ("held", Observation.held_id)):
        for chunk in chunks(ids[kind]):
            query = select(column, Observation.status, Observation.observed_at).where(
                column.in_(list(chunk))
            )
            if at is not None:
                query = query.where(Observation.observed_at <= at)
            rows = await session.execute(query.order_by(Observation.observed_at))
            for row_id, status, observed_at in rows:
                found[(kind, row_id)] = _Seen(status, observed_at)  # type: ignore[index]
    return found


async def _mark_educators(session: AsyncSession, changed: Sequence[Foreign]) -> None:
    """The educators whose counting a change touches: the one a submission was made for,
    and those (of any agency) registered with the identifier a pushed credential names."""
    submitted = [item.id for item in changed if item.kind == "submitted"]
    held = [item.id for item in changed if item.kind == "held"]
    by_agency: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for chunk in chunks(submitted):
        rows = await session.execute(
            select(SubmittedCredential.agency_id, SubmittedCredential.educator_id).where(
                SubmittedCredential.id.in_(list(chunk))
            )
        )
        for agency_id, educator_id in rows:
            by_agency[agency_id].add(educator_id)
    for chunk in chunks(held):
        named = select(HeldCredential.lookup_key).where(HeldCredential.id.in_(list(chunk)))
        rows = await session.execute(
            select(Educator.agency_id, Educator.id)
            .join(EducatorIdentifier, EducatorIdentifier.educator_id == Educator.id)
            .where(EducatorIdentifier.lookup_key.in_(named))
        )
        for agency_id, educator_id in rows:
            by_agency[agency_id].add(educator_id)
    for agency_id, educators in by_agency.items():
        await educators_changed(session, agency_id, sorted(educators))
