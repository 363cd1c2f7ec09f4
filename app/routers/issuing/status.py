"""Bitstring Status Lists (public) and status changes and history (providers)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.deps import Provider, RequireScopes, Session, State
from app.negotiation import JWT, VC_LD_JSON, preferred
from app.state import ServiceState
from app.status_cache import VC_JWT, Form, Prepared, StatusListCache
from badges.errors import InvalidInput, NotFound
from badges.status.status_changes import (
    Action,
    StatusAnswer,
    change_status,
    status_at,
)
from badges.status.status_lists import backfill_jwt
from schemas.api.base import ApiDatetime
from schemas.api.status import EventOut, StatusChangeIn, StatusOut
from storage.session import transaction

router = APIRouter(tags=["status"])
Revoker = Annotated[Provider, Depends(RequireScopes("credentials:revoke"))]
Reader = Annotated[Provider, Depends(RequireScopes("credentials:read"))]


def list_cache(request: Request) -> StatusListCache:
    """This app's copies of the status lists it serves (made on first use)."""
    cache: StatusListCache | None = getattr(request.app.state, "status_lists", None)
    if cache is None:
        state: ServiceState = request.app.state.lattice
        cache = request.app.state.status_lists = StatusListCache(state.engine)
    return cache


# Served from memory (app/status_cache.py): no session, no dependency, headers made once.
# A change is in the served list within 1 s on every worker, at once on the one that made it.
@router.get(
    "/status/{slug}/{list_id}",
    response_class=Response,
    responses={
        200: {"content": {VC_LD_JSON: {}, VC_JWT: {}, JWT: {}}},
        304: {"description": "Unchanged"},
    },
)
async def status_list(slug: str, list_id: uuid.UUID, request: Request) -> Response:
    """The signed BitstringStatusListCredential (ETag / If-None-Match supported);
    `Accept: application/vc+jwt` or `application/jwt` (or no Accept at all) for its VC-JWT.
    A change of status is served within 1 s."""
    media_type = _list_media_type(request)
    cache = list_cache(request)
    listed = await cache.get(slug, list_id)
    if listed is None:
        raise NotFound(f"no status list {list_id} of issuer {slug!r}")
    form = listed.forms.get(media_type)
    if form is None:  # a list last signed before lists had a VC-JWT form
        form = await _backfilled(request, cache, slug, list_id, media_type)
    if form.etag in _tags(request.headers.get("if-none-match")):
        return Prepared(304, b"", form.not_modified_headers)
    return Prepared(200, form.body, form.ok_headers)


async def _backfilled(
    request: Request, cache: StatusListCache, slug: str, list_id: uuid.UUID, media_type: str
) -> Form:
    """Sign the list's missing VC-JWT form (committed before the cache reloads it)."""
    state: ServiceState = request.app.state.lattice
    async with transaction(state.sessions) as session:
        await backfill_jwt(session, state.settings.public_url, state.vault, list_id)
    cache.forget_issuer(slug)
    listed = await cache.get(slug, list_id)
    if listed is None:
        raise NotFound(f"no status list {list_id} of issuer {slug!r}")
    return listed.forms[media_type]


def _tags(if_none_match: str | None) -> list[str]:
    return if_none_match.replace(" ", "").split(",") if if_none_match else []


def _list_media_type(request: Request) -> str:
    """The form of the list to send.

    A request with no Accept header at all gets the VC-JWT: openbadgeslib fetches lists with
    urllib, which sends none, and reads (and verifies) a list only as a VC-JWT. RFC 9110
    §12.5.1 lets a server send any form then. Any stated preference, even `*/*`, gets the
    JSON-LD credential unless it ranks a JWT type first."""
    if "accept" not in request.headers:
        return JWT
    chosen = preferred(
        request, [VC_LD_JSON, "application/ld+json", "application/json", VC_JWT, JWT]
    )
    return chosen if chosen in (VC_JWT, JWT) else VC_LD_JSON


def _out(answer: StatusAnswer) -> StatusOut:
    return StatusOut(
        credential_id=str(answer.credential_id),
        at=answer.at,
        status=answer.standing.value,
        validity=answer.validity.value,
        in_good_standing=answer.in_good_standing,
        events=[
            EventOut(
                event_type=e.event_type, occurred_at=e.occurred_at, actor=e.actor, reason=e.reason
            )
            for e in answer.events
        ],
    )


async def _change(
    action: Action,
    credential_id: uuid.UUID,
    body: StatusChangeIn,
    provider: Provider,
    session: Session,
    state: State,
    request: Request,
) -> StatusOut:
    answer = await change_status(
        session,
        state.settings.public_url,
        state.vault,
        provider.issuer,
        credential_id,
        action,
        actor=provider.client.client_id,
        reason=body.reason,
    )
    # Committed here, not after the handler, so that the cache can be told once the new
    # list is in the database: a fetch in between could otherwise keep the old one.
    await session.commit()
    list_cache(request).forget_issuer(provider.issuer.slug)
    return _out(answer)


def _status_route(action: Action, summary: str) -> None:
    """POST /v1/credentials/{id}/<action>: the three status changes share one handler."""

    async def change(
        credential_id: uuid.UUID,
        body: StatusChangeIn,
        provider: Revoker,
        session: Session,
        state: State,
        request: Request,
    ) -> StatusOut:
        return await _change(action, credential_id, body, provider, session, state, request)

    change.__doc__ = summary
    router.add_api_route(
        f"/v1/credentials/{{credential_id}}/{action.value}",
        change,
        methods=["POST"],
        name=action.value,
        response_model=StatusOut,
        response_model_by_alias=True,
    )


_status_route(
    Action.REVOKE, "Revoke a credential (final). Verifiers see it in the list within 1 s."
)
_status_route(Action.SUSPEND, "Suspend a credential until it is unsuspended.")
_status_route(Action.UNSUSPEND, "Lift a suspension.")


@router.get(
    "/v1/credentials/{credential_id}/status", response_model=StatusOut, response_model_by_alias=True
)
async def status(
    credential_id: uuid.UUID,
    provider: Reader,
    session: Session,
    at: Annotated[
        ApiDatetime | None, Query(description="Moment to answer for (default now).")
    ] = None,
) -> StatusOut:
    """Was the credential in good standing at `at`? Answered from the event log."""
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at must carry a time zone", field=("at",))
    return _out(await status_at(session, provider.issuer, credential_id, at))
