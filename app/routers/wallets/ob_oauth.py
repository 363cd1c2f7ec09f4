"""OAuth 2.0 for teachers' apps on the OB 3.0 API (OB 3.0 §7): RFC 7591 registration,
the authorization endpoint (her sign-in, then a consent page), the authorization code and
refresh token grants of `POST /oauth/token` (see `app.routers.issuing.oauth`), RFC 7009 revocation.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.declared import request_body
from app.deps import Session, State
from app.ob_authorization import AppRequest, AppServer, Registration, json_request
from app.pages import http_url, render
from app.problems import validation_errors
from app.routers.wallets.teacher import SESSION_COOKIE
from badges.wallets.ob_clients import (
    OB_SCOPES,
    OFFLINE_ACCESS,
    CodeRequest,
    TokenLifetimes,
    consume_code,
    digest,
    find_by_refresh_token,
    find_client,
    find_code,
    find_token,
    register_client,
    retire_token,
    revoke_grant,
    revoke_token,
    store_code,
    store_token,
)
from badges.wallets.teachers import current_session
from schemas.api.hand_read import ClientMetadataIn, RevocationForm
from storage.models import Teacher

router = APIRouter(prefix="/oauth", tags=["oauth"])
APP_GRANT_TYPES: Final = frozenset({"authorization_code", "refresh_token"})
# The authorization request waiting for her to sign in: too long for the sign-in `next`.
PENDING_COOKIE: Final = "lattice_authorize"
_PAGE_HEADERS: Final = {
    # No `form-action`: approving redirects to the app, which browsers check against it.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src https: data:; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
SCOPE_TEXT: Final = {
    OB_SCOPES[0]: "See your badges",
    OB_SCOPES[1]: "Add badges to your account, and update badges it holds",
    OB_SCOPES[2]: "See your profile (your name and the e-mail address you chose to publish)",
    OB_SCOPES[3]: "Change your profile",
    OFFLINE_ACCESS: "Keep this access until you revoke it, without asking you again",
}


def oauth_json(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    content = body if isinstance(body, str) else json.dumps(body)
    response = Response(content, status_code=status, media_type="application/json")
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _url(state: State, path: str) -> str:
    return f"{state.settings.public_url}{path}"


def _access_lifetime(state: State) -> timedelta:
    return timedelta(seconds=state.settings.ob_api_token_ttl_seconds)


@router.post(
    "/register",
    status_code=201,
    summary="Register an app (RFC 7591)",
    openapi_extra=request_body({"application/json": ClientMetadataIn}),
)
async def register(request: Request, session: Session, state: State) -> Response:
    """Dynamic client registration for OB 3.0 API clients; no initial access token."""
    try:
        data = json.loads(await request.body())
    except ValueError:
        data = None
    endpoint = Registration()
    try:
        _check_types(data)
        status, body, headers = endpoint.create_registration_response(
            json_request(_url(state, "/oauth/register"), request.headers, data)
        )
    except OAuth2Error as error:
        return oauth_json(*error())
    assert endpoint.saved is not None
    info, metadata = endpoint.saved
    await register_client(session, info["client_id"], info["client_secret"], metadata)
    return oauth_json(status, body, headers)


def _check_types(data: Any) -> None:
    """Each member of the types RFC 7591 §2 gives it (a string, an array of strings), before
    authlib reads them: it assumes those types (a number as `scope` would crash it)."""
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("the body must be a JSON object of client metadata")
    try:
        ClientMetadataIn.model_validate(data, strict=True)
    except ValidationError as error:
        first = validation_errors(error.errors())[0]
        message = f"{first['field']}: {first['detail']}"
        # RFC 7591 §3.2.2: a bad redirection URI has an error code of its own.
        if first["field"].startswith("redirect_uris"):
            raise InvalidRedirectURIError(message) from None
        raise InvalidClientMetadataError(message) from None


# --- authorization endpoint --------------------------------------------------------------


def _error_page(status: int, error: str, description: str) -> Response:
    return render(
        "oauth_error.html",
        status_code=status,
        headers=_PAGE_HEADERS,
        error=error,
        description=description,
    )


def _authorization_error(error: OAuth2Error) -> Response:
    """To the app when its redirect URI was verified; otherwise a page (RFC 6749 §4.1.2.1:
    never redirect to an unverified URI)."""
    if error.redirect_uri:
        _, _, headers = error()
        return RedirectResponse(dict(headers)["Location"], status_code=302)
    return _error_page(400, error.error or "invalid_request", error.description or "")


def _to_sign_in(state: State, params: list[tuple[str, str]]) -> Response:
    response = RedirectResponse("/teacher/sign-in?next=/oauth/authorize", status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        urlencode(params),
        max_age=state.settings.sign_in_code_minutes * 60 + 300,
        httponly=True,
        samesite="lax",
        secure=state.settings.public_url.startswith("https://"),
        path="/oauth/authorize",
    )
    return response


async def _server_for(session: Session, state: State, client_id: str | None) -> AppServer:
    client = await find_client(session, client_id)
    return AppServer(client, access_lifetime=_access_lifetime(state))


@router.get("/authorize", include_in_schema=False)
async def authorize(request: Request, session: Session, state: State) -> Response:
    """Check the app's request, have her sign in, then ask her consent."""
    params = list(request.query_params.multi_items())
    pending = request.cookies.get(PENDING_COOKIE)
    if not params and pending:
        resumed = RedirectResponse(f"/oauth/authorize?{pending}", status_code=303)
        resumed.delete_cookie(PENDING_COOKIE, path="/oauth/authorize")
        return resumed
    server = await _server_for(session, state, request.query_params.get("client_id"))
    try:
        oauth_request = AppRequest("GET", _url(state, "/oauth/authorize"), request.headers, params)
        grant = server.get_consent_grant(oauth_request)
    except OAuth2Error as error:
        return _authorization_error(error)
    found = await current_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        return _to_sign_in(state, params)
    teacher, signed_in = found
    client = server.client
    assert client is not None
    scopes = grant.request.scope.split()
    return render(
        "oauth_consent.html",
        headers=_PAGE_HEADERS,
        client=client,
        client_uri=http_url(client.client_metadata.get("client_uri")),
        scopes=[(scope, SCOPE_TEXT.get(scope, scope)) for scope in scopes],
        params=params,
        csrf=signed_in.csrf_token,
        who=_label(teacher),
    )


