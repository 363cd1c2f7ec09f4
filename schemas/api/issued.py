"""The list of an issuer's issued credentials, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.api.base import ApiModel

IssuedStatusOut = Literal["active", "revoked", "suspended", "expired"]


class IssuedCredentialOut(ApiModel):
    id: str
    url: str
    achievement_id: str | None = Field(description="The revision the credential was issued for.")
    achievement_name: str | None
    recipient_name: str | None = Field(description="The name written in the credential, if any.")
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    status: IssuedStatusOut = Field(
        description="At the page's moment: revoked, else suspended, else expired, else active."
    )


class IssuedPageOut(ApiModel):
    items: list[IssuedCredentialOut]
    next: str | None = Field(
        description="Pass as `cursor` for the next page (same filters); null on the last page."
    )
