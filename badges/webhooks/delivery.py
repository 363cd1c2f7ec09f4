"""Sending the webhook outbox: claim due deliveries, POST them signed, record the outcome.

Every service process runs one `DeliveryWorker`. A claim is a short transaction that takes
due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so processes never take the same row;
SQLite ignores it and has one process) and leases them by moving `next_attempt_at` past
the request timeout. The request is sent outside any transaction, so a slow receiver holds
no lock; a process that dies mid-request leaves the lease to expire and the row is retried
(delivery is at least once: receivers deduplicate on `Lattice-Delivery`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import (
    KeyVault,
    credential_url,
)
from badges.webhooks.subscriptions import secret_context
from keys.master import KeyDecryptionError
from net.addresses import (
    is_public_address,
    parse_address,
)
from storage.models import Issuer, WebhookDelivery, WebhookSubscription
from storage.session import transaction

logger = logging.getLogger("lattice.webhooks")

GIVE_UP_AFTER: Final = timedelta(days=1)
MAX_RETRY_DELAY: Final = timedelta(hours=1)
_DUE_STATES: Final = ("pending", "failed")
# A claimed row is left alone this long beyond the request timeout before it is retried.
_LEASE_MARGIN: Final = timedelta(seconds=30)
_RANDOM: Final = random.SystemRandom()


@dataclass(frozen=True)
class DeliveryConfig:
    public_url: str
    poll_seconds: float = 2.0
    retry_base_seconds: float = 10.0
    timeout_seconds: float = 10.0
    concurrency: int = 16
    allow_private: bool = False


@dataclass(frozen=True)
class Claimed:
    """One delivery taken for one attempt, with everything needed to send it."""

    id: uuid.UUID
    attempt: int
    created_at: datetime
    event_type: str
    url: str
    secret: bytes
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class UnsafeTarget(Exception):
    """The receiver's name resolves to an address webhooks may not be sent to."""


def retry_delay(attempt: int, base_seconds: float, jitter: float = 1.0) -> timedelta:
    """10 s, 30 s, 1.5 min, 4.5 min... (base 10 s) up to an hour, times `jitter`."""
    seconds = min(base_seconds * 3 ** max(attempt - 1, 0), MAX_RETRY_DELAY.total_seconds())
    return timedelta(seconds=seconds * jitter)


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """`Lattice-Signature`: HMAC-SHA256 of `<t>.<body>`, so a captured request cannot be
    replayed later with another timestamp."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def render_body(public_url: str, delivery: WebhookDelivery, issuer_slug: str) -> bytes:
    """The JSON sent; the same bytes on every attempt of a delivery."""
    data: dict[str, Any] = {
        "credentialId": str(delivery.credential_id),
        "credentialUrl": credential_url(public_url, delivery.credential_id),
    }
    if delivery.reason is not None:
        data["reason"] = delivery.reason
    occurred = delivery.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds")
    body = {
        "id": str(delivery.id),
        "type": delivery.event_type,
        "occurredAt": occurred.replace("+00:00", "Z"),
        "issuer": issuer_slug,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


async def claim_due(
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    config: DeliveryConfig,
    limit: int,
    now: datetime,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, oldest due first, counting the attempt."""
    query = (
        select(WebhookDelivery, WebhookSubscription, Issuer.slug)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(Issuer, Issuer.id == WebhookSubscription.issuer_id)
        .where(WebhookDelivery.next_attempt_at <= now, WebhookDelivery.status.in_(_DUE_STATES))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    lease_until = now + timedelta(seconds=config.timeout_seconds) + _LEASE_MARGIN
    claimed = []
    async with transaction(sessions) as session:
        for delivery, subscription, slug in (await session.execute(query)).all():
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.next_attempt_at = lease_until
            try:
                secret = vault.open_secret(
                    subscription.secret_encrypted, context=secret_context(subscription.id)
                )
            except KeyDecryptionError:
                # Another master key sealed it: it can never be signed, so never sent.
                delivery.status, delivery.next_attempt_at = "given_up", None
                delivery.last_error = "the subscription's secret cannot be decrypted"
                continue
            claimed.append(
                Claimed(
                    id=delivery.id,
                    attempt=delivery.attempts,
                    created_at=delivery.created_at,
                    event_type=delivery.event_type,
                    url=subscription.url,
                    secret=secret,
                    body=render_body(config.public_url, delivery, slug),
                )
            )
    return claimed


async def record_outcome(
    sessions: async_sessionmaker[AsyncSession],
    config: DeliveryConfig,
    claimed: Claimed,
    outcome: Outcome,
    now: datetime,
    jitter: float = 1.0,
) -> str:
    """Store the attempt's result and when to retry; returns the new state."""
    values: dict[str, Any] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:500] if outcome.error else None,
    }
    if outcome.delivered:
        values |= {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
    else:
        retry_at = now + retry_delay(claimed.attempt, config.retry_base_seconds, jitter)
        if retry_at > claimed.created_at + GIVE_UP_AFTER:
            values |= {"status": "given_up", "next_attempt_at": None}
        else:
            values |= {"status": "failed", "next_attempt_at": retry_at}
    async with transaction(sessions) as session:
        # Only if no later claim took the row over (after this one's lease ran out).
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == claimed.id, WebhookDelivery.attempts == claimed.attempt)
            .values(**values)
        )
    state: str = values["status"]
    return state


