"""The public curated list of an agency: JSON feed and page, no sign-in.

Caching: both carry a weak ETag of the list's content (the same list read at another moment
is the same list) and answer `If-None-Match` with 304. The list of a date already past is
fixed (decisions recorded later never enter it) and may be kept an hour; the list of now or
a date to come, a minute.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.deps import Session, State
from app.pages import PAGE_HEADERS, http_url, render, when
from badges.policy.curated_list import (
    CuratedList,
    curated_list,
)
from schemas.api.base import AwareDatetime
from schemas.api.providers import (
    CuratedAgencyOut,
    CuratedListOut,
    CuratedMicroCredentialOut,
    CuratedProviderOut,
    CuratedPurposeOut,
)

router = APIRouter(tags=["curated list"])
PurposeParam = Annotated[
    str | None,
    Query(max_length=32, description="Only this purpose (its key); default every purpose."),
]
AtParam = Annotated[
    AwareDatetime | None,
    Query(description="The list as it stood on this date (default now)."),
]
_NOT_MODIFIED: Final[dict[int | str, dict[str, Any]]] = {
    304: {"description": "Unchanged since the ETag given in If-None-Match"}
}
# Seconds a client may reuse the list of a date already past, and of now.
PAST_MAX_AGE: Final = 3600
CURRENT_MAX_AGE: Final = 60


@router.get(
    "/agencies/{slug}/curated.json",
    response_model=CuratedListOut,
    responses=_NOT_MODIFIED,
)
async def curated_json(
    slug: str,
    request: Request,
    session: Session,
    state: State,
    purpose: PurposeParam = None,
    at: AtParam = None,
) -> Response:
    """The MCs a state agency has approved, per purpose, and its approved providers, on a
    date: a public feed (`slug`: the agency's issuer profile)."""
    listing = await _listing(session, state, slug, purpose, at)
    document = _out(state.settings.public_url, listing).model_dump(mode="json", by_alias=True)
    tag = _etag("json", {key: value for key, value in document.items() if key != "asOf"})
    headers = _cache_headers(tag, at) | {"Access-Control-Allow-Origin": "*"}
    if _matches(request, tag):
        return Response(status_code=304, headers=headers)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/agencies/{slug}/curated",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **_NOT_MODIFIED},
)
async def curated_page(
    slug: str,
    request: Request,
    session: Session,
    state: State,
    purpose: PurposeParam = None,
    at: AtParam = None,
) -> Response:
    """The curated list as a page for people."""
    listing = await _listing(session, state, slug, purpose, at)
    out = _out(state.settings.public_url, listing)
    tag = _etag("html", out.model_dump(mode="json", by_alias=True, exclude={"as_of"}))
    headers = PAGE_HEADERS | _cache_headers(tag, at)
    if _matches(request, tag):
        return Response(status_code=304, headers=headers)
    page = f"/agencies/{slug}/curated"
    return render(
        "curated_list.html",
        headers=headers,
        listing=listing,
        as_of=when(listing.at.isoformat()),
        given_at=at is not None,
        when=lambda moment: when(moment.isoformat()) if moment else None,
        http_url=http_url,
        json_url=f"/agencies/{slug}/curated.json{_query(purpose, at)}",
        every_purpose=None if purpose is None else f"{page}{_query(None, at)}",
        purpose_links=[]
        if purpose is not None
        else [(item.name, f"{page}{_query(item.key, at)}") for item in listing.purposes],
    )


def _query(purpose: str | None, at: datetime | None) -> str:
    given = {"purpose": purpose, "at": at.isoformat() if at else None}
    query = urlencode({name: value for name, value in given.items() if value is not None})
    return f"?{query}" if query else ""


async def _listing(
    session: Session, state: State, slug: str, purpose: str | None, at: datetime | None
) -> CuratedList:
    return await curated_list(
        session, state.settings.public_url, slug, at or datetime.now(UTC), purpose
    )


def _out(public_url: str, listing: CuratedList) -> CuratedListOut:
    return CuratedListOut(
        agency=CuratedAgencyOut(
            slug=listing.slug,
            name=listing.agency,
            state=listing.state,
            profile=f"{public_url}/issuers/{listing.slug}",
        ),
        as_of=listing.at,
        purposes=[
            CuratedPurposeOut(
                purpose=item.key,
                name=item.name,
                micro_credentials=[
                    CuratedMicroCredentialOut(
                        achievement_id=mc.achievement_iri,
                        name=mc.name,
                        provider=mc.provider,
                        approved_since=mc.approved_since,
                        approved_until=mc.approved_until,
                    )
                    for mc in item.mcs
                ],
            )
            for item in listing.purposes
        ],
        providers=[
            CuratedProviderOut(
                issuer_id=item.issuer_iri,
                name=item.name,
                url=item.url,
                approved_since=item.approved_since,
            )
            for item in listing.providers
        ],
    )


def _etag(form: str, content: Any) -> str:
    digest = hashlib.sha256(
        json.dumps([form, content], sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f'W/"{digest[:32]}"'


def _matches(request: Request, tag: str) -> bool:
    """If-None-Match by weak comparison (RFC 9110 §13.1.2)."""
    given = request.headers.get("if-none-match")
    if not given:
        return False
    wanted = tag.removeprefix("W/")
    return any(
        item.strip() == "*" or item.strip().removeprefix("W/") == wanted
        for item in given.split(",")
    )


def _cache_headers(tag: str, at: datetime | None) -> dict[str, str]:
    # A moment in the last minute may still gain a decision being committed now.
    past = at is not None and at < datetime.now(UTC) - timedelta(minutes=1)
    max_age = PAST_MAX_AGE if past else CURRENT_MAX_AGE
    return {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
