"""Webhooks: providers register URLs that are sent their issuer's credential events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.deps import Provider, RequireScopes, Session, State
from badges.webhooks.subscriptions import (
    UrlPolicy,
    create_subscription,
    delete_subscription,
    list_deliveries,
    list_subscriptions,
)
from schemas.api.webhooks import DeliveryOut, NewWebhookOut, WebhookIn, WebhookOut
from storage.models import WebhookDelivery, WebhookSubscription

router = APIRouter(tags=["webhooks"])
Manager = Annotated[Provider, Depends(RequireScopes("webhooks:manage"))]


def _out(row: WebhookSubscription) -> WebhookOut:
    return WebhookOut(id=str(row.id), url=row.url, events=row.events, created_at=row.created_at)


def _delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=str(row.id),
        event_type=row.event_type,
        credential_id=str(row.credential_id),
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
    )


@router.post(
    "/v1/webhooks", status_code=201, response_model=NewWebhookOut, response_model_by_alias=True
)
async def register(
    body: WebhookIn, provider: Manager, session: Session, state: State
) -> NewWebhookOut:
    """Send credential events to a URL; the response holds its signing secret, shown once."""
    policy = UrlPolicy(
        allow_http=state.settings.webhooks_allow_http,
        allow_private=state.settings.webhooks_allow_private,
    )
    created = await create_subscription(
        session, state.vault, provider.issuer, provider.client, body.url, body.events, policy
    )
    return NewWebhookOut(**_out(created.subscription).model_dump(), secret=created.secret)


@router.get("/v1/webhooks", response_model=list[WebhookOut], response_model_by_alias=True)
async def list_all(provider: Manager, session: Session) -> list[WebhookOut]:
    """The issuer's webhook subscriptions (without their secrets)."""
    return [_out(row) for row in await list_subscriptions(session, provider.issuer)]


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, response_class=Response)
async def remove(webhook_id: uuid.UUID, provider: Manager, session: Session) -> Response:
    """Stop sending to a URL; its undelivered events are dropped."""
    await delete_subscription(session, provider.issuer, webhook_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    response_model_by_alias=True,
)
async def deliveries(
    webhook_id: uuid.UUID,
    provider: Manager,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most deliveries returned.")] = 100,
) -> list[DeliveryOut]:
    """The subscription's deliveries, newest first: state, attempts, last answer, next try."""
    rows = await list_deliveries(session, provider.issuer, webhook_id, limit)
    return [_delivery_out(row) for row in rows]
