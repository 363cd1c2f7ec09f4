"""An issuer's machine access, for its admins: API clients (create with the secret shown
once, revoke, rotate the secret) and webhooks with their deliveries. The domain functions
are those the CLI and `/v1/webhooks` use."""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse

from app.console.auth import NotAMember, ProviderAdmin, ProviderContext, check_csrf
from app.console.provider import area, provider_page
from app.deps import Session, State
from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuers.clients import (
    PROVIDER_SCOPES,
    create_client,
    find_client,
    list_clients,
    revoke_client,
    rotate_client_secret,
)
from badges.issuing.console_client import console_client
from badges.webhooks.subscriptions import (
    EVENT_TYPES,
    UrlPolicy,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_deliveries,
    list_subscriptions,
)
from storage.models import Client

router = APIRouter(tags=["console"], include_in_schema=False)
_CLIENTS: Final = "/console/issuers/{slug}/clients"
_WEBHOOKS: Final = "/console/issuers/{slug}/webhooks"
# The console's own client (what console issuing is recorded under) is no one's to manage.
_CONSOLE_PREFIX: Final = "console_"


async def _clients_page(
    who: ProviderContext,
    session: Session,
    *,
    status_code: int = 200,
    secret: tuple[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    listed = await list_clients(session, who.issuer)
    return provider_page(
        who,
        "console/clients.html",
        "/clients",
        status_code,
        clients=[c.client for c in listed if not c.client.client_id.startswith(_CONSOLE_PREFIX)],
        scopes=PROVIDER_SCOPES,
        secret=secret,
        error=error,
        notice=notice,
    )


@router.get(_CLIENTS)
async def clients(who: ProviderAdmin, session: Session, revoked: str = "") -> Response:
    """The issuer's API clients (never their secrets), revoked ones included."""
    notice = f"Client {revoked} is revoked; its tokens no longer work." if revoked else None
    return await _clients_page(who, session, notice=notice)


@router.post(_CLIENTS)
async def new_client(
    who: ProviderAdmin,
    session: Session,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    scope: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a client; its secret is shown on the answer page, this once."""
    check_csrf(who, csrf)
    label = name.strip()
    try:
        if not label or len(label) > 200 or any(ord(c) < 32 for c in label):
            raise InvalidInput("give the client a name of at most 200 characters")
        created = await create_client(session, who.issuer, label, scope or ())
    except DomainError as error:
        return await _clients_page(who, session, status_code=422, error=error.detail)
    return await _clients_page(who, session, secret=(created.client.client_id, created.secret))


async def _own_client(session: Session, who: ProviderContext, client_id: str) -> Client:
    found = await find_client(session, client_id)
    if (
        found is None
        or found.issuer_id != who.issuer.id
        or found.client_id.startswith(_CONSOLE_PREFIX)
    ):
        raise NotAMember()
    return found


@router.post(_CLIENTS + "/{client_id}/revoke")
async def revoke(
    who: ProviderAdmin, session: Session, client_id: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Disable the client for good and end its tokens."""
    check_csrf(who, csrf)
    await _own_client(session, who, client_id)
    await revoke_client(session, client_id)
    return RedirectResponse(area(who, f"/clients?revoked={client_id}"), status_code=303)


@router.post(_CLIENTS + "/{client_id}/rotate")
async def rotate(
    who: ProviderAdmin, session: Session, client_id: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    """A new secret, shown this once; the old one and its tokens stop working."""
    check_csrf(who, csrf)
    await _own_client(session, who, client_id)
    try:
        rotated = await rotate_client_secret(session, client_id)
    except DomainError as error:
        return await _clients_page(who, session, status_code=error.status_code, error=error.detail)
    return await _clients_page(who, session, secret=(client_id, rotated.secret))


# --- webhooks ----------------------------------------------------------------------------


async def _webhooks_page(
    who: ProviderContext,
    session: Session,
    *,
    status_code: int = 200,
    secret: str | None = None,
    error: str | None = None,
    url: str = "",
) -> Response:
    return provider_page(
        who,
        "console/webhooks.html",
        "/webhooks",
        status_code,
        webhooks=await list_subscriptions(session, who.issuer),
        events=EVENT_TYPES,
        secret=secret,
        error=error,
        url=url,
    )


@router.get(_WEBHOOKS)
async def webhooks(who: ProviderAdmin, session: Session) -> Response:
    """Where credential events are sent."""
    return await _webhooks_page(who, session)


@router.post(_WEBHOOKS)
async def new_webhook(
    who: ProviderAdmin,
    session: Session,
    state: State,
    csrf: Annotated[str, Form()] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    event: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Send credential events to a URL; its signing secret is shown this once."""
    check_csrf(who, csrf)
    policy = UrlPolicy(
        allow_http=state.settings.webhooks_allow_http,
        allow_private=state.settings.webhooks_allow_private,
    )
    try:
        client = await console_client(session, who.issuer)
        created = await create_subscription(
            session, state.vault, who.issuer, client, url, event or None, policy
        )
    except DomainError as error:
        return await _webhooks_page(who, session, status_code=422, error=error.detail, url=url)
    return await _webhooks_page(who, session, secret=created.secret)


@router.post(_WEBHOOKS + "/{webhook_id}/delete")
async def remove_webhook(
    who: ProviderAdmin,
    session: Session,
    webhook_id: uuid.UUID,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Stop sending to a URL; its undelivered events are dropped."""
    check_csrf(who, csrf)
    try:
        await delete_subscription(session, who.issuer, webhook_id)
    except NotFound:
        raise NotAMember() from None
    return RedirectResponse(area(who, "/webhooks"), status_code=303)


@router.get(_WEBHOOKS + "/{webhook_id}")
async def deliveries(who: ProviderAdmin, session: Session, webhook_id: uuid.UUID) -> Response:
    """A webhook's latest deliveries: state, attempts, last answer, next try."""
    try:
        subscription = await get_subscription(session, who.issuer, webhook_id)
        rows = await list_deliveries(session, who.issuer, webhook_id, 100)
    except NotFound:
        raise NotAMember() from None
    return provider_page(
        who,
        "console/deliveries.html",
        "/webhooks",
        webhook=subscription,
        deliveries=rows,
    )
