"""Known issuers: the providers an agency has approved, over periods, and the registry the
verifier reads them from ("issued by a provider the Texas Education Agency (TX) has
approved since 2025-01-01").

Approving a provider is knowledge about an issuer, not a judgement on its credentials: the
verifier names the agencies that approve an issuer and says nothing more of one no agency
lists (`app.known_issuers.AgencyApprovedProviders.lists_other_issuers` is false).

History: an approval is a period (`valid_from`, `valid_until`). Withdrawing closes the
period with one conditional UPDATE, at the time given or now, never earlier: a withdrawal
reaching back would change what was true on dates already answered. A period may start
before it is recorded (an agency entering the list it kept elsewhere), so every answer "as
of" a date counts only what was recorded by then (`in_force`): the answer for a past date
never changes when later events arrive.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.errors import Conflict, InvalidInput, NotFound
from formats.dates import xsd_datetime
from storage.models import Agency, ApprovedProvider, Issuer
from storage.session import begin_write

# Seconds the verifier reuses the approved providers it loaded. A change made through this
# process is seen at once (`ApprovedProviders.changed`); one made through another worker
# process within this time.
FRESH_FOR: Final = 10.0
# W3C DID syntax (DID Core §3.1): did:<method>:<method-specific-id>.
_IDCHAR: Final = r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
_DID: Final = re.compile(rf"did:[a-z0-9]+:(?:{_IDCHAR}*:)*{_IDCHAR}+")
_URL: Final = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


def _now() -> datetime:
    return datetime.now(UTC)


class Period(Protocol):
    """What `in_force` reads of an approval period (a row, or the verifier's copy of one)."""

    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def recorded_at(self) -> datetime: ...


def in_force(period: Period, at: datetime) -> bool:
    """Whether the approval covers `at`, as the record stood at `at`."""
    return (
        period.recorded_at <= at
        and period.valid_from <= at
        and (period.valid_until is None or at < period.valid_until)
    )


def check_issuer_iri(value: str) -> str:
    """The issuer's id as credentials name it (`issuer.id`): a DID or an http(s) URL."""
    if not (_DID.fullmatch(value) or _URL.fullmatch(value)):
        raise InvalidInput(
            "issuerId must be the issuer's DID (did:method:id) or http(s) URL, as its "
            "credentials name it in issuer.id",
            field=("issuerId",),
        )
    return value


@dataclass(frozen=True)
class ProviderDetails:
    issuer_iri: str
    name: str
    url: str | None = None
    valid_from: datetime | None = None  # None: now
    valid_until: datetime | None = None  # None: until withdrawn


async def approve_provider(
    session: AsyncSession,
    agency: Agency,
    details: ProviderDetails,
    actor: str,
    now: datetime | None = None,
) -> ApprovedProvider:
    """Approve an issuer as a provider of the agency over a period that overlaps none of
    the periods already recorded for it (Conflict otherwise)."""
    now = now or _now()
    issuer_iri = check_issuer_iri(details.issuer_iri)
    valid_from = details.valid_from or now
    if details.valid_until is not None and details.valid_until <= valid_from:
        raise InvalidInput("validUntil must be after validFrom", field=("validUntil",))
    await begin_write(session)  # SQLite: read the recorded periods with the write lock held
    # PostgreSQL: one approval at a time per agency, so two at once cannot both pass the check.
    await session.execute(select(Agency.id).where(Agency.id == agency.id).with_for_update())
    for row in await _periods_of(session, agency, issuer_iri):
        if _overlap(row, valid_from, details.valid_until):
            raise Conflict(
                f"the agency already approves {issuer_iri} from {xsd_datetime(row.valid_from)}"
                + (f" until {xsd_datetime(row.valid_until)}" if row.valid_until else "")
                + f" (provider {row.id}); withdraw it, or choose a period outside it",
                field=("validFrom",),
            )
    row = ApprovedProvider(
        agency_id=agency.id,
        issuer_iri=issuer_iri,
        name=details.name,
        url=details.url,
        valid_from=valid_from,
        valid_until=details.valid_until,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def _periods_of(
    session: AsyncSession, agency: Agency, issuer_iri: str
) -> Sequence[ApprovedProvider]:
    return list(
        await session.scalars(
            select(ApprovedProvider).where(
                ApprovedProvider.agency_id == agency.id, ApprovedProvider.issuer_iri == issuer_iri
            )
        )
    )


def _overlap(row: ApprovedProvider, starts: datetime, ends: datetime | None) -> bool:
    if row.valid_until is not None and row.valid_until <= row.valid_from:
        return False  # withdrawn before it began: never in force
    return (ends is None or row.valid_from < ends) and (
        row.valid_until is None or starts < row.valid_until
    )


async def withdraw_provider(
    session: AsyncSession,
    agency: Agency,
    provider_id: uuid.UUID,
    at: datetime | None = None,
    now: datetime | None = None,
) -> ApprovedProvider:
    """End the approval at `at` (default now; never in the past). One withdrawn before it
    began ends when it began: it was never in force."""
    now = now or _now()
    moment = at or now
    if moment < now:
        raise InvalidInput(
            "at must not be in the past: what was approved on dates already answered stays "
            "approved (omit it to withdraw now)",
            field=("at",),
        )
    row = await session.get(ApprovedProvider, provider_id)
    if row is None or row.agency_id != agency.id:
        raise NotFound("this agency has approved no provider with this id", field=("provider",))
    until = max(moment, row.valid_from)
    if row.valid_until is not None and row.valid_until <= until:
        raise Conflict(
            f"this approval already ends on {xsd_datetime(row.valid_until)}", field=("at",)
        )
    await begin_write(session)
    closed = await session.execute(
        update(ApprovedProvider)
        .where(
            ApprovedProvider.id == row.id,
            or_(ApprovedProvider.valid_until.is_(None), ApprovedProvider.valid_until > until),
        )
        .values(valid_until=until)
        .execution_options(synchronize_session=False)
    )
    if getattr(closed, "rowcount", 0) != 1:
        raise Conflict(
            "the approval was withdrawn by another request at the same time; read it again",
            field=("at",),
        )
    await session.refresh(row)
    return row


async def providers_at(
    session: AsyncSession, agency: Agency, at: datetime
) -> list[ApprovedProvider]:
    """The agency's approved providers on `at` (as recorded by then), by name."""
    rows = await session.scalars(
        select(ApprovedProvider)
        .where(
            ApprovedProvider.agency_id == agency.id,
            ApprovedProvider.recorded_at <= at,
            ApprovedProvider.valid_from <= at,
            or_(ApprovedProvider.valid_until.is_(None), ApprovedProvider.valid_until > at),
        )
        .order_by(ApprovedProvider.name, ApprovedProvider.issuer_iri)
    )
    return list(rows)


# --- the verifier's registry ---------------------------------------------------------------


@dataclass(frozen=True)
class _Approval:
    """One approval period as the verifier keeps it, with the agency's words for it."""

    agency_id: uuid.UUID
    agency: str  # "Texas Education Agency (TX)"
    name: str
    valid_from: datetime
    valid_until: datetime | None
    recorded_at: datetime

    @property
    def words(self) -> str:
        return (
            f"issued by a provider the {self.agency} has approved since {self.valid_from:%Y-%m-%d}"
        )


@dataclass(frozen=True)
class ProviderApproval:
    """What the approvals say of one issuer on one date."""

    issuer_id: str
    name: str  # as the (first) approving agency names the provider
    statement: str  # "issued by a provider the Texas Education Agency (TX) has approved since …"


class ApprovedProviders:
    """Every agency's approved providers, as the verifier asks about them (the app offers
    them to it as an issuer registry: `app.known_issuers`).

    All periods are kept in memory (a few per provider and agency) and loaded again at most
    every `fresh_for` seconds, or on the next lookup after `changed()`. Concurrent lookups
    that find the copy due share one load."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fresh_for: float = FRESH_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._fresh_for = fresh_for
        self._clock = clock
        self._approvals: Mapping[str, tuple[_Approval, ...]] = {}
        self._loaded_at: float | None = None  # when the load that made the copy started
        self._generation = 0
        self._loaded_generation = -1
        self._loading = asyncio.Lock()

    def changed(self) -> None:
        """Call once a change is committed: the next lookup loads again. A load that began
        before the change is not taken as fresh."""
        self._generation += 1

    async def approval(self, issuer_id: str, at: datetime) -> ProviderApproval | None:
        """Who approves `issuer_id` as a provider on `at`, in words; None when no agency
        does."""
        approving: dict[uuid.UUID, _Approval] = {}
        for item in (await self._current()).get(issuer_id, ()):
            if in_force(item, at):
                approving.setdefault(item.agency_id, item)
        if not approving:
            return None
        found = sorted(approving.values(), key=lambda item: item.agency)
        return ProviderApproval(issuer_id, found[0].name, "; ".join(item.words for item in found))

    def _fresh(self) -> bool:
        return (
            self._loaded_at is not None
            and self._loaded_generation == self._generation
            and self._clock() - self._loaded_at < self._fresh_for
        )

    async def _current(self) -> Mapping[str, tuple[_Approval, ...]]:
        if not self._fresh():
            async with self._loading:
                if not self._fresh():  # unless a lookup it waited for loaded meanwhile
                    generation, started = self._generation, self._clock()
                    self._approvals = await self._load()
                    self._loaded_generation, self._loaded_at = generation, started
        return self._approvals

    async def _load(self) -> Mapping[str, tuple[_Approval, ...]]:
        query = (
            select(
                ApprovedProvider.issuer_iri,
                ApprovedProvider.agency_id,
                Issuer.name,
                Agency.state,
                ApprovedProvider.name,
                ApprovedProvider.valid_from,
                ApprovedProvider.valid_until,
                ApprovedProvider.recorded_at,
            )
            .join(Agency, Agency.id == ApprovedProvider.agency_id)
            .join(Issuer, Issuer.id == Agency.issuer_id)
            .order_by(ApprovedProvider.valid_from)
        )
        found: dict[str, list[_Approval]] = {}
        async with self._sessions() as session:
            for iri, agency_id, agency, state, name, starts, ends, recorded in (
                await session.execute(query)
            ).all():
                approval = _Approval(agency_id, f"{agency} ({state})", name, starts, ends, recorded)
                found.setdefault(iri, []).append(approval)
        return {iri: tuple(items) for iri, items in found.items()}
