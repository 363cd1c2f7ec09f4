"""Issuance requests (single, batch, W3C VC-API) and their responses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import EmailStr, Field, HttpUrl, model_validator

from schemas.api.base import ApiModel, AwareDatetime, TextBlock, TextLine


class RecipientIn(ApiModel):
    email: EmailStr | None = None
    educator_id: str | None = Field(
        default=None, max_length=64, description="State educator ID (license number)."
    )
    state: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="Two-letter code of the state that issued educatorId.",
    )
    name: TextLine | None = Field(default=None, max_length=300)
    did: str | None = Field(
        default=None,
        max_length=2000,
        description="The recipient's DID, written as credentialSubject.id.",
    )


class EvidenceIn(ApiModel):
    url: HttpUrl | None = None
    name: TextLine | None = Field(default=None, max_length=500)
    narrative: TextBlock | None = Field(default=None, max_length=50_000)
    description: TextBlock | None = Field(default=None, max_length=10_000)
    genre: TextLine | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _not_empty(self) -> EvidenceIn:
        if not (self.url or self.narrative or self.name):
            raise ValueError("evidence needs a url, a name or a narrative")
        return self


class ResultIn(ApiModel):
    result_description: str = Field(
        min_length=1, max_length=2000, description="Key (or id) of the rubric row."
    )
    achieved_level: str | None = Field(default=None, max_length=2000)
    value: str | None = Field(default=None, max_length=200)
    status: str | None = None


class AwardIn(ApiModel):
    achievement_id: str = Field(
        min_length=1,
        max_length=2000,
        description="One of this issuer's achievements: its UUID or its IRI.",
    )
    recipient: RecipientIn
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=100)
    results: list[ResultIn] = Field(default_factory=list, max_length=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    awarded_date: AwareDatetime | None = None
    jwt_algorithm: Literal["RS256", "EdDSA"] | None = None
    did_method: Literal["web", "key"] = "web"
    notify_recipient: bool = Field(
        default=False,
        description="E-mail the recipient (recipient.email) a one-time claim link that signs "
        "her in and lands on the badge. Sent once the credential is stored; never on a replay.",
    )


class BatchItemIn(AwardIn):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class BatchIn(ApiModel):
    items: list[BatchItemIn] = Field(min_length=1)


class VcApiIssueIn(ApiModel):
    """W3C VC-API `IssueCredentialRequest`."""

    credential: dict[str, Any] = Field(
        description="An unsigned VCDM 2.0 or 1.1 credential whose issuer is this issuer "
        "(its did:web or did:key). Only bundled JSON-LD contexts may be used."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="`created` (the proof's time), `proofPurpose` (only assertionMethod) and "
        '`credentialStatus`: `{"type": "BitstringStatusListEntry", "statusPurpose": '
        '"revocation" | "suspension"}`. Without it, a VCDM 2.0 credential that has no '
        "credentialStatus of its own gets one revocation entry.",
    )
