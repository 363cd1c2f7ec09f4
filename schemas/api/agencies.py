"""Agency requests and responses: vetting decisions, educators, stacks, lattices, evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field, model_validator

from schemas.api.base import MAX_WINDOW_DAYS, ApiModel, AwareDatetime, TextBlock, TextLine
from schemas.api.rules import AchievementRef, LatticeRef, RuleDocument, StackRef


class ApprovalIn(ApiModel):
    achievement_id: AchievementRef
    purpose: str
    decision: Literal["approved", "declined", "proposed"] = "approved"
    effective_from: AwareDatetime | None = None
    effective_until: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=5000)


class ApprovalOut(ApprovalIn):
    achievement_id: str = Field(description="The achievement's IRI.")
    id: str
    decided_by: str | None


class EducatorRef(ApiModel):
    """How an agency names an educator: state educator ID with its state, and/or e-mail."""

    educator_id: str | None = Field(default=None, max_length=64)
    state: str | None = Field(default=None, min_length=2, max_length=2)
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _something(self) -> EducatorRef:
        if not (self.email or (self.educator_id and self.state)):
            raise ValueError("give educatorId with state, or email")
        return self


class EducatorIn(EducatorRef):
    district: str | None = Field(default=None, max_length=200)
    since: AwareDatetime | None = Field(
        default=None,
        description="When she joined `district` (default: now for a move; for a new "
        "educator, her first district covers everything before it).",
    )


class EducatorMoveIn(ApiModel):
    """A move to another district (null: none) from `since` on; earlier dates keep theirs."""

    district: str | None = Field(max_length=200)
    since: AwareDatetime | None = Field(
        default=None,
        description="When the move took effect (default now); after her last district change.",
    )


class DistrictPeriodOut(ApiModel):
    district: str
    valid_from: datetime | None = Field(description="null: from before anything recorded.")
    valid_until: datetime | None = Field(description="null: still her district.")


class EducatorOut(ApiModel):
    id: str
    district: str | None = Field(description="Her district now.")
    identifiers: int = Field(description="How many identifiers are registered (never shown).")
    districts: list[DistrictPeriodOut] = Field(
        default_factory=list, description="Every district she has been in, and when."
    )


class StackIn(ApiModel):
    code: TextLine = Field(min_length=1, max_length=100)
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=10_000)
    rule: RuleDocument = Field(
        description='e.g. {"atLeast": 3, "of": [achievement UUIDs or IRIs]}; a group may say '
        '"shareCredentials": true to let one MC count toward several of its parts'
    )
    window_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WINDOW_DAYS,
        description=f"Earned within this many days (1 to {MAX_WINDOW_DAYS}: 100 years).",
    )
    purpose: str | None = Field(default=None, description="Count only MCs approved for this.")
    approval_at: Literal["earned", "evaluation"] = Field(
        default="earned",
        description=(
            "When an MC must be approved for `purpose`: `earned` (default): on the day it was "
            "earned, so a later withdrawal does not take it back (or, if approved after it was "
            "earned, from the approval on); `evaluation`: on the evaluation date."
        ),
    )


class RoleIn(ApiModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=10_000)
    rule: RuleDocument = Field(
        description='e.g. {"all": [{"stack": stack UUID or IRI}, {"criterion": key}]}: each MC '
        'counts toward one stack of the role unless the group says "shareCredentials": true'
    )
    precedes: list[str] = Field(default_factory=list, description="Keys of later roles.")


class LatticeIn(ApiModel):
    name: TextLine = Field(min_length=1, max_length=500)
    description: TextBlock | None = Field(default=None, max_length=10_000)
    roles: list[RoleIn] = Field(min_length=1, max_length=100)


class EvaluationIn(ApiModel):
    educator: EducatorRef
    stack_id: StackRef | None = None
    lattice_id: LatticeRef | None = None
    role: str | None = Field(default=None, description="A role key of lattice_id.")
    at: AwareDatetime | None = Field(default=None, description="Evaluation date (default now).")
    verify_proofs: bool = Field(default=True, description="Re-check each credential's proof.")

    @model_validator(mode="after")
    def _target(self) -> EvaluationIn:
        if bool(self.stack_id) == bool(self.lattice_id):
            raise ValueError("give stackId, or latticeId (with an optional role)")
        if self.role and not self.lattice_id:
            raise ValueError("role needs latticeId")
        return self


class SubmissionIn(ApiModel):
    """Credentials from other issuers for one educator (e.g. a license renewal packet)."""

    educator: EducatorRef
    credentials: list[dict[str, Any] | str] = Field(
        min_length=1, max_length=100, description="Credential objects or VC-JWT strings."
    )


class RunTargetStatusOut(ApiModel):
    kind: str = Field(description="stack or role")
    name: str
    met: int | None = Field(description="Educators who meet it (once the run is done).")


class EvaluationRunOut(ApiModel):
    """A background re-evaluation a stack revision started."""

    id: str
    url: str
    stack: str = Field(description="The revision that started it (its public URL).")
    status: Literal["pending", "running", "done", "failed"]
    created_at: datetime
    finished_at: datetime | None
    targets: list[RunTargetStatusOut] = Field(
        description="The stacks and roles evaluated in full before whose rule counts this "
        "stack (known once running); their stored completions are brought up to date."
    )
    educators: int | None = Field(description="All of the agency's educators (once done).")
    evaluated: int | None = Field(description="Those holding a credential the rules name.")
    not_evaluated: list[dict[str, Any]] = Field(
        default_factory=list, description="The others: reason and how many educators."
    )
    error: str | None = None
