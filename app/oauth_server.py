"""The part of an authlib `AuthorizationServer` that every server of this service shares.

authlib's server is synchronous and framework-neutral: each request builds its own server
around rows loaded beforehand (see `app.routers.issuing.oauth`), lets authlib run the protocol, and
stores what it produced afterwards on the request's async session. So the framework hooks
do nothing here but hand values back: the token authlib generated is kept on the server.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request


class RequestScopedServer(AuthorizationServer):  # type: ignore[misc]  # authlib is untyped
    """An authorization server that lives for one request and stores nothing itself."""

    def __init__(self, *, scopes_supported: list[str]) -> None:
        super().__init__(scopes_supported=scopes_supported)
        self.issued: dict[str, Any] | None = None  # the token authlib generated, to store

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.issued = token

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
