"""Wallets: the teacher's "Add to a wallet app" page, the VC-API exchange and OpenID4VCI.

The page (signed-in teacher) makes a VC-API exchange and an OpenID4VCI offer for one of her
badges and shows each as a link and an SVG QR code. The protocol endpoints are for wallets:
they carry no session, only what the link or offer handed out. Protocol logic lives in
`badges.wallets.wallet_exchange` and `badges.wallets.oid4vci`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Annotated, Any, Final

import segno
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.declared import OID4VCI_BEARER, Declares, request_body
from app.deps import SecurityRequirement, State, get_session
from app.pages import PAGE_HEADERS, render
from app.routers.wallets.teacher import (
    SignedIn,
    Teacherly,
)
from badges.errors import InvalidInput
from badges.wallets import (
    oid4vci,
    oid4vci_credential,
)
from badges.wallets.teachers import teacher_credential
from badges.wallets.wallet_credentials import (
    NotReissuable,
    check_reissuable,
)
from badges.wallets.wallet_exchange import (
    ExchangeRejected,
    exchange_url,
    lcw_deep_link,
    participate,
    start_exchange,
)
from schemas.api.hand_read import (
    CredentialRequestIn,
    ExchangeMessageIn,
    PreAuthorizedTokenForm,
)
from storage.models import Credential
from verification.resolvers import CompositeResolver, DidJwkResolver, DidKeyResolver

router = APIRouter(tags=["wallets"])
# Holders prove did:key or did:jwk keys: both resolve from the identifier, no network.
HOLDER_KEYS: Final = CompositeResolver([DidKeyResolver(), DidJwkResolver()])
NO_STORE: Final = {"Cache-Control": "no-store"}
# Committed before the answer leaves, not after (`app.deps.Session` commits once the response
# is sent): a wallet acts on each answer at once, and must find what it names.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


# --- the teacher's page ---------------------------------------------------------------------


def _qr(text: str, title: str) -> Markup:
    """An inline SVG QR code (medium error correction: survives a glare on a phone screen)."""
    svg = segno.make(text, error="m").svg_inline(scale=4, border=4, title=title)
    # Announced as one image by its title; segno's own markup (`text` becomes modules only).
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704


def _badge_name(row: Credential) -> str:
    document = json.loads(row.document)
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    return str(achievement.get("name") or document.get("name") or "Badge")


def _page(who: SignedIn, row: Credential, status_code: int = 200, **context: Any) -> Response:
    return render(
        "teacher_wallet.html",
        status_code,
        headers={**PAGE_HEADERS, **NO_STORE},
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        current="/teacher",
        badge_id=str(row.id),
        name=_badge_name(row),
        **context,
    )


@router.get("/teacher/badges/{credential_id}/wallet", include_in_schema=False)
async def wallet_page(credential_id: uuid.UUID, who: Teacherly, session: Session) -> Response:
    """Explain wallets and offer to make the links (a POST: they are single-use)."""
    row = await teacher_credential(session, who.teacher, credential_id)
    try:
        await check_reissuable(session, row)
    except NotReissuable as error:
        return _page(who, row, problem=error.detail)
    return _page(who, row)


@router.post("/teacher/badges/{credential_id}/wallet", include_in_schema=False)
async def wallet_links(
    credential_id: uuid.UUID,
    who: Teacherly,
    session: Session,
    state: State,
    csrf: Annotated[str, Form()],
    pin: Annotated[str | None, Form()] = None,
) -> Response:
    """A new VC-API exchange and OpenID4VCI offer for the badge, as links and QR codes."""
    if not secrets.compare_digest(who.row.csrf_token, csrf):
        raise InvalidInput("the form expired; reload the page and try again", field=("csrf",))
    row = await teacher_credential(session, who.teacher, credential_id)
    public = state.settings.public_url
    try:
        offer = await oid4vci.create_offer(
            session, public, who.teacher, row, with_tx_code=pin is not None
        )
    except NotReissuable as error:
        return _page(who, row, 422, problem=error.detail)
    exchange = await start_exchange(session, who.teacher, row)
    lcw = lcw_deep_link(public, exchange)
    return _page(
        who,
        row,
        lcw=lcw,
        lcw_qr=_qr(lcw, "QR code for the Learner Credential Wallet"),
        exchange_url=exchange_url(public, exchange.id),
        offer_link=offer.link,
        offer_qr=_qr(offer.link, "QR code of the OpenID4VCI credential offer"),
        tx_code=offer.tx_code,
        expires=min(offer.expires_at, exchange.expires_at),
    )


# --- W3C VC-API exchange -------------------------------------------------------------------


@router.post(
    "/exchanges/{exchange_id}",
    tags=["vc-api"],
    openapi_extra=request_body({"application/json": ExchangeMessageIn}, required=False),
)
async def exchange(
    exchange_id: uuid.UUID, request: Request, session: Session, state: State
) -> JSONResponse:
    """Participate in a wallet exchange: `{}` gets a DIDAuth request; a VP proving a DID gets
    the badge re-issued to that DID, in a `verifiablePresentation`."""
    raw = await request.body()
    try:
        message = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ExchangeRejected("the body is not JSON") from None
    step = await participate(session, state.issuing, HOLDER_KEYS, exchange_id, message)
    return JSONResponse(step.body, headers=NO_STORE)


# --- OpenID for Verifiable Credential Issuance ----------------------------------------------


def _oauth_error(error: oid4vci.OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if error.bearer:
        headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return JSONResponse(error.as_json(), status_code=error.status_code, headers=headers)


@router.get("/.well-known/openid-credential-issuer", tags=["oid4vci"])
async def credential_issuer_metadata(state: State) -> JSONResponse:
    """OpenID4VCI Credential Issuer Metadata: Open Badges as `ldp_vc` and `jwt_vc_json`."""
    return JSONResponse(oid4vci.issuer_metadata(state.settings.public_url))


@router.get("/.well-known/oauth-authorization-server/oid4vci", tags=["oid4vci"])
async def authorization_server_metadata(state: State) -> JSONResponse:
    """RFC 8414 metadata of the authorization server for the pre-authorized code flow."""
    return JSONResponse(oid4vci.authorization_server_metadata(state.settings.public_url))


@router.post(
    "/oid4vci/token",
    tags=["oid4vci"],
    openapi_extra=request_body({"application/x-www-form-urlencoded": PreAuthorizedTokenForm}),
)
async def token(request: Request, session: Session) -> JSONResponse:
    """Token Request with a pre-authorized code (and transaction code, if the offer asks)."""
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        answer = await oid4vci.exchange_code(session, fields)
    except oid4vci.OAuthError as error:
        # Kept on purpose: a wrong transaction code counts against the offer.
        return _oauth_error(error)
    return JSONResponse(answer, headers=NO_STORE)


@router.post("/oid4vci/nonce", tags=["oid4vci"])
async def nonce(session: Session) -> JSONResponse:
    """A fresh `c_nonce` for the key proof of the next Credential Request (a POST that
    takes no body, so none is declared)."""
    return JSONResponse(await oid4vci.new_nonce(session), headers=NO_STORE)


@router.post(
    "/oid4vci/credential",
    tags=["oid4vci"],
    # The token is checked by `oid4vci_credential` (errors in the OpenID4VCI format).
    dependencies=[Depends(Declares(SecurityRequirement(OID4VCI_BEARER, ())))],
    openapi_extra=request_body({"application/json": CredentialRequestIn}),
)
async def credential(request: Request, session: Session, state: State) -> JSONResponse:
    """Credential Request: a `jwt` proof of the holder key; the badge bound to its DID."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    try:
        answer = await oid4vci_credential.issue_credential(
            session,
            state.issuing,
            HOLDER_KEYS,
            request.headers.get("authorization"),
            body,
        )
    except oid4vci.OAuthError as error:
        await session.rollback()  # nothing of a refused request is kept (nonce included)
        return _oauth_error(error)
    return JSONResponse(answer, headers=NO_STORE)
