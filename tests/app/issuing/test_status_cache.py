"""Status lists are served from memory, and a change is served by every worker within 1 s.

A second instance of the service (its own `create_app`, state, connection pool and cache)
runs over the same database as the test server, the way a second worker process does.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import event

from app.main import create_app
from app.settings import Settings
from app.state import ServiceState
from app.status_cache import StatusListCache
from formats.bitstring import (
    decode_list,
    get_bit,
)
from keys.vc_jwt import decode_unverified
from storage.session import create_engine
from tests.conftest import Provider, token_for
from tests.processes import free_port

# The bound the README promises: a change committed at T is served by every worker to any
# request that starts after T + 1 s.
BOUND_S = 1.0
VC_JWT = {"Accept": "application/vc+jwt"}


@dataclass
class Instance:
    """Another service instance on its own port, over the test server's database."""

    base_url: str
    app: FastAPI

    @property
    def state(self) -> ServiceState:
        state: ServiceState = self.app.state.lattice
        return state


def _serve(app: FastAPI, port: int) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the second instance did not start")
        time.sleep(0.02)
    yield
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def other(settings: Settings, server: str) -> Iterator[Instance]:
    """Same settings (so the same public URL and keys), another port, its own everything."""
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port}))
    for _ in _serve(app, port):
        yield Instance(f"http://127.0.0.1:{port}", app)


