"""Agency requests and responses: its purposes, its criteria other than MCs, and the
records it keeps of educators meeting them (and of hold harmless)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, HttpUrl

from schemas.api.base import ApiModel, AwareDatetime, TextBlock, TextLine


class PurposeIn(ApiModel):
    key: str = Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]+$")
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=5000)


class PurposeOut(ApiModel):
    key: str
    name: str
    description: str | None = None
    standard: bool = Field(description="One of the six policy areas every agency has.")


class CriterionIn(ApiModel):
    key: str = Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]+$",
        description='What role rules name: `{"criterion": "<key>"}`.',
    )
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=5000)


class CriterionOut(CriterionIn):
    id: str


class _Period(ApiModel):
    valid_from: AwareDatetime = Field(description="From when it holds.")
    valid_until: AwareDatetime | None = Field(default=None, description="Until when, if known.")


class CriterionRecordIn(_Period):
    criterion: str = Field(min_length=1, max_length=64, description="The criterion's key.")
    evidence: TextBlock | None = Field(default=None, max_length=5000)
    evidence_url: HttpUrl | None = None


class RoleHoldIn(_Period):
    lattice_id: str = Field(
        min_length=1, max_length=2000, description="The lattice, by its UUID or its IRI."
    )
    role: str = Field(min_length=1, max_length=64, description="The role's key in the lattice.")
    basis: TextBlock = Field(
        min_length=1,
        max_length=5000,
        description="How she held the role before (e.g. a district designation of 2019).",
    )


class WithdrawalIn(ApiModel):
    reason: TextBlock = Field(min_length=1, max_length=5000)
    at: AwareDatetime | None = Field(
        default=None, description="When it stops counting (default now; not before it was made)."
    )


class _RecordOut(ApiModel):
    id: str
    valid_from: datetime
    valid_until: datetime | None
    recorded_by: str | None
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str | None


class CriterionRecordOut(_RecordOut):
    criterion: str
    name: str
    evidence: str | None
    evidence_url: str | None


class RoleHoldOut(_RecordOut):
    lattice_id: str
    role: str
    basis: str


class RecordsOut(ApiModel):
    criteria: list[CriterionRecordOut]
    role_holds: list[RoleHoldOut]
