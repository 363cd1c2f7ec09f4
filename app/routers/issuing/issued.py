"""The credentials an issuer has issued, searched and paged, for its own clients."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.cursors import decode, encode, fingerprint
from app.deps import Provider, RequireScopes, Session, State, issuer_of
from app.routers.issuing.credentials import own_achievement
from badges.errors import InvalidInput
from badges.issuing.issued_search import (
    MAX_PAGE,
    MAX_TEXT,
    IssuedFilter,
    IssuedItem,
    IssuedStatus,
    Position,
    search_issued,
)
from schemas.api.issued import IssuedCredentialOut, IssuedPageOut

router = APIRouter(tags=["credentials"])
Reader = Annotated[Provider, Depends(RequireScopes("credentials:read"))]


@router.get(
    "/v1/issuers/{slug}/credentials",
    response_model=IssuedPageOut,
    response_model_by_alias=True,
)
async def list_issued(
    slug: str,
    provider: Reader,
    session: Session,
    state: State,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_TEXT,
            description="A recipient's whole e-mail address, or part of a recipient's or "
            "the achievement's name.",
        ),
    ] = None,
    achievement: Annotated[
        str | None,
        Query(max_length=2000, description="An achievement's UUID or IRI (any revision)."),
    ] = None,
    status: Annotated[IssuedStatus | None, Query()] = None,
    issued_from: Annotated[
        date | None, Query(alias="issuedFrom", description="First day (UTC), inclusive.")
    ] = None,
    issued_until: Annotated[
        date | None, Query(alias="issuedUntil", description="Last day (UTC), inclusive.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> IssuedPageOut:
    """The issuer's credentials, newest first, filtered; follow `next` for more."""
    issuer = await issuer_of(slug, provider, session)
    public_url = state.settings.public_url
    criteria = IssuedFilter(
        text=q,
        achievement_id=_achievement(public_url, achievement),
        status=status,
        issued_from=issued_from,
        issued_until=issued_until,
    )
    query_id = fingerprint(issuer.id, criteria, limit)
    token = decode(cursor, query_id, 2)
    # Every page answers for the first page's moment, so statuses agree from page to page.
    at = token.at if token else datetime.now(UTC)
    page = await search_issued(
        session,
        issuer,
        criteria,
        lookup_secret=state.vault.lookup_secret,
        at=at,
        after=_position(token.position) if token else None,
        limit=limit,
    )
    following = page.next
    return IssuedPageOut(
        items=[_out(public_url, item) for item in page.items],
        next=(
            encode([following.issued_at.isoformat(), str(following.id)], at, query_id)
            if following
            else None
        ),
    )


def _achievement(public_url: str, value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return own_achievement(public_url, value)
    except InvalidInput as error:
        raise InvalidInput(
            error.detail.replace("achievementId", "achievement"), field=("achievement",)
        ) from None


def _position(parts: list[str]) -> Position:
    refused = InvalidInput("cursor is not one this query returned", field=("cursor",))
    try:
        position = Position(datetime.fromisoformat(parts[0]), uuid.UUID(parts[1]))
    except ValueError:
        raise refused from None
    if position.issued_at.tzinfo is None:
        raise refused
    return position


def _out(public_url: str, item: IssuedItem) -> IssuedCredentialOut:
    return IssuedCredentialOut(
        id=str(item.id),
        url=f"{public_url}/credentials/{item.id}",
        achievement_id=str(item.achievement_id) if item.achievement_id else None,
        achievement_name=item.achievement_name,
        recipient_name=item.recipient_name,
        issued_at=item.issued_at,
        valid_from=item.valid_from,
        valid_until=item.valid_until,
        status=item.status.value,
    )