def _label(teacher: Teacher) -> str:
    labels = [item.label for item in teacher.identifiers if item.kind == "email"]
    return teacher.display_name or (labels[0] if labels else "you")


@router.post("/authorize", include_in_schema=False)
async def decide(request: Request, session: Session, state: State) -> Response:
    """Her answer: approve sends the app a code, deny sends it `access_denied`."""
    form = await request.form()
    params = [
        (name, str(value)) for name, value in form.multi_items() if name not in ("csrf", "decision")
    ]
    found = await current_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        return _to_sign_in(state, params)
    teacher, signed_in = found
    if not secrets.compare_digest(str(form.get("csrf", "")), signed_in.csrf_token):
        return _error_page(400, "invalid_request", "The form expired; start again from the app.")
    server = await _server_for(session, state, dict(params).get("client_id"))
    try:
        oauth_request = AppRequest("POST", _url(state, "/oauth/authorize"), request.headers, params)
        grant = server.get_consent_grant(oauth_request, end_user=teacher)
    except OAuth2Error as error:
        return _authorization_error(error)
    approved = form.get("decision") == "approve"
    _, _, headers = server.create_authorization_response(
        oauth_request, grant_user=teacher if approved else None, grant=grant
    )
    if server.new_code is not None and server.client is not None:
        code, approved_request = server.new_code
        data = approved_request.payload.data  # as authlib validated it
        await store_code(
            session,
            code,
            CodeRequest(
                client=server.client,
                teacher_id=teacher.id,
                redirect_uri=data["redirect_uri"],
                scope=approved_request.scope,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
            ),
        )
    return RedirectResponse(dict(headers)["Location"], status_code=302)


# --- token (authorization_code, refresh_token) and revocation ----------------------------


async def app_token(
    request: Request, form: dict[str, str], session: Session, state: State
) -> Response:
    """`POST /oauth/token` for teachers' apps: a code (with its PKCE verifier) or a refresh
    token for a new access token and refresh token."""
    client_id, _ = extract_basic_authorization(request.headers)
    grant_type = form.get("grant_type")
    code = (
        await find_code(session, form.get("code")) if grant_type == "authorization_code" else None
    )
    token = (
        await find_by_refresh_token(session, form.get("refresh_token"))
        if grant_type == "refresh_token"
        else None
    )
    server = AppServer(
        await find_client(session, client_id),
        access_lifetime=_access_lifetime(state),
        code=code,
        token=token,
    )
    try:  # InsecureTransportError: a public URL neither https nor loopback
        oauth_request = AppRequest(
            "POST", _url(state, "/oauth/token"), request.headers, form.items()
        )
    except OAuth2Error as error:
        return oauth_json(*error())
    status, body, headers = server.create_token_response(oauth_request)
    if server.replayed_grant is not None:
        await revoke_grant(session, server.replayed_grant)
    if server.issued is None or server.client is None:
        return oauth_json(status, body, headers)
    # The conditional update decides between two requests racing with one code or token.
    if code is not None:
        won, teacher_id = await consume_code(session, code), code.teacher_id
    elif token is not None:
        won, teacher_id = await retire_token(session, token), token.teacher_id
    else:  # authlib issued a token without a code or refresh token: never
        raise RuntimeError(f"token issued for grant type {grant_type!r} without a grant")
    if not won:
        await revoke_grant(session, server.grant_id)
        return oauth_json(400, {"error": "invalid_grant", "error_description": "already used"}, [])
    await store_token(
        session,
        server.issued,
        grant_id=server.grant_id,
        client=server.client,
        teacher_id=teacher_id,
        lifetimes=TokenLifetimes(
            access=_access_lifetime(state),
            refresh=timedelta(days=state.settings.ob_api_refresh_token_days),
        ),
    )
    return oauth_json(status, body, headers)


@router.post(
    "/revoke",
    summary="Revoke a token (RFC 7009)",
    openapi_extra=request_body({"application/x-www-form-urlencoded": RevocationForm}),
)
async def revoke(request: Request, session: Session, state: State) -> Response:
    """Revoke an access or refresh token of the calling app (`client_secret_basic`); a
    refresh token takes every token of its grant with it. 200 even for unknown tokens."""
    form = {name: str(value) for name, value in (await request.form()).items()}
    client_id, _ = extract_basic_authorization(request.headers)
    row = await find_token(session, form.get("token"))
    server = AppServer(
        await find_client(session, client_id), access_lifetime=_access_lifetime(state), token=row
    )
    try:
        oauth_request = AppRequest(
            "POST", _url(state, "/oauth/revoke"), request.headers, form.items()
        )
    except OAuth2Error as error:
        return oauth_json(*error())
    status, body, headers = server.create_endpoint_response("revocation", oauth_request)
    if server.revoked is not None:
        await revoke_token(session, server.revoked)
        # RFC 7009 §2.1: revoking a refresh token ends the access its grant gave.
        if server.revoked.refresh_token_hash == digest(form.get("token", "")):
            await revoke_grant(session, server.revoked.grant_id)
    return oauth_json(status, body, headers)
