"""State query requests and answers: evaluation runs, holders, progress, reports, expiring."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.api.agencies import EducatorRef
from schemas.api.base import ApiModel, AwareDatetime


class RunTargetOut(ApiModel):
    kind: str = Field(description="stack or role")
    id: str = Field(description="The stack's or role's public URL.")
    name: str
    met: int = Field(description="Educators who meet it.")


class NotEvaluatedOut(ApiModel):
    reason: str = Field(description="Why these educators were not evaluated.")
    educators: int


class RunOut(ApiModel):
    at: datetime
    educators: int = Field(description="All of the agency's educators.")
    evaluated: int = Field(description="Those holding a credential the rules name.")
    not_evaluated: list[NotEvaluatedOut] = Field(
        default_factory=list,
        description="The others, counted by why they were not evaluated.",
    )
    seconds: float
    opened: int = Field(
        default=0, description="Completion periods begun (or continued on new terms)."
    )
    closed: int = Field(
        default=0,
        description="Completion periods ended, at the time of what ended them (never deleted).",
    )
    targets: list[RunTargetOut]


class HolderOut(ApiModel):
    educator: str = Field(description="The educator's id (as returned when registered).")
    district: str | None
    completed_at: datetime | None = Field(
        description="Stacks and roles: when completed. Achievements: when first earned."
    )
    expires_at: datetime | None = Field(
        description="When it lapses if nothing new is earned (null: it does not)."
    )


class HoldersOut(ApiModel):
    at: datetime
    evaluated_at: datetime | None = Field(
        default=None, description="Stacks and roles: when the completions were last run in full."
    )
    items: list[HolderOut]
    next: str | None = Field(description="Cursor of the next page; null on the last one.")


class ExpiringOut(ApiModel):
    educator: str
    district: str | None
    kind: str
    target: str = Field(description="The stack's or role's public URL.")
    name: str
    completed_at: datetime | None
    expires_at: datetime


class ExpiringPageOut(ApiModel):
    at: datetime
    days: int
    items: list[ExpiringOut]
    next: str | None


class ProgressIn(ApiModel):
    educator: EducatorRef
    at: AwareDatetime | None = Field(default=None, description="Evaluation date (default now).")
    verify_proofs: bool = Field(
        default=False, description="Also re-check each credential's proof (slower)."
    )


class CountedOut(ApiModel):
    credential_id: str
    achievement_id: str
    earned_at: datetime


class RejectedOut(ApiModel):
    credential_id: str
    achievement_id: str
    reason: str


class TargetProgressOut(ApiModel):
    id: str = Field(description="The stack's or role's public URL.")
    name: str
    met: bool
    counted: list[CountedOut]
    rejected: list[RejectedOut]
    missing: list[str]
    completed_at: datetime | None = Field(description="From the last completions run.")
    expires_at: datetime | None
    evaluated_at: datetime | None


class StackProgressOut(TargetProgressOut):
    code: str
    revision: int


class RoleProgressOut(TargetProgressOut):
    lattice: str
    key: str


class ProgressOut(ApiModel):
    educator: str = Field(
        description="The agency's educator (its id); a person the agency has not registered "
        "or received a submission for is a 404."
    )
    at: datetime
    stacks: list[StackProgressOut]
    roles: list[RoleProgressOut]


class ReportOut(ApiModel):
    measure: str
    period: str
    start: datetime | None = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    by: list[str]
    rows: list[dict[str, str | int | None]]
