"""Status changes (revoke, suspend, unsuspend) and status answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.api.base import ApiModel


class StatusChangeIn(ApiModel):
    reason: str = Field(min_length=1, max_length=2000, description="Kept in the audit log.")


class EventOut(ApiModel):
    event_type: str
    occurred_at: datetime
    actor: str | None
    reason: str | None


class StatusOut(ApiModel):
    credential_id: str
    at: datetime
    status: str = Field(description="active, revoked or suspended at `at`.")
    validity: str = Field(description="valid, expired, not_yet_valid or not_issued at `at`.")
    in_good_standing: bool
    events: list[EventOut]
