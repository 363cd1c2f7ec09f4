"""authlib's OAuth 2.0 server, fitted to the OB 3.0 API's security profile (OB 3.0 §7).

Authorization code grant with PKCE `S256` required (RFC 7636; `plain` refused), refresh
tokens rotated on use, RFC 7009 revocation and RFC 7591 dynamic registration without an
initial access token; clients authenticate with `client_secret_basic` only.

authlib's server API is synchronous and the database is async, so, as for the provider
token endpoint (`app.routers.issuing.oauth`), one server object is built per request around the
rows the request names (loaded beforehand), and it records what authlib decided — a code
to keep, a token issued, a refresh token rotated, a token revoked, a replay seen — for the
router to store afterwards on the request's session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    TokenMixin,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest, OAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import (
    ClientMetadataClaims,
    ClientRegistrationEndpoint,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7636 import CodeChallenge

from app.oauth_server import RequestScopedServer
from badges.wallets.ob_clients import (
    SUPPORTED_SCOPES,
    code_is_live,
    digest,
    new_client_id,
    new_secret,
    refresh_is_live,
    secret_matches,
)
from storage.models import ObApiClient, ObApiToken, ObAuthorizationCode

GRANT_TYPES = ("authorization_code", "refresh_token")
# OB 3.0 §7.2: what a client must tell about itself when it registers.
REQUIRED_METADATA = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "redirect_uris",
    "scope",
)
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class _Payload(OAuth2Payload):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in items:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class AppRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    """A query (GET) or form (POST) request; repeated parameters are kept, so authlib can
    refuse them (RFC 6749 §3.1)."""

    def __init__(
        self, method: str, uri: str, headers: Any, items: Iterable[tuple[str, str]]
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(items)

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def args(self) -> dict[str, str]:
        return self.form


class _JsonBody(JsonPayload):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


def json_request(uri: str, headers: Any, data: dict[str, Any]) -> JsonRequest:
    request = JsonRequest("POST", uri, headers)
    request.payload = _JsonBody(data)
    return request


class _AppClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, row: ObApiClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OB 3.0 §7.3: the request must name its redirect URI

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def get_allowed_scope(self, scope: str | None) -> str:
        registered = self.row.scope.split()
        if not scope:
            return " ".join(registered)
        return " ".join(item for item in dict.fromkeys(scope.split()) if item in registered)

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types


class _Code(AuthorizationCodeMixin):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, row: ObAuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class _Token(TokenMixin):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, row: ObApiToken) -> None:
        self.row = row

    def check_client(self, client: _AppClient) -> bool:
        return bool(self.row.client_id == client.row.id)

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return bool(self.row.expires_at <= datetime.now(UTC))

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


class S256Challenge(CodeChallenge):  # type: ignore[misc]  # authlib is untyped
    """PKCE, required on every authorization request, `S256` only (OB 3.0 §7.3)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256)")
        # RFC 7636 §4.4.1: an unsupported transformation is invalid_request. A missing
        # method means `plain` (§4.3), which is not supported either.
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]  # authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: _AppClient) -> str:
        if not request.payload.redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        redirect: str = AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)
        return redirect

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        if not self.request.payload.state:
            raise InvalidRequestError("Missing 'state' in request.", redirect_uri=redirect_uri)
        if not self.request.scope:
            raise InvalidScopeError(
                "None of the requested scopes is registered for this client.",
                redirect_uri=redirect_uri,
            )
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        self.server.new_code = (code, request)

    def query_authorization_code(self, code: str, client: _AppClient) -> _Code | None:
        server: AppServer = self.server
        return server.code_for(code, client)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.grant_id = authorization_code.row.id

    def authenticate_user(self, authorization_code: _Code) -> Any:
        return authorization_code.row.teacher_id


class _RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]  # authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token works once

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        server: AppServer = self.server
        return server.refresh_token_for(refresh_token)

    def authenticate_user(self, refresh_token: _Token) -> Any:
        return refresh_token.row.teacher_id

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        self.server.rotated = refresh_token.row
        self.server.grant_id = refresh_token.row.grant_id


class _UnsupportedTokenType(UnsupportedTokenTypeError):  # type: ignore[misc]
    status_code = 400


