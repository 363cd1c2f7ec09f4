"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.api.base import ApiModel

EventType = Literal[
    "credential.issued", "credential.revoked", "credential.suspended", "credential.unsuspended"
]


class WebhookIn(ApiModel):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="Receiver URL: https, on a public address.",
        examples=["https://platform.example.org/lattice-events"],
    )
    events: list[EventType] | None = Field(
        default=None, min_length=1, max_length=4, description="Event types sent; default all."
    )


class WebhookOut(ApiModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime


class NewWebhookOut(WebhookOut):
    secret: str = Field(
        description="Key of the `Lattice-Signature` HMAC-SHA256 (UTF-8 bytes of this string). "
        "Shown only in this response."
    )


class DeliveryOut(ApiModel):
    id: str = Field(description="Also sent as the `Lattice-Delivery` header and body `id`.")
    event_type: str
    credential_id: str
    status: str = Field(
        description="pending (not tried yet), failed (last try failed; retried at "
        "nextAttemptAt), delivered, or given_up (failing for a day)."
    )
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