@pytest.fixture
async def via_other(other: Instance, provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    """The provider's API client, talking to the other instance."""
    token = await token_for(other.base_url, provider.client_id, provider.client_secret)
    async with httpx.AsyncClient(
        base_url=other.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        yield http


async def _issue_two(provider: Provider) -> list[dict[str, Any]]:
    """Two credentials with revocation entries in one list."""
    achievement = await provider.create_achievement()
    issued = []
    for _ in range(2):
        response = await provider.issue(achievement["id"])
        assert response.status_code == 201, response.text
        issued.append(response.json())
    return issued


def _entry(issued: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = issued["credential"]["credentialStatus"]
    return entry


def _path(entry: dict[str, Any]) -> str:
    return "/" + entry["statusListCredential"].split("/", 3)[3]


def _bit_of(listed: dict[str, Any], entry: dict[str, Any]) -> bool:
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_bit(bits, int(entry["statusListIndex"]))


async def _served_bit(http: httpx.AsyncClient, entry: dict[str, Any]) -> bool:
    response = await http.get(_path(entry))
    assert response.status_code == 200, response.text
    return _bit_of(response.json(), entry)


async def _revoke(http: httpx.AsyncClient, issued: dict[str, Any]) -> float:
    """Revoke through `http`; the moment the change was committed (the answer came back)."""
    response = await http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "error"})
    assert response.status_code == 200, response.text
    return time.monotonic()


async def _stale_after(
    http: httpx.AsyncClient, entry: dict[str, Any], committed: float
) -> list[float]:
    """Fetch the list until BOUND_S + 0.3 s after `committed`; when (seconds after it) each
    fetch that still showed the old bit was sent."""
    stale, checked_late = [], 0
    while (sent := time.monotonic()) < committed + BOUND_S + 0.3:
        if not await _served_bit(http, entry):
            stale.append(sent - committed)
        checked_late += sent >= committed + BOUND_S
    assert checked_late > 0, "the machine was too slow to fetch after the bound"
    return stale


async def test_a_revocation_through_one_worker_is_served_by_the_other_within_1s(
    provider: Provider, other: Instance, public: httpx.AsyncClient
):
    first, _ = await _issue_two(provider)
    entry = _entry(first)
    async with httpx.AsyncClient(base_url=other.base_url, timeout=60) as elsewhere:
        # Now cached by both workers.
        assert (await _served_bit(public, entry), await _served_bit(elsewhere, entry)) == (
            False,
            False,
        )

        committed = await _revoke(provider.http, first)

        assert await _served_bit(public, entry) is True  # at once by the worker that revoked
        stale = await _stale_after(elsewhere, entry, committed)
        assert [moment for moment in stale if moment >= BOUND_S] == []


async def test_a_revocation_through_the_other_worker_is_served_here_within_1s(
    provider: Provider, via_other: httpx.AsyncClient, public: httpx.AsyncClient
):
    _, second = await _issue_two(provider)
    entry = _entry(second)
    assert await _served_bit(public, entry) is False  # cached by the test server

    committed = await _revoke(via_other, second)

    stale = await _stale_after(public, entry, committed)
    assert [moment for moment in stale if moment >= BOUND_S] == []
    assert await _served_bit(via_other, entry) is True


async def test_etags_and_304_of_both_forms_follow_a_change_made_elsewhere(
    provider: Provider, other: Instance
):
    first, _ = await _issue_two(provider)
    path = _path(_entry(first))
    async with httpx.AsyncClient(base_url=other.base_url, timeout=60) as elsewhere:
        old_json = await elsewhere.get(path)
        old_jwt = await elsewhere.get(path, headers=VC_JWT)
        await _revoke(provider.http, first)
        await asyncio.sleep(BOUND_S)  # both workers now serve the new list

        new_json = await elsewhere.get(path, headers={"If-None-Match": old_json.headers["etag"]})
        new_jwt = await elsewhere.get(
            path, headers=VC_JWT | {"If-None-Match": old_jwt.headers["etag"]}
        )
        json_again = await elsewhere.get(path, headers={"If-None-Match": new_json.headers["etag"]})
        jwt_again = await elsewhere.get(
            path, headers=VC_JWT | {"If-None-Match": new_jwt.headers["etag"]}
        )

    assert (new_json.status_code, new_jwt.status_code) == (200, 200)
    assert _bit_of(new_json.json(), _entry(first)) is True
    assert _bit_of(decode_unverified(new_jwt.text)[1], _entry(first)) is True
    tags = {old_json.headers["etag"], old_jwt.headers["etag"]}
    tags |= {new_json.headers["etag"], new_jwt.headers["etag"]}
    assert len(tags) == 4
    assert (json_again.status_code, json_again.headers["etag"]) == (304, new_json.headers["etag"])
    assert (jwt_again.status_code, jwt_again.headers["etag"]) == (304, new_jwt.headers["etag"])
    assert (json_again.content, jwt_again.content) == (b"", b"")
    for response in (new_json, new_jwt, json_again, jwt_again):
        assert response.headers["vary"] == "Accept"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"] == "public, max-age=60"
    assert new_json.headers["content-type"] == "application/vc+ld+json"
    assert new_jwt.headers["content-type"] == "application/vc+jwt"


async def test_one_issuers_address_never_serves_another_issuers_list(
    provider: Provider, public: httpx.AsyncClient, vault: Any, sessions: Any
):
    from badges.issuers.issuers import (
        IssuerDetails,
        create_issuer,
    )
    from storage.session import transaction

    path = _path(_entry((await _issue_two(provider))[0]))
    async with transaction(sessions) as session:
        rival = await create_issuer(
            session, vault, IssuerDetails(f"rival-{uuid.uuid4().hex[:8]}", "Rival")
        )
    list_id = path.rsplit("/", 1)[1]
    assert (await public.get(path)).status_code == 200  # cached under its own issuer

    under_rival = await public.get(f"/status/{rival.slug}/{list_id}")
    under_nobody = await public.get(f"/status/no-such-issuer/{list_id}")
    unknown_list = await public.get(f"/status/{provider.slug}/{uuid.uuid4()}")

    for response in (under_rival, under_nobody, unknown_list):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert (await public.get(path)).status_code == 200


@pytest.mark.parametrize(
    ("fresh_for", "expected"),
    [(3600.0, 1), (0.0, 200)],
    ids=["within the window: one load", "past the window: a check each, no reload"],
)
async def test_fetches_of_a_list_cost_one_load_then_one_small_check_per_window(
    provider: Provider, settings: Settings, fresh_for: float, expected: int
):
    """Inside the freshness window the copy is served from memory; past it, each fetch
    costs one ETag look-up, and the document is read again only if the ETag changed."""
    _, _, slug, list_id = _path(_entry((await _issue_two(provider))[0])).split("/")
    # An engine of this test's own event loop (another instance's engine lives in its
    # server's loop, and asyncpg connections cannot cross loops).
    engine = create_engine(settings.database_url)
    cache = StatusListCache(engine, fresh_for=fresh_for)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "status_lists" in statement:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for _ in range(200):
            assert await cache.get(slug, uuid.UUID(list_id)) is not None
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        await engine.dispose()

    assert len(statements) == expected
    assert "document" in statements[0]
    assert all("document" not in statement for statement in statements[1:])
