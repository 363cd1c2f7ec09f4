"""What the state query routes share: the caller, list parameters, pages, CSV streams."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query

from app.cursors import decode, encode, fingerprint
from app.deps import AgencyCaller, RequireAgency, State
from app.foreign_status import foreign_sweep
from badges.errors import InvalidInput
from badges.policy.stack_completions import refresh_stale
from badges.policy.state_queries import (
    AnySelect,
    stream_rows,
)
from schemas.api.base import ApiDatetime
from storage.models import Agency
from storage.session import transaction

Reporter = Annotated[AgencyCaller, Depends(RequireAgency("reports:read"))]


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(
            f"{field} must carry a time zone (e.g. 2026-01-31T12:00:00Z)", field=(field,)
        )
    return value


@dataclass(frozen=True)
class Listing:
    """The query parameters every list shares."""

    at: datetime | None
    district: str | None
    issuer: str | None
    purpose: str | None
    limit: int
    cursor: str | None
    csv: bool


async def _listing(
    at: Annotated[ApiDatetime | None, Query(description="As of this date (default now).")] = None,
    district: Annotated[str | None, Query(max_length=200)] = None,
    issuer: Annotated[str | None, Query(max_length=64, description="A provider's slug.")] = None,
    purpose: Annotated[
        str | None, Query(max_length=32, description="MCs approved for it on the date.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: every row, streamed, no paging.")
    ] = "json",
) -> Listing:
    return Listing(aware(at, "at"), district, issuer, purpose, limit, cursor, format == "csv")


Listed = Annotated[Listing, Depends(_listing)]


async def refresh(state: State, agency: Agency) -> None:
    """Re-evaluate the educators marked stale (by a change of status a sweep saw, a new
    award, ...), committed before the query reads. Without periodic sweeps, the query first
    sweeps the status of credentials from elsewhere if the last sweep is out of date."""
    if state.settings.foreign_status_sweep_seconds == 0:
        await state.foreign_sweeps.sweep_now_if_due(agency.id, foreign_sweep(state, agency.id))
    async with transaction(state.sessions) as session:
        await refresh_stale(session, state.settings.public_url, agency, now())


@dataclass(frozen=True)
class Page:
    """Where this page of one query starts; every page answers for the first page's date."""

    query_id: str
    at: datetime
    after: list[str] | None
    listing: Listing

    @classmethod
    def of(cls, listing: Listing, size: int, *query: object) -> Page:
        query_id = fingerprint(*query)
        cursor = decode(listing.cursor, query_id, size)
        if cursor is not None and listing.at is not None and listing.at != cursor.at:
            raise InvalidInput("at differs from the date of the cursor's query", field=("at",))
        at = cursor.at if cursor else (listing.at or now())
        return cls(query_id, at, cursor.position if cursor else None, listing)

    def next(self, position: Sequence[str] | None) -> str | None:
        return encode(position, self.at, self.query_id) if position is not None else None


def cursor_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("cursor is not one this query returned", field=("cursor",)) from None


def cursor_moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("cursor is not one this query returned", field=("cursor",))
    return moment


async def streamed(
    state: State, query: AnySelect, shape: Callable[[Sequence[Any]], Sequence[Any]]
) -> AsyncIterator[Sequence[Any]]:
    """The rows of `query` in a session of their own: the export outlives the request's."""
    async with state.sessions() as session:
        async for row in stream_rows(session, query):
            yield shape(row)
