"""LEAs, the options they choose, the rule that applies to an educator, and the research
report by LEA and option: requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.api.base import ApiModel, AwareDatetime, TextBlock, TextLine
from schemas.api.state_queries import CountedOut, RejectedOut


class DistrictIn(ApiModel):
    code: TextLine = Field(
        min_length=1,
        max_length=200,
        description="As educators' memberships name it (their `district`), exactly.",
    )
    name: TextLine = Field(min_length=1, max_length=500)


class ChoiceOut(ApiModel):
    purpose: str
    option: str = Field(description="The option's key.")
    option_name: str
    valid_from: datetime
    valid_until: datetime | None = Field(description="null: still its choice.")
    recorded_by: str | None
    recorded_at: datetime


class DistrictOut(ApiModel):
    id: str
    code: str
    name: str
    created_at: datetime
    options: list[ChoiceOut] = Field(
        description="The option it follows now, one per purpose it has chosen for."
    )


class DistrictDetailOut(DistrictOut):
    history: list[ChoiceOut] = Field(
        description="Every choice it has made, by purpose and then oldest first."
    )


class ChoiceIn(ApiModel):
    """The LEA follows `option` for `purpose` from `validFrom` on."""

    purpose: str = Field(max_length=32)
    option: str = Field(max_length=64, description="The option's key (for that purpose).")
    valid_from: AwareDatetime | None = Field(
        default=None,
        description="When it takes effect (default now; may be ahead). After the start of "
        "the LEA's current choice for the purpose: earlier periods are never rewritten.",
    )


class OptionIn(ApiModel):
    purpose: str = Field(max_length=32)
    key: str = Field(max_length=64, description='e.g. "option-2"')
    name: TextLine = Field(min_length=1, max_length=500, description='e.g. "3 MCs in 5 years"')
    description: TextBlock | None = Field(default=None, max_length=10_000)
    stack: str = Field(
        min_length=1,
        max_length=2000,
        description="The stack whose rule the option applies: its id or its IRI.",
    )


class OptionOut(ApiModel):
    id: str
    purpose: str
    key: str
    name: str
    description: str | None
    stack: str | None = Field(description="The stack's current revision (its IRI).")
    stack_name: str | None
    created_at: datetime


class AppliedDistrictOut(ApiModel):
    code: str
    name: str | None = Field(description="null: the LEA is not registered.")
    registered: bool
    member_from: datetime | None = Field(description="When she joined it (null: before records).")
    member_until: datetime | None = Field(
        description="When she left it, as recorded now (null: not since)."
    )


class AppliedOptionOut(ApiModel):
    key: str
    name: str
    description: str | None
    chosen_from: datetime = Field(description="When the LEA began to follow it.")
    chosen_until: datetime | None = Field(
        description="When the LEA stopped following it, as recorded now (null: not since)."
    )
    stack: str = Field(description="The stack revision applied: the one in effect on `at`.")
    stack_name: str
    revision: int


RequirementStatus = Literal["met", "not_met", "no_district", "district_not_registered", "no_option"]


class RequirementOut(ApiModel):
    educator: str
    purpose: str
    purpose_name: str
    at: datetime
    status: RequirementStatus = Field(
        description="met / not_met under her LEA's option; or why no option applied: in "
        "no LEA, in an LEA not registered, or in one that had chosen none."
    )
    summary: str = Field(description="The answer in words.")
    district: AppliedDistrictOut | None
    option: AppliedOptionOut | None
    met: bool | None = Field(description="null: no option applied to her then.")
    counted: list[CountedOut] = Field(default_factory=list)
    rejected: list[RejectedOut] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="What is missing, in words.")


class OptionRunOut(ApiModel):
    option: str
    option_name: str
    stack: str | None = Field(description="Its stack's current revision (IRI).")
    evaluated_at: datetime | None = Field(
        description="When the stack was last evaluated for all educators (null: never; "
        "its `met` counts are empty until its evaluate-all is run)."
    )


class DistrictRowOut(ApiModel):
    period: str
    as_of: datetime = Field(description="The moment counted: the period's end, or `to`.")
    district: str | None = Field(description="The LEA's code; null: educators in no LEA.")
    district_name: str | None
    registered: bool
    option: str | None = Field(description="The option it followed then (its key).")
    option_name: str | None
    educators: int
    met: int | None = Field(description="null: no option, or its stack not evaluated.")
    note: str | None


class OptionRowOut(ApiModel):
    period: str
    as_of: datetime
    option: str | None = Field(description="null: educators no option applied to.")
    option_name: str | None
    districts: int = Field(description="LEAs following the option then.")
    educators: int
    met: int | None
    note: str | None


class OptionReportOut(ApiModel):
    purpose: str
    period: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    by: Literal["district", "option"]
    options: list[OptionRunOut]
    rows: list[DistrictRowOut] | list[OptionRowOut]
    notes: list[str] = Field(description="What the counts cannot say, in words.")
