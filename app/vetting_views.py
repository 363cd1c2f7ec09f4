"""How vetting requests read in the API: as their requester sees them, in the agency's
queue, and in full with reviews and the audit trail; and the cursors of their lists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.cursors import decode, encode, fingerprint
from app.routers.policy.state_queries.common import (
    cursor_moment,
    cursor_uuid,
)
from badges.policy.vetting_parties import Requester
from badges.policy.vetting_queries import (
    agency_names,
    events_of,
    outcome_of,
    requests_page,
    review_counts,
    reviews_of,
)
from badges.policy.vetting_rubric import (
    below_pass,
    parse_rubric,
)
from schemas.api.vetting import (
    VettingDetailOut,
    VettingEventOut,
    VettingOutcomeOut,
    VettingRequesterOut,
    VettingRequestOut,
    VettingRequestsOut,
    VettingReviewOut,
    VettingRubric,
    VettingSummaryOut,
)
from storage.models import VettingRequest, VettingReview

Limit = Annotated[int, Query(ge=1, le=500, description="Requests per page.")]
CursorParam = Annotated[str | None, Query(max_length=2000)]


async def request_views(
    session: AsyncSession, rows: Sequence[VettingRequest]
) -> list[VettingRequestOut]:
    agencies = await agency_names(session, [row.agency_id for row in rows])
    closings = await events_of(session, [row.id for row in rows], ("decided", "withdrawn"))
    views = []
    for row in rows:
        issuer = agencies[row.agency_id]
        outcome = outcome_of(closings[row.id])
        views.append(
            VettingRequestOut(
                id=str(row.id),
                agency=issuer.slug,
                agency_name=issuer.name,
                purpose=row.purpose,
                achievement_id=row.achievement_iri,
                name=row.name,
                provider=row.provider,
                issuer_id=row.issuer_iri,
                url=row.url,
                statement=row.statement,
                state=row.state,
                created_at=row.created_at,
                decided_at=row.decided_at,
                outcome=VettingOutcomeOut(**vars(outcome)) if outcome else None,
            )
        )
    return views


async def summaries(
    session: AsyncSession, rows: Sequence[VettingRequest]
) -> list[VettingSummaryOut]:
    counts = await review_counts(session, [row.id for row in rows])
    return [
        VettingSummaryOut(
            **view.model_dump(),
            requested_by=VettingRequesterOut(
                kind=row.requested_by_kind,
                id=row.requested_by,
            ),
            review_count=counts.get(row.id, 0),
        )
        for row, view in zip(rows, await request_views(session, rows), strict=True)
    ]


def review_out(row: VettingReview) -> VettingReviewOut:
    below = below_pass(parse_rubric(row.rubric), row.scores)
    return VettingReviewOut(
        id=str(row.id),
        reviewer=row.reviewer,
        rubric=VettingRubric.model_validate(row.rubric),
        scores=row.scores,
        meets_rubric=not below,
        below_passing=list(below),
        recommendation=row.recommendation,
        comment=row.comment,
        created_at=row.created_at,
    )


async def detail(session: AsyncSession, row: VettingRequest) -> VettingDetailOut:
    [summary] = await summaries(session, [row])
    trail = (await events_of(session, [row.id]))[row.id]
    return VettingDetailOut(
        **summary.model_dump(),
        credential=row.credential,
        approval_id=str(row.approval_id) if row.approval_id else None,
        reviews=[review_out(item) for item in await reviews_of(session, row.id)],
        events=[
            VettingEventOut(
                action=item.action, actor=item.actor, at=item.occurred_at, detail=item.detail
            )
            for item in trail
        ],
    )


_POSITION: Final = 2  # created_at, id


def page_after(cursor: str | None, query: str) -> tuple[datetime, uuid.UUID] | None:
    found = decode(cursor, query, _POSITION)
    if found is None:
        return None
    return cursor_moment(found.position[0]), cursor_uuid(found.position[1])


def next_cursor(rows: Sequence[VettingRequest], more: bool, query: str) -> str | None:
    if not more:
        return None
    last = rows[-1]
    return encode([last.created_at.isoformat(), str(last.id)], datetime.now(UTC), query)


async def own_page(
    session: AsyncSession, requester: Requester, cursor: str | None, limit: int
) -> VettingRequestsOut:
    """A page of the requester's own requests, oldest first."""
    query = fingerprint("own-vetting", requester.kind, requester.owner)
    rows, more = await requests_page(session, requester, page_after(cursor, query), limit)
    return VettingRequestsOut(
        items=await request_views(session, rows), next=next_cursor(rows, more, query)
    )
