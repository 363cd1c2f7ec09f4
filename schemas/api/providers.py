"""Approved providers (the agency's issuer registry) and the public curated list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, HttpUrl, UrlConstraints

from schemas.api.base import ApiModel, AwareDatetime, TextLine

# As long as the column that keeps it.
WebAddress = Annotated[HttpUrl, UrlConstraints(max_length=2000)]


class ProviderIn(ApiModel):
    """An issuer the agency approves as a provider, from `validFrom` (default now)."""

    issuer_id: TextLine = Field(
        min_length=3,
        max_length=2000,
        pattern=r"^(did:[a-z0-9]+:|https?://)",
        description="The issuer's DID or http(s) URL, exactly as its credentials name it "
        "(`issuer.id`).",
    )
    name: TextLine = Field(min_length=1, max_length=500, description="Who the provider is.")
    url: WebAddress | None = Field(default=None, description="The provider's website.")
    valid_from: AwareDatetime | None = Field(
        default=None,
        description="Approved from (default now); earlier than now records an approval "
        "that began before it was entered here.",
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="Approved until (default: until withdrawn)."
    )


class ProviderOut(ApiModel):
    id: str
    issuer_id: str
    name: str
    url: str | None
    valid_from: datetime
    valid_until: datetime | None = Field(description="null: until withdrawn.")
    recorded_by: str | None
    recorded_at: datetime


class WithdrawalIn(ApiModel):
    at: AwareDatetime | None = Field(
        default=None,
        description="When the approval ends (default now); never in the past, so that "
        "dates already answered keep their answer.",
    )


class CuratedMicroCredentialOut(ApiModel):
    achievement_id: str = Field(description="The achievement's IRI.")
    name: str
    provider: str | None = Field(description="Its issuer's name, when known.")
    approved_since: datetime | None
    approved_until: datetime | None = Field(description="null: until decided otherwise.")


class CuratedPurposeOut(ApiModel):
    purpose: str = Field(description="The purpose's key, as approvals and stacks name it.")
    name: str = Field(description="The purpose in plain words.")
    micro_credentials: list[CuratedMicroCredentialOut]


class CuratedProviderOut(ApiModel):
    issuer_id: str = Field(description="The issuer's DID or URL (`issuer.id`).")
    name: str
    url: str | None
    approved_since: datetime


class CuratedAgencyOut(ApiModel):
    slug: str
    name: str
    state: str
    profile: str = Field(description="The agency's issuer profile.")


class CuratedListOut(ApiModel):
    """The MCs the agency has approved, per purpose, and its approved providers, on
    `asOf`, counting only what it had recorded by then."""

    agency: CuratedAgencyOut
    as_of: datetime
    purposes: list[CuratedPurposeOut]
    providers: list[CuratedProviderOut]