class _Revocation(RevocationEndpoint):  # type: ignore[misc]  # authlib is untyped
    CLIENT_AUTH_METHODS = ["client_secret_basic"]

    def check_params(self, request: OAuth2Request, client: Any) -> None:
        try:
            super().check_params(request, client)
        except UnsupportedTokenTypeError as error:
            # authlib files this error under 401 with the client-auth errors; RFC 7009
            # §2.2.1 makes it a 400: the client authenticated, only the hint is unknown.
            raise _UnsupportedTokenType() from error

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        server: AppServer = self.server
        return server.token_for(token_string)

    def revoke_token(self, token: _Token, request: OAuth2Request) -> None:
        self.server.revoked = token.row


class AppServer(RequestScopedServer):
    """One request's authorization server; `client`, `code` and `token` are the rows that
    the request names, loaded before authlib runs."""

    def __init__(
        self,
        client: ObApiClient | None,
        *,
        access_lifetime: timedelta,
        code: ObAuthorizationCode | None = None,
        token: ObApiToken | None = None,
    ) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self._client = _AppClient(client) if client is not None else None
        self._code = code
        self._token = token
        self.new_code: tuple[str, OAuth2Request] | None = None
        self.grant_id: Any = None
        self.rotated: ObApiToken | None = None
        self.revoked: ObApiToken | None = None
        self.replayed_grant: Any = None
        self.register_grant(_CodeGrant, [S256Challenge(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                refresh_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda *_: int(access_lifetime.total_seconds()),
            ),
        )

    @property
    def client(self) -> ObApiClient | None:
        return self._client.row if self._client else None

    def query_client(self, client_id: str) -> _AppClient | None:
        if self._client is not None and self._client.get_client_id() == client_id:
            return self._client
        return None

    def code_for(self, code: str, client: _AppClient) -> _Code | None:
        row = self._code
        if row is None or row.code_hash != digest(code) or row.client_id != client.row.id:
            return None
        if row.used_at is not None:
            self.replayed_grant = row.id  # RFC 6749 §4.1.2: revoke what the code gave
        return _Code(row) if code_is_live(row) else None

    def refresh_token_for(self, token: str) -> _Token | None:
        row = self._token
        if row is None or row.refresh_token_hash != digest(token):
            return None
        if row.revoked_at is not None:
            self.replayed_grant = row.grant_id  # a rotated token again: someone copied it
        return _Token(row) if refresh_is_live(row) else None

    def token_for(self, token: str) -> _Token | None:
        row = self._token
        hashed = digest(token)
        if row is None or hashed not in (row.access_token_hash, row.refresh_token_hash):
            return None
        return _Token(row)


# --- RFC 7591 dynamic client registration ------------------------------------------------


class _ObClientMetadata(ClientMetadataClaims):  # type: ignore[misc]  # authlib is untyped
    @classmethod
    def get_claims_options(cls, metadata: Mapping[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = super().get_claims_options(metadata)
        for name in REQUIRED_METADATA:
            options.setdefault(name, {})["essential"] = True
        return options


def _acceptable_redirect(uri: Any) -> bool:
    """https, or http to a loopback address for native apps (RFC 8252 §7.3)."""
    if not isinstance(uri, str):
        return False
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]  # authlib is untyped
    """Open registration (OB 3.0 §7.2: no initial access token); `saved` holds the client
    authlib accepted, for the router to store."""

    def __init__(self) -> None:
        super().__init__(claims_classes=[_ObClientMetadata])
        self.saved: tuple[dict[str, Any], dict[str, Any]] | None = None

    def authenticate_token(self, request: JsonRequest) -> bool:
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def extract_client_metadata(self, request: JsonRequest) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        uris = metadata.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(map(_acceptable_redirect, uris)):
            raise InvalidRedirectURIError(
                "redirect_uris must be a non-empty array of https URLs without fragments"
            )
        return metadata

    def generate_client_id(self, request: JsonRequest) -> str:
        return new_client_id()

    def generate_client_secret(self, request: JsonRequest) -> str:
        return new_secret()

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: JsonRequest
    ) -> dict[str, Any]:
        self.saved = (client_info, client_metadata)
        return client_metadata