@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    sni_hostname: str | None


async def _pin(url: str, allow_private: bool) -> _Target:
    """Resolve the receiver once, refuse it unless every address is public (the policy of
    `net.addresses`, which the verifier's fetcher shares), and connect to what was
    checked (a second lookup by the HTTP client could answer differently: DNS rebinding)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [parse_address(str(info[4][0])) for info in infos]
    if not addresses:
        raise UnsafeTarget(f"{host} has no address")
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise UnsafeTarget(f"{host} resolves to a loopback, private or reserved address")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    return _Target(
        url=urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, "")),
        # Registered URLs carry no user info (`badges.webhooks.subscriptions.check_url`).
        host=parts.netloc,
        sni_hostname=host if parts.scheme == "https" and not _is_literal(host) else None,
    )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def send(http: httpx.AsyncClient, claimed: Claimed, config: DeliveryConfig) -> Outcome:
    """One POST; never raises for anything the receiver or the network does."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Lattice-Signature": signature(claimed.secret, timestamp, claimed.body),
        "Lattice-Event": claimed.event_type,
        "Lattice-Delivery": str(claimed.id),
    }
    try:
        # The client's timeout bounds each read; this bounds the whole exchange.
        async with asyncio.timeout(config.timeout_seconds):
            target = await _pin(claimed.url, config.allow_private)
            extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
            async with http.stream(
                "POST",
                target.url,
                content=claimed.body,
                headers=headers | {"Host": target.host},
                extensions=extensions,
            ) as response:
                # The body is not read: a receiver only tells success by its status code.
                code = response.status_code
    except TimeoutError:
        return Outcome(None, f"no answer within {config.timeout_seconds:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError, UnsafeTarget) as error:
        return Outcome(None, f"{type(error).__name__}: {error}")
    return Outcome(code, None if 200 <= code < 300 else f"the receiver answered {code}")


class DeliveryWorker:
    """Polls the outbox and keeps up to `concurrency` requests in flight."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: KeyVault,
        config: DeliveryConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.config = config
        self.clock = clock
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Until cancelled; a failed poll (database away) is logged and tried again."""
        async with httpx.AsyncClient(
            timeout=self.config.timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the pinned address is used
            # No connection reuse: a pooled connection is keyed by address, and two receivers
            # behind one address must not share a TLS session made for the other's name.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": "Lattice-Webhooks/1"},
        ) as http:
            try:
                while True:
                    await self._poll(http)
            finally:
                for task in self._in_flight:
                    task.cancel()
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _poll(self, http: httpx.AsyncClient) -> None:
        free = self.config.concurrency - len(self._in_flight)
        claimed: list[Claimed] = []
        if free > 0:
            try:
                claimed = await claim_due(
                    self.sessions, self.vault, self.config, free, self.clock()
                )
            except Exception:
                logger.exception("could not read the webhook outbox")
        for item in claimed:
            task = asyncio.create_task(self._deliver(http, item))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if free > len(claimed) or not self._in_flight:
            await asyncio.sleep(self.config.poll_seconds)  # nothing more is due yet
        else:  # every slot is busy: go on as soon as one frees up
            await asyncio.wait(
                set(self._in_flight),
                timeout=self.config.poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )

    async def _deliver(self, http: httpx.AsyncClient, claimed: Claimed) -> None:
        try:
            outcome = await send(http, claimed, self.config)
        except Exception as error:
            # Still recorded, so the delivery backs off and is given up like any failure.
            logger.exception("webhook delivery %s failed unexpectedly", claimed.id)
            outcome = Outcome(None, f"{type(error).__name__}: {error}")
        try:
            # Jitter spreads the retries of many failed deliveries to one recovering receiver.
            await record_outcome(
                self.sessions,
                self.config,
                claimed,
                outcome,
                self.clock(),
                jitter=_RANDOM.uniform(0.8, 1.2),
            )
        except Exception:
            # The lease runs out and the delivery is tried again.
            logger.exception("could not record webhook delivery %s", claimed.id)
