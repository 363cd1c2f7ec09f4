"""Vetting requests and answers: the rubric, requests from providers, teachers and agency
staff, reviews, decisions, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import Field, StrictInt

from schemas.api.base import ApiModel, AwareDatetime, TextBlock, TextLine

HttpUrlText = Annotated[TextLine, Field(max_length=2000, pattern=r"^https?://\S+$")]
Purpose = Annotated[TextLine, Field(min_length=1, max_length=32, description="A purpose key.")]
AgencyRef = Annotated[
    TextLine,
    Field(
        min_length=1,
        max_length=2000,
        description="The agency: its issuer slug, its profile URL or DID, or its id.",
    ),
]
States = Literal["submitted", "in_review", "approved", "declined", "withdrawn"]

# A rubric's bounds (`badges.policy.vetting_rubric` checks them for the domain too).
MAX_CRITERIA: Final = 50
MAX_SCALE: Final = 100


# --- rubric ----------------------------------------------------------------------------------


class VettingScale(ApiModel):
    min: StrictInt = Field(ge=0, le=MAX_SCALE)
    max: StrictInt = Field(ge=1, le=MAX_SCALE)


class VettingCriterion(ApiModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: TextLine = Field(min_length=1, max_length=200)
    description: TextBlock = Field(default="", max_length=2000)
    scale: VettingScale
    passing: StrictInt = Field(ge=0, le=MAX_SCALE, description="The least score that meets it.")


class VettingRubric(ApiModel):
    criteria: list[VettingCriterion] = Field(min_length=1, max_length=MAX_CRITERIA)


class VettingRubricOut(VettingRubric):
    default: bool = Field(description="Whether this is the service's default rubric.")


# --- requests --------------------------------------------------------------------------------


class ProviderVettingIn(ApiModel):
    """A provider asks an agency to vet one of its own achievements for a purpose."""

    agency: AgencyRef
    purpose: Purpose
    achievement_id: TextLine = Field(
        min_length=1, max_length=2000, description="The achievement's id or IRI."
    )
    statement: TextBlock | None = Field(default=None, max_length=10_000)


class TeacherVettingIn(ApiModel):
    """A teacher asks an agency to vet an MC from elsewhere."""

    agency: AgencyRef
    purpose: Purpose
    name: TextLine | None = Field(
        default=None, max_length=500, description="Required unless the credential names it."
    )
    provider: TextLine | None = Field(
        default=None, max_length=500, description="Required unless the credential names it."
    )
    url: HttpUrlText | None = Field(
        default=None, description="The MC's page; required without a credential."
    )
    achievement_id: TextLine | None = Field(
        default=None, max_length=2000, description="The achievement's IRI, if known."
    )
    credential: dict[str, Any] | str | None = Field(
        default=None, description="The credential she holds: JSON, or a VC-JWT."
    )
    statement: TextBlock | None = Field(default=None, max_length=10_000)


class AgencyVettingIn(ApiModel):
    """Agency staff open a request themselves."""

    purpose: Purpose
    achievement_id: TextLine = Field(min_length=3, max_length=2000, description="Achievement IRI.")
    name: TextLine | None = Field(
        default=None, max_length=500, description="Required unless it is this service's."
    )
    provider: TextLine | None = Field(default=None, max_length=500)
    url: HttpUrlText | None = None
    statement: TextBlock | None = Field(default=None, max_length=10_000)


class VettingReviewIn(ApiModel):
    scores: dict[Annotated[str, Field(max_length=64)], StrictInt] = Field(
        max_length=MAX_CRITERIA, description="Criterion key → score, one for every criterion."
    )
    recommendation: Literal["approve", "decline", "revise"]
    comment: TextBlock | None = Field(default=None, max_length=10_000)
    reviewer: TextLine | None = Field(
        default=None, max_length=200, description="The person reviewing (default: the client)."
    )


class VettingDecisionIn(ApiModel):
    decision: Literal["approved", "declined"]
    effective_from: AwareDatetime | None = Field(default=None, description="Approvals: required.")
    effective_until: AwareDatetime | None = None
    note: TextBlock | None = Field(default=None, max_length=5000)


class VettingWithdrawIn(ApiModel):
    reason: TextBlock | None = Field(default=None, max_length=5000)


# --- answers ---------------------------------------------------------------------------------


class VettingOutcomeOut(ApiModel):
    state: Literal["approved", "declined", "withdrawn"]
    at: datetime
    note: str | None
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    approval_id: str | None = None


class VettingRequestOut(ApiModel):
    """A request as its requester sees it."""

    id: str
    agency: str = Field(description="The agency's issuer slug.")
    agency_name: str
    purpose: str
    achievement_id: str = Field(description="The IRI an approval names.")
    name: str
    provider: str | None
    issuer_id: str | None
    url: str | None
    statement: str | None
    state: States
    created_at: datetime
    decided_at: datetime | None
    outcome: VettingOutcomeOut | None


class VettingRequesterOut(ApiModel):
    kind: Literal["provider", "teacher", "agency"]
    id: str = Field(description="The issuer's, teacher's or agency's id.")


class VettingSummaryOut(VettingRequestOut):
    """A request in the agency's queue."""

    requested_by: VettingRequesterOut
    review_count: int


class VettingReviewOut(ApiModel):
    id: str
    reviewer: str
    rubric: VettingRubric = Field(description="The rubric as it was when scored.")
    scores: dict[str, int]
    meets_rubric: bool
    below_passing: list[str] = Field(description="Criteria scored under their pass mark.")
    recommendation: str
    comment: str | None
    created_at: datetime


class VettingEventOut(ApiModel):
    action: str = Field(description="submitted, review_added, decided or withdrawn")
    actor: str = Field(description="provider:, teacher: or agency: and who")
    at: datetime
    detail: dict[str, Any]


class VettingDetailOut(VettingSummaryOut):
    """A request with everything the agency holds on it."""

    credential: str | None = Field(description="The credential the teacher sent, as sent.")
    approval_id: str | None
    reviews: list[VettingReviewOut]
    events: list[VettingEventOut] = Field(description="The audit trail, oldest first.")


class VettingPageOut(ApiModel):
    items: list[VettingSummaryOut]
    next: str | None = Field(description="Cursor of the next page; null on the last one.")


class VettingRequestsOut(ApiModel):
    items: list[VettingRequestOut]
    next: str | None = Field(description="Cursor of the next page; null on the last one.")
