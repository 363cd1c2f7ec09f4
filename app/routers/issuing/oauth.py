"""`POST /oauth/token`: the OAuth 2.0 client-credentials grant for provider clients, and
the authorization code and refresh token grants of teachers' OB 3.0 API apps
(`app.routers.wallets.ob_oauth`), told apart by `grant_type`.

authlib does the protocol (grant validation, `client_secret_basic`, scope checks, error
bodies). Its server API is synchronous, so the client row is loaded before authlib runs and
the token it generates is stored afterwards, both on the request's async session.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from fastapi import APIRouter, Request, Response

from app.declared import request_body
from app.deps import Session, State
from app.oauth_server import RequestScopedServer
from app.routers.wallets.ob_oauth import (
    APP_GRANT_TYPES,
    app_token,
)
from badges.issuers.clients import (
    ALL_SCOPES,
    find_client,
    secret_matches,
    store_token,
)
from schemas.api.hand_read import TokenForm
from storage.models import Client

router = APIRouter(tags=["oauth"])


class _ProviderClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, client: Client) -> None:
        self.row = client

    def get_client_id(self) -> str:
        return self.row.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str:
        granted = self.row.scopes.split()
        if not scope:
            return " ".join(granted)
        return " ".join(item for item in scope.split() if item in granted)


class _TokenServer(RequestScopedServer):
    def __init__(self, client: Client | None, lifetime: timedelta) -> None:
        super().__init__(scopes_supported=list(ALL_SCOPES))
        self._client = _ProviderClient(client) if client else None
        self.register_grant(ClientCredentialsGrant)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda *_: int(lifetime.total_seconds()),
            ),
        )

    def query_client(self, client_id: str) -> _ProviderClient | None:
        if self._client is not None and self._client.get_client_id() == client_id:
            return self._client
        return None


class _FormRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, uri: str, headers: Any, form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials grant)",
    openapi_extra=request_body({"application/x-www-form-urlencoded": TokenForm}),
)
async def token(request: Request, state: State, session: Session) -> Response:
    """Exchange a provider client's id and secret (HTTP Basic) for a short-lived bearer token;
    for a teacher's app, a code or refresh token for access to her OB 3.0 API."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    if form.get("grant_type") in APP_GRANT_TYPES:
        return await app_token(request, form, session, state)
    client_id, _ = extract_basic_authorization(request.headers)
    client = await find_client(session, client_id) if client_id else None
    lifetime = timedelta(seconds=state.settings.token_ttl_seconds)
    server = _TokenServer(client, lifetime)
    try:
        oauth_request = _FormRequest(
            f"{state.settings.public_url}/oauth/token", request.headers, form
        )
    except InsecureTransportError as error:
        return _json(400, dict(error.get_body()), [])
    status, body, headers = server.create_token_response(oauth_request)
    if server.issued is not None and client is not None:
        await store_token(
            session, client, server.issued["access_token"], server.issued.get("scope", ""), lifetime
        )
    return _json(status, body, headers)


def _json(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    content = body if isinstance(body, str) else json.dumps(body)
    response = Response(content, status_code=status, media_type="application/json")
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
