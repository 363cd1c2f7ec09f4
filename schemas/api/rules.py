"""How requests name achievements and stacks, and the stack rule grammar, as documented.

The grammar's models describe a rule in the OpenAPI document (the `StackRule` component and
the leaf and group components it is one of); they never validate one. A request's rule is
read as any JSON object (`RuleDocument`) and judged by the domain alone: the ids it names
are resolved by `badges.policy.stacks.canonical_rule`, the rest by
`badges.policy.stack_rules.parse_rule`.
So the document and the engine cannot disagree into a 500: an object the schema allows and
the engine refuses is a 422 naming the part at fault, like any other.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, RootModel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from schemas.api.base import ApiModel

ACHIEVEMENT_REF = (
    "An achievement: the UUID of one of this service's (as `id` in its API answers), or "
    "its IRI (any issuer's)."
)
STACK_REF = "A stack of the agency: its UUID, or its IRI (its public URL); any revision's."
LATTICE_REF = "A lattice of the agency: its UUID, or its IRI (its public URL)."
# Bounds the engine keeps (badges.policy.stack_rules): documented here, checked there.
MAX_POOL_COUNT = 1000
MAX_KEY_LENGTH = 64
_EXAMPLE = "https://lattice.example"
_MCS = [f"{_EXAMPLE}/achievements/6f1c7a52-0b8e-4c9e-9d51-1c2a7e5b{n:04d}" for n in range(3)]
_STACKS = [f"{_EXAMPLE}/stacks/0b3e4a8c-5d2f-4e71-a0c9-7d84e2f1{n:04d}" for n in range(2)]

AchievementRef = Annotated[str, Field(min_length=1, max_length=2000, description=ACHIEVEMENT_REF)]
StackRef = Annotated[str, Field(min_length=1, max_length=2000, description=STACK_REF)]
LatticeRef = Annotated[str, Field(min_length=1, max_length=2000, description=LATTICE_REF)]
_Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)]
_SHARE = Field(
    default=False,
    alias="shareCredentials",
    description="Let one MC count toward several parts (by default each counts once).",
)


class AchievementRule(ApiModel, json_schema_extra={"examples": [{"achievement": _MCS[0]}]}):
    """Met by a credential of this achievement (counted under the stack's window and
    purpose)."""

    achievement: AchievementRef


class NestedStackRule(ApiModel, json_schema_extra={"examples": [{"stack": _STACKS[0]}]}):
    """Met when the stack's own rule is met (its current revision, with its window and
    purpose), by MCs no other part of this rule counts."""

    stack: StackRef


class AllRule(
    ApiModel,
    json_schema_extra={"examples": [{"all": [{"stack": _STACKS[0]}, {"stack": _STACKS[1]}]}]},
):
    """Met when every part is met."""

    all_: list[StackRule] = Field(alias="all", min_length=1)
    share_credentials: bool = _SHARE


class AnyRule(
    ApiModel,
    json_schema_extra={
        "examples": [{"any": [{"achievement": _MCS[0]}, {"stack": _STACKS[0]}], "count": 1}]
    },
):
    """Met when `count` of the parts are (default 1)."""

    any_: list[StackRule] = Field(alias="any", min_length=1)
    count: int | None = Field(
        default=None, ge=1, description="How many parts must be met; at most how many there are."
    )
    share_credentials: bool = _SHARE


class AtLeastRule(ApiModel, json_schema_extra={"examples": [{"atLeast": 2, "of": _MCS}]}):
    """Shorthand for `{"any": [{"achievement": ...}, ...], "count": atLeast}`."""

    at_least: int = Field(ge=1, description="At most as many as `of` lists.")
    of: list[AchievementRef] = Field(min_length=1, description="Each achievement once.")


class ApprovedForRule(
    ApiModel, json_schema_extra={"examples": [{"approvedFor": "license_renewal", "count": 3}]}
):
    """Any `count` different MCs the agency approved for the purpose (each asked of its
    approval as the stack's `approvalAt` says, and within the stack's window); an approval
    made later counts at once, with no new revision of the rule. Only in a stack whose
    `purpose` is this one (a role names such a stack)."""

    approved_for: _Key = Field(description="A purpose key of the agency (GET its purposes).")
    count: int = Field(default=1, ge=1, le=MAX_POOL_COUNT)


class CriterionRule(ApiModel, json_schema_extra={"examples": [{"criterion": "interview"}]}):
    """A criterion other than an MC that the agency records for an educator (National Board
    certification, an interview); met while a record of it holds on the date. Only in a
    lattice role's rule."""

    criterion: _Key = Field(description="A criterion key the agency has defined.")


_Forms = (
    AchievementRule
    | NestedStackRule
    | AllRule
    | AnyRule
    | AtLeastRule
    | ApprovedForRule
    | CriterionRule
)
RULE_EXAMPLES: list[dict[str, Any]] = [
    {"atLeast": 3, "of": _MCS},
    {"approvedFor": "license_renewal", "count": 3},
    {"all": [{"stack": _STACKS[0]}, {"stack": _STACKS[1]}, {"criterion": "interview"}]},
    {
        "all": [
            {"stack": _STACKS[0]},
            {"any": [{"achievement": _MCS[1]}, {"achievement": _MCS[2]}], "count": 1},
        ],
        "shareCredentials": True,
    },
]


def _document(schema: dict[str, Any]) -> None:
    # Exactly one form fits a rule: each has its own required key, and no other keys.
    schema["oneOf"] = schema.pop("anyOf")
    schema["examples"] = RULE_EXAMPLES


class StackRule(RootModel[_Forms]):
    """A stack's or a lattice role's rule: a leaf or a group of rules. Achievements and
    stacks are named by UUID or IRI (stored as IRIs); groups nest at most 16 deep."""

    model_config = ConfigDict(json_schema_extra=_document)


AllRule.model_rebuild()
AnyRule.model_rebuild()


class _DocumentedAs:
    """Reads a JSON object as it comes (the domain judges it) and documents it as the
    `StackRule` component."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return handler(source)

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(StackRule.__pydantic_core_schema__)


RuleDocument = Annotated[dict[str, Any], _DocumentedAs()]
