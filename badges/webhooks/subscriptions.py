"""Webhook subscriptions, and the outbox that queues credential events for them.

A credential event becomes one `webhook_deliveries` row per subscription that wants it,
written by the same flush as the event itself: a rolled-back issuance sends nothing and a
committed one is never lost. `badges.webhooks.delivery` sends the rows.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from badges.errors import InvalidInput, NotFound
from badges.issuers.issuers import KeyVault
from net.addresses import (
    is_public_address,
    parse_address,
)
from storage.models import Client, Issuer, WebhookDelivery, WebhookSubscription, utcnow
from storage.session import kept_for_transaction, take_kept

EVENT_TYPES: Final = (
    "credential.issued",
    "credential.revoked",
    "credential.suspended",
    "credential.unsuspended",
)
_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")
# Where events wait between `enqueue` and the flush that writes their rows.
_PENDING: Final = "lattice.webhook_events"


@dataclass(frozen=True)
class UrlPolicy:
    """Which receiver URLs are accepted; both relaxations are for development and tests."""

    allow_http: bool = False
    allow_private: bool = False


@dataclass(frozen=True)
class NewSubscription:
    """A registered subscription with its signing secret, which is shown this once."""

    subscription: WebhookSubscription
    secret: str


def check_url(url: str, policy: UrlPolicy) -> str:
    """The URL if a webhook may be sent to it; InvalidInput (field `url`) saying why not.

    Names are resolved (and re-checked) at each delivery; here only what the URL itself
    shows is judged: scheme, host literal, `localhost`.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidInput(f"url is not a valid URL: {error}", field=("url",)) from None
    schemes = {"https", "http"} if policy.allow_http else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        wanted = "an absolute http(s) URL" if policy.allow_http else "an absolute https URL"
        raise InvalidInput(f"url must be {wanted}", field=("url",))
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "url must not carry credentials; receivers authenticate requests by their signature",
            field=("url",),
        )
    if parts.fragment or port == 0:
        raise InvalidInput("url must have no fragment and a non-zero port", field=("url",))
    if not policy.allow_private and _is_local(parts.hostname):
        raise InvalidInput("url points to a loopback, private or reserved address", field=("url",))
    return parts.geturl()


def _is_local(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return not is_public_address(parse_address(host))
    except ValueError:
        return False  # a name: judged when it is resolved, at delivery


def check_events(events: Sequence[str] | None) -> list[str]:
    """The event types asked for, in canonical order; all of them when none are named."""
    if not events:
        return list(EVENT_TYPES)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
            field=("events",),
        )
    return [name for name in EVENT_TYPES if name in events]


def secret_context(subscription_id: uuid.UUID) -> bytes:
    # Bound to its row: a sealed secret copied to another subscription does not open.
    return b"lattice-webhook-secret:" + subscription_id.bytes


async def create_subscription(
    session: AsyncSession,
    vault: KeyVault,
    issuer: Issuer,
    client: Client,
    url: str,
    events: Sequence[str] | None,
    policy: UrlPolicy,
) -> NewSubscription:
    checked_url = check_url(url, policy)
    chosen = check_events(events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription_id = uuid.uuid4()
    row = WebhookSubscription(
        id=subscription_id,
        issuer_id=issuer.id,
        client_id=client.id,
        url=checked_url,
        events=chosen,
        secret_encrypted=vault.seal_secret(
            secret.encode("ascii"), context=secret_context(subscription_id)
        ),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return NewSubscription(row, secret)


async def list_subscriptions(session: AsyncSession, issuer: Issuer) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.issuer_id == issuer.id)
    return list(await session.scalars(query.order_by(WebhookSubscription.created_at)))


async def get_subscription(
    session: AsyncSession, issuer: Issuer, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """A subscription of `issuer`; another issuer's is reported as not found."""
    row = await session.get(WebhookSubscription, subscription_id)
    if row is None or row.issuer_id != issuer.id:
        raise NotFound(f"no webhook {subscription_id} of issuer {issuer.slug!r}")
    return row


async def delete_subscription(
    session: AsyncSession, issuer: Issuer, subscription_id: uuid.UUID
) -> None:
    """Stop sending to a subscription; its undelivered events are dropped with it."""
    row = await get_subscription(session, issuer, subscription_id)
    # The database cascades to the deliveries (the ORM knows no relationship to them).
    await session.delete(row)
    await session.flush()


async def list_deliveries(
    session: AsyncSession, issuer: Issuer, subscription_id: uuid.UUID, limit: int
) -> list[WebhookDelivery]:
    """The subscription's most recent deliveries, newest first."""
    row = await get_subscription(session, issuer, subscription_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == row.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


@dataclass(frozen=True)
class _Event:
    issuer_id: uuid.UUID
    event_type: str
    credential_id: uuid.UUID
    occurred_at: datetime
    reason: str | None


def enqueue(
    session: AsyncSession,
    issuer_id: uuid.UUID,
    event_type: str,
    credential_id: uuid.UUID,
    *,
    occurred_at: datetime,
    reason: str | None = None,
) -> None:
    """Queue a credential event for every subscription of the issuer that wants it.

    Synchronous, like the `session.add` calls it sits beside: the delivery rows are
    written by the session's next flush (or its commit), in the caller's transaction.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    queued = _Event(issuer_id, event_type, credential_id, occurred_at, reason)
    kept_for_transaction(session, _PENDING).append(queued)


# Built once: every issuance's commit runs it (see `badge_alignments._VERSION`).
_SUBSCRIPTIONS: Final = select(
    WebhookSubscription.id, WebhookSubscription.issuer_id, WebhookSubscription.events
).where(WebhookSubscription.issuer_id.in_(bindparam("issuer_ids", expanding=True)))


def _write_outbox(session: Session) -> None:
    """Turn the queued events into delivery rows (one per interested subscription)."""
    events: list[_Event] = take_kept(session, _PENDING)
    if not events:
        return
    with session.no_autoflush:
        # On the connection: the ORM's per-statement work is not needed for plain rows.
        subscriptions = (
            session.connection()
            .execute(_SUBSCRIPTIONS, {"issuer_ids": list({item.issuer_id for item in events})})
            .all()
        )
    if not subscriptions:
        return
    now = utcnow()
    session.add_all(
        WebhookDelivery(
            id=uuid.uuid4(),
            subscription_id=subscription_id,
            event_type=item.event_type,
            credential_id=item.credential_id,
            occurred_at=item.occurred_at,
            reason=item.reason,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        for item in events
        for subscription_id, issuer_id, wanted in subscriptions
        if issuer_id == item.issuer_id and item.event_type in wanted
    )


# Flush hooks run inside SQLAlchemy's greenlet, so the synchronous query above is allowed
# even under AsyncSession; objects added in before_flush are part of that same flush.
@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write_outbox(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_outbox(session)  # events queued after the last flush, with nothing else to flush
