"""Bitstring Status Lists (public) and status changes and history (providers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from app.deps import Provider, RequireScopes, Session, State
from app.negotiation import JWT, VC_LD_JSON, preferred
from badges.errors import InvalidInput, NotFound
from badges.status_changes import Action, StatusAnswer, change_status, status_at
from badges.status_lists import backfill_jwt, jwt_etag
from schemas.api.status import EventOut, StatusChangeIn, StatusOut
from storage.models import Issuer, StatusList

router = APIRouter(tags=["status"])
Revoker = Annotated[Provider, Depends(RequireScopes("credentials:revoke"))]
Reader = Annotated[Provider, Depends(RequireScopes("credentials:read"))]
# Verifiers may reuse a list this long; a revocation is visible to new fetches at once.
_LIST_MAX_AGE = 60
# VC-JOSE-COSE: a VCDM 2.0 credential secured as a JWT.
VC_JWT = "application/vc+jwt"


@router.get(
    "/status/{slug}/{list_id}",
    response_class=Response,
    responses={
        200: {"content": {VC_LD_JSON: {}, VC_JWT: {}, JWT: {}}},
        304: {"description": "Unchanged"},
    },
)
async def status_list(
    slug: str, list_id: uuid.UUID, request: Request, session: Session, state: State
) -> Response:
    """The signed BitstringStatusListCredential (ETag / If-None-Match supported);
    `Accept: application/vc+jwt` or `application/jwt` (or no Accept at all) for its VC-JWT."""
    media_type = _list_media_type(request)
    wants_jwt = media_type != VC_LD_JSON
    body_column = StatusList.jwt if wants_jwt else StatusList.document
    found = (
        await session.execute(
            select(body_column, StatusList.etag)
            .join(Issuer, Issuer.id == StatusList.issuer_id)
            .where(StatusList.id == list_id, Issuer.slug == slug)
        )
    ).first()
    if found is None:
        raise NotFound(f"no status list {list_id} of issuer {slug!r}")
    body, etag = found
    if wants_jwt and body is None:  # a list last signed before lists had a VC-JWT form
        row = await backfill_jwt(session, state.settings.public_url, state.vault, list_id)
        body, etag = row.jwt, row.etag
    if wants_jwt:
        etag = jwt_etag(etag)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={_LIST_MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
        # The same URL answers JSON-LD or a JWT: caches must key on Accept.
        "Vary": "Accept",
    }
    if etag in request.headers.get("if-none-match", "").replace(" ", "").split(","):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


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
    return _out(answer)


def _status_route(action: Action, summary: str) -> None:
    """POST /v1/credentials/{id}/<action>: the three status changes share one handler."""

    async def change(
        credential_id: uuid.UUID,
        body: StatusChangeIn,
        provider: Revoker,
        session: Session,
        state: State,
    ) -> StatusOut:
        return await _change(action, credential_id, body, provider, session, state)

    change.__doc__ = summary
    router.add_api_route(
        f"/v1/credentials/{{credential_id}}/{action.value}",
        change,
        methods=["POST"],
        name=action.value,
        response_model=StatusOut,
        response_model_by_alias=True,
    )


_status_route(Action.REVOKE, "Revoke a credential (final). Verifiers see it in the list at once.")
_status_route(Action.SUSPEND, "Suspend a credential until it is unsuspended.")
_status_route(Action.UNSUSPEND, "Lift a suspension.")


@router.get(
    "/v1/credentials/{credential_id}/status", response_model=StatusOut, response_model_by_alias=True
)
async def status(
    credential_id: uuid.UUID,
    provider: Reader,
    session: Session,
    at: Annotated[datetime | None, Query(description="Moment to answer for (default now).")] = None,
) -> StatusOut:
    """Was the credential in good standing at `at`? Answered from the event log."""
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at must carry a time zone", field=("at",))
    return _out(await status_at(session, provider.issuer, credential_id, at))
