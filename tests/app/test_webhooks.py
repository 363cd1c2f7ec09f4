"""Webhooks: credential events posted, signed, to a real receiver on loopback, with retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from badges.errors import InvalidInput
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from badges.webhooks.delivery import (
    Claimed,
    DeliveryConfig,
    Outcome,
    record_outcome,
    retry_delay,
    send,
)
from badges.webhooks.subscriptions import (
    UrlPolicy,
    check_url,
    create_subscription,
    enqueue,
    secret_context,
)
from storage import migrate
from storage.models import Client, WebhookDelivery, WebhookSubscription
from storage.session import create_engine, create_session_factory, transaction
from tests.conftest import Provider, make_provider, serve
from tests.processes import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: answers each request with the next of `answers` (then 204),
    after `delay` seconds, and records what it was sent."""

    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(Received(dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    async def wait_for(self, count: int) -> list[Received]:
        deadline = time.monotonic() + 15
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} requests came"
            await asyncio.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answers: tuple[int, ...] = (), delay: float = 0.0) -> Receiver:
        made = Receiver(list(answers), delay)
        server = ThreadingHTTPServer(("127.0.0.1", 0), made.handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        made.url = f"http://127.0.0.1:{server.server_port}/hooks/lattice?team=7"
        return made

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def rival(server: str, sessions: Any, vault: Any, issuer: Any) -> AsyncIterator[Provider]:
    async with transaction(sessions) as session:
        other = await create_issuer(session, vault, IssuerDetails("rival-" + issuer.slug, "Rival"))
    made = await make_provider(server, sessions, other)
    yield made
    await made.http.aclose()


async def _subscribe(provider: Provider, url: str, **body: Any) -> dict[str, Any]:
    response = await provider.http.post("/v1/webhooks", json={"url": url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _issue(provider: Provider) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"])
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def _deliveries_when(
    provider: Provider, webhook_id: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        response = await provider.http.get(f"/v1/webhooks/{webhook_id}/deliveries")
        assert response.status_code == 200, response.text
        deliveries: list[dict[str, Any]] = response.json()
        if done(deliveries):
            return deliveries
        assert time.monotonic() < deadline, f"deliveries never got there: {deliveries}"
        await asyncio.sleep(0.05)


def _verify_signature(secret: str, request: Received) -> None:
    parts = dict(item.split("=", 1) for item in request.headers["Lattice-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 60


async def test_an_issued_credential_is_posted_signed(
    provider: Provider, receiver: Callable[..., Receiver]
):
    hooks = receiver()
    webhook = await _subscribe(provider, hooks.url)

    issued = await _issue(provider)

    request = (await hooks.wait_for(1))[0]
    body = json.loads(request.body)
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == [
        "credential.issued",
        "credential.revoked",
        "credential.suspended",
        "credential.unsuspended",
    ]
    _verify_signature(webhook["secret"], request)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Lattice-Event"] == body["type"] == "credential.issued"
    assert request.headers["Lattice-Delivery"] == body["id"]
    assert body["issuer"] == provider.slug
    assert body["data"] == {"credentialId": issued["id"], "credentialUrl": issued["url"]}
    # The event is recorded as the credential is stored; validFrom is the signing second.
    occurred = datetime.fromisoformat(body["occurredAt"])
    valid_from = datetime.fromisoformat(issued["credential"]["validFrom"])
    assert timedelta(0) <= occurred - valid_from < timedelta(seconds=2)
    deliveries = await _deliveries_when(
        provider, webhook["id"], lambda found: found[0]["status"] == "delivered"
    )
    assert [(d["id"], d["attempts"], d["lastStatusCode"]) for d in deliveries] == [
        (body["id"], 1, 204)
    ]


async def test_a_revocation_is_posted_with_its_reason_to_those_who_asked(
    provider: Provider, receiver: Callable[..., Receiver]
):
    hooks = receiver()
    webhook = await _subscribe(provider, hooks.url, events=["credential.revoked"])
    issued = await _issue(provider)

    revoked = await provider.http.post(
        f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
    )

    assert revoked.status_code == 200
    request = (await hooks.wait_for(1))[0]
    body = json.loads(request.body)
    _verify_signature(webhook["secret"], request)
    assert (body["type"], body["data"]["reason"]) == ("credential.revoked", "awarded in error")
    assert body["data"]["credentialId"] == issued["id"]
    deliveries = await _deliveries_when(provider, webhook["id"], lambda found: True)
    assert [d["eventType"] for d in deliveries] == ["credential.revoked"]


async def test_a_failing_receiver_is_retried_until_it_accepts(
    provider: Provider, receiver: Callable[..., Receiver]
):
    hooks = receiver(answers=(500, 503))
    webhook = await _subscribe(provider, hooks.url)

    await _issue(provider)

    requests = await hooks.wait_for(3)
    deliveries = await _deliveries_when(
        provider, webhook["id"], lambda found: found[0]["status"] == "delivered"
    )
    assert len({request.headers["Lattice-Delivery"] for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    delivery = deliveries[0]
    assert (delivery["attempts"], delivery["lastStatusCode"]) == (3, 204)
    assert delivery["deliveredAt"] is not None and delivery["nextAttemptAt"] is None


async def test_a_hanging_receiver_does_not_slow_issuing(
    provider: Provider, receiver: Callable[..., Receiver], settings: Any
):
    hooks = receiver(delay=10)
    webhook = await _subscribe(provider, hooks.url)
    achievement = await provider.create_achievement()
    await provider.issue(achievement["id"])  # the first award also warms up signing
    await hooks.wait_for(1)

    started = time.monotonic()
    responses = [await provider.issue(achievement["id"]) for _ in range(3)]
    elapsed = time.monotonic() - started

    assert [response.status_code for response in responses] == [201] * 3
    assert elapsed < 3 * settings.webhook_timeout_seconds
    deliveries = await _deliveries_when(
        provider,
        webhook["id"],
        lambda found: any(d["status"] == "failed" and d["lastError"] for d in found),
    )
    failed = next(d for d in deliveries if d["status"] == "failed")
    assert failed["lastError"] == "no answer within 1 s"
    assert failed["lastStatusCode"] is None and failed["nextAttemptAt"] is not None
    assert (await provider.http.delete(f"/v1/webhooks/{webhook['id']}")).status_code == 204


async def test_events_are_queued_only_when_their_transaction_commits(
    provider: Provider, sessions: Any, receiver: Callable[..., Receiver]
):
    webhook = await _subscribe(provider, receiver().url)
    issued = await _issue(provider)
    credential_id = uuid.UUID(issued["id"])
    count = (
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == uuid.UUID(webhook["id"]))
    )

    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            enqueue(
                session,
                provider.issuer.id,
                "credential.suspended",
                credential_id,
                occurred_at=datetime.now(UTC),
            )
            await session.flush()
            raise RuntimeError("the change failed after its event was queued")
    async with sessions() as session:
        after_rollback = await session.scalar(count)
    async with transaction(sessions) as session:
        enqueue(
            session,
            provider.issuer.id,
            "credential.suspended",
            credential_id,
            occurred_at=datetime.now(UTC),
        )
    async with sessions() as session:
        after_commit = await session.scalar(count)

    assert (after_rollback, after_commit) == (1, 2)  # the issued event, then this one


async def test_the_secret_is_stored_sealed_and_never_listed(
    provider: Provider, sessions: Any, vault: Any, receiver: Callable[..., Receiver]
):
    webhook = await _subscribe(provider, receiver().url)

    listed = (await provider.http.get("/v1/webhooks")).json()
    async with sessions() as session:
        row = await session.get(WebhookSubscription, uuid.UUID(webhook["id"]))

    assert [item["id"] for item in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    assert webhook["secret"].encode() not in row.secret_encrypted
    opened = vault.open_secret(row.secret_encrypted, context=secret_context(row.id))
    assert opened == webhook["secret"].encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://example.org/hooks"}, "url"),
        ({"url": "https://user:pw@example.org/hooks"}, "url"),
        ({"url": "https://example.org/hooks", "events": ["credential.deleted"]}, "events[0]"),
        ({"url": "https://example.org/hooks", "events": []}, "events"),
        ({"url": "https://example.org/hooks", "secret": "mine"}, "secret"),
    ],
)
async def test_bad_webhook_input_is_refused_naming_the_field(
    provider: Provider, body: dict[str, Any], field: str
):
    response = await provider.http.post("/v1/webhooks", json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hooks",
        "https://127.0.0.1/hooks",
        "https://localhost:8443/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
        "https://[::127.0.0.1]/hooks",  # IPv4-compatible
        "https://[2002:a00:1::1]/hooks",  # 6to4 of 10.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hooks",  # Teredo, client 127.0.0.1
        "https://[fec0::1]/hooks",  # site-local
        "https://[fd00::1]/hooks",  # unique-local
        "https://[fe80::1]/hooks",
        "https://[ff02::1]/hooks",
        "https://224.0.0.1/hooks",
        "https://192.0.2.1/hooks",  # documentation
    ],
)
def test_by_default_only_https_to_public_addresses_is_accepted(url: str):
    with pytest.raises(InvalidInput) as refused:
        check_url(url, UrlPolicy())

    assert refused.value.field == ("url",)
    assert check_url("https://hooks.example.org/lattice", UrlPolicy())
    assert check_url(url, UrlPolicy(allow_http=True, allow_private=True)) == url


async def test_a_name_that_resolves_to_a_private_address_is_not_sent_to():
    claimed = Claimed(
        id=uuid.uuid4(),
        attempt=1,
        created_at=datetime.now(UTC),
        event_type="credential.issued",
        url="http://localhost:9/hooks",
        secret=b"s",
        body=b"{}",
    )

    outcome = await send(None, claimed, DeliveryConfig(public_url="http://x"))  # type: ignore[arg-type]

    assert outcome.status_code is None
    assert "private" in (outcome.error or "")


async def test_retries_back_off_and_give_up_after_a_day(sessions: Any):
    config = DeliveryConfig(public_url="http://x", retry_base_seconds=10)
    now = datetime.now(UTC)

    def claimed(age: timedelta) -> Claimed:
        return Claimed(uuid.uuid4(), 5, now - age, "credential.issued", "https://x", b"s", b"{}")

    failed = Outcome(500, "the receiver answered 500")
    young = await record_outcome(sessions, config, claimed(timedelta(hours=1)), failed, now)
    old = await record_outcome(
        sessions, config, claimed(timedelta(hours=23, minutes=59)), failed, now
    )

    assert [retry_delay(n, 10).total_seconds() for n in (1, 2, 3, 4)] == [10, 30, 90, 270]
    assert retry_delay(30, 10) == timedelta(hours=1)
    assert (young, old) == ("failed", "given_up")


async def test_webhooks_belong_to_their_issuer_and_need_their_scope(
    provider: Provider,
    rival: Provider,
    server: str,
    sessions: Any,
    issuer: Any,
    receiver: Callable[..., Receiver],
):
    webhook = await _subscribe(provider, receiver().url)
    reader = await make_provider(server, sessions, issuer, scopes=("credentials:read",))
    path = f"/v1/webhooks/{webhook['id']}"

    assert (await rival.http.get("/v1/webhooks")).json() == []
    assert (await rival.http.get(f"{path}/deliveries")).status_code == 404
    assert (await rival.http.delete(path)).status_code == 404
    assert (await reader.http.get("/v1/webhooks")).status_code == 403
    assert (
        await reader.http.post("/v1/webhooks", json={"url": "https://a.example"})
    ).status_code == 403
    assert (await provider.http.delete(path)).status_code == 204
    assert (await provider.http.delete(path)).status_code == 404
    assert (await provider.http.get("/v1/webhooks")).json() == []
    await reader.http.aclose()


# The service as deployed, where webhooks go to public addresses only (the shared test
# service allows loopback, for its receivers). It has its own database: the shared service's
# worker, which may send anywhere, must not take its deliveries.


@dataclass
class StrictService:
    url: str
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
async def strict(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StrictService]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('strict') / 'lattice.db'}"
    await asyncio.to_thread(migrate.upgrade, database_url)
    port = free_port()
    deployed = settings.model_copy(
        update={
            "database_url": database_url,
            "port": port,
            "public_url": f"http://127.0.0.1:{port}",
            "data_dir": tmp_path_factory.mktemp("strict-data"),
            "webhooks_allow_private": False,
        }
    )
    assert deployed.webhooks_allow_http  # the receivers here are plain http
    running = serve(deployed)
    url = await asyncio.to_thread(next, running)
    engine = create_engine(database_url)
    yield StrictService(url, create_session_factory(engine))
    await engine.dispose()
    await asyncio.to_thread(next, running, None)  # stops the service


@pytest.fixture
async def strict_provider(strict: StrictService, vault: KeyVault) -> AsyncIterator[Provider]:
    slug = f"issuer-{uuid.uuid4().hex[:10]}"
    async with transaction(strict.sessions) as session:
        issuer = await create_issuer(session, vault, IssuerDetails(slug, "Digital Promise"))
    made = await make_provider(strict.url, strict.sessions, issuer)
    yield made
    await made.http.aclose()


# 127.0.0.1 written as IPv6 forms a NAT64 gateway or the host's own stack may deliver there.
HIDDEN_LOOPBACK = ("[64:ff9b::7f00:1]", "[::127.0.0.1]", "[2002:7f00:1::1]")


@pytest.mark.parametrize("host", HIDDEN_LOOPBACK)
async def test_registering_a_loopback_address_in_ipv6_disguise_is_refused(
    strict_provider: Provider, host: str
):
    response = await strict_provider.http.post(
        "/v1/webhooks", json={"url": f"http://{host}:8080/hooks"}
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error == {
        "field": "url",
        "detail": "url points to a loopback, private or reserved address",
    }


async def test_the_worker_never_connects_to_a_loopback_address_in_ipv6_disguise(
    strict: StrictService,
    strict_provider: Provider,
    vault: KeyVault,
    receiver: Callable[..., Receiver],
):
    hooks = receiver()
    port = urlsplit(hooks.url).port
    # Stored as a subscription registered before this check existed would be (a name whose
    # DNS answer later changes to such an address takes the same path at delivery).
    async with transaction(strict.sessions) as session:
        client = await session.scalar(
            select(Client).where(Client.client_id == strict_provider.client_id)
        )
        assert client is not None
        webhooks = [
            await create_subscription(
                session,
                vault,
                strict_provider.issuer,
                client,
                f"http://{host}:{port}/hooks",
                None,
                UrlPolicy(allow_http=True, allow_private=True),
            )
            for host in HIDDEN_LOOPBACK
        ]

    await _issue(strict_provider)

    for host, webhook in zip(HIDDEN_LOOPBACK, webhooks, strict=True):
        [delivery] = await _deliveries_when(
            strict_provider,
            str(webhook.subscription.id),
            lambda found: bool(found and found[0]["lastError"]),
        )
        assert (delivery["status"], delivery["lastStatusCode"]) == ("failed", None)
        refusal = "resolves to a loopback, private or reserved address"
        assert delivery["lastError"] == f"UnsafeTarget: {host.strip('[]')} {refusal}"
    assert hooks.received == []
