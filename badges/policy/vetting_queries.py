"""Reading vetting requests: one of them (the agency's, or the requester's own), the
agency's queue and a requester's list a page at a time (oldest first), reviews, the audit
trail, and how a closed request ended."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import NotFound
from badges.policy.purposes import (
    check_purpose,
    purposes_of,
)
from badges.policy.vetting_parties import (
    Requester,
    RequestState,
)
from storage.models import Agency, Issuer, VettingEvent, VettingRequest, VettingReview


async def agency_request(
    session: AsyncSession, agency: Agency, request_id: uuid.UUID
) -> VettingRequest:
    row = await session.get(VettingRequest, request_id)
    if row is None or row.agency_id != agency.id:
        raise NotFound(f"this agency has no vetting request {request_id}", field=("requestId",))
    return row


async def own_request(
    session: AsyncSession, requester: Requester, request_id: uuid.UUID
) -> VettingRequest:
    """The requester's own request; anyone else's is "not found", in the same words."""
    row = await session.get(VettingRequest, request_id)
    if row is None or (row.requested_by_kind, row.requested_by) != (
        requester.kind,
        requester.owner,
    ):
        raise NotFound(f"you have no vetting request {request_id}", field=("requestId",))
    return row


@dataclass(frozen=True)
class Filter:
    state: RequestState | None = None
    purpose: str | None = None


async def queue_page(
    session: AsyncSession,
    agency: Agency,
    where: Filter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[VettingRequest], bool]:
    """The agency's requests, oldest first; True when more follow."""
    conditions = [VettingRequest.agency_id == agency.id]
    if where.purpose is not None:
        conditions.append(
            VettingRequest.purpose == await check_purpose(session, agency, where.purpose)
        )
    if where.state is not None:
        conditions.append(VettingRequest.state == where.state)
    return await _page(session, conditions, after, limit)


async def requests_page(
    session: AsyncSession,
    requester: Requester,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[VettingRequest], bool]:
    """The requester's own requests, oldest first."""
    conditions = [
        VettingRequest.requested_by_kind == requester.kind,
        VettingRequest.requested_by == requester.owner,
    ]
    return await _page(session, conditions, after, limit)


async def _page(
    session: AsyncSession,
    conditions: list[Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[VettingRequest], bool]:
    if after is not None:
        moment, last = after
        conditions.append(
            or_(
                VettingRequest.created_at > moment,
                and_(VettingRequest.created_at == moment, VettingRequest.id > last),
            )
        )
    rows = list(
        await session.scalars(
            select(VettingRequest)
            .where(*conditions)
            .order_by(VettingRequest.created_at, VettingRequest.id)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


async def events_of(
    session: AsyncSession, request_ids: Sequence[uuid.UUID], actions: Sequence[str] | None = None
) -> dict[uuid.UUID, list[VettingEvent]]:
    """Each request's trail, in the order the steps were taken."""
    query = select(VettingEvent).where(VettingEvent.request_id.in_(list(request_ids)))
    if actions is not None:
        query = query.where(VettingEvent.action.in_(list(actions)))
    found: dict[uuid.UUID, list[VettingEvent]] = {item: [] for item in request_ids}
    for row in await session.scalars(query.order_by(VettingEvent.occurred_at)):
        found[row.request_id].append(row)
    return found


async def reviews_of(session: AsyncSession, request_id: uuid.UUID) -> list[VettingReview]:
    return list(
        await session.scalars(
            select(VettingReview)
            .where(VettingReview.request_id == request_id)
            .order_by(VettingReview.created_at)
        )
    )


async def review_counts(
    session: AsyncSession, request_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(VettingReview.request_id, func.count())
        .where(VettingReview.request_id.in_(list(request_ids)))
        .group_by(VettingReview.request_id)
    )
    return {request_id: count for request_id, count in rows}


@dataclass(frozen=True)
class Outcome:
    """How a closed request ended, as its requester is told."""

    state: str  # approved, declined or withdrawn
    at: datetime
    note: str | None
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    approval_id: str | None = None


def outcome_of(trail: Sequence[VettingEvent]) -> Outcome | None:
    for event in reversed(trail):
        detail = event.detail
        if event.action == "decided":
            return Outcome(
                state=str(detail.get("decision")),
                at=event.occurred_at,
                note=detail.get("note"),
                effective_from=_moment(detail.get("effectiveFrom")),
                effective_until=_moment(detail.get("effectiveUntil")),
                approval_id=detail.get("approvalId"),
            )
        if event.action == "withdrawn":
            return Outcome(state="withdrawn", at=event.occurred_at, note=detail.get("reason"))
    return None


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def agency_names(
    session: AsyncSession, agency_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Issuer]:
    """The issuer profile (slug, name) of each agency."""
    rows = await session.execute(
        select(Agency.id, Issuer)
        .join(Issuer, Issuer.id == Agency.issuer_id)
        .where(Agency.id.in_(list(set(agency_ids))))
    )
    return {agency_id: issuer for agency_id, issuer in rows}


async def agencies_with_purposes(session: AsyncSession) -> list[tuple[Issuer, dict[str, str]]]:
    """Every agency a teacher may ask, by name, with the purposes it vets for."""
    rows = await session.execute(
        select(Agency, Issuer).join(Issuer, Issuer.id == Agency.issuer_id).order_by(Issuer.name)
    )
    return [(issuer, await purposes_of(session, agency)) for agency, issuer in rows]
