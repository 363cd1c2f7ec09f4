"""OAuth client credentials for a benchmark client that outlives its access tokens.

A state-scale run lasts longer than a token (`LATTICE_TOKEN_TTL_SECONDS`, 15 minutes by
default): the client asks for a token when it has none, and again when one is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx


class ClientCredentials(httpx.Auth):
    requires_response_body = True

    def __init__(self, base_url: str, client_id: str, secret: str) -> None:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self._token_url = f"{base_url}/oauth/token"
        self._basic = f"Basic {basic}"
        self._token: str | None = None

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": self._basic},
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self._token = self._read((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._token = self._read((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    @staticmethod
    def _read(response: httpx.Response) -> str:
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token
