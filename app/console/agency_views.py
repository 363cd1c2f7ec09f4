"""How the agency console reads and writes rules, in plain functions (no database, no HTTP).

Staff never write rule JSON. The rule editor offers the shapes states actually write, and
each becomes the JSON rule `POST /v1/agency/stacks` takes (the same grammar,
`badges.policy.stack_rules`), saved through the same domain function:

- `approved`: any N MCs the agency approved for a purpose (`{"approvedFor": p, "count": n}`,
  the stack's purpose being that purpose);
- `achievements`: N of these achievements (all of them when N is how many are chosen);
- `stacks`: all of these stacks, or N of them;
- `advanced`: the JSON itself, for a rule no form shape holds (kept in a details block).

A stored rule opens back in the form of its shape (`form_of`); one of no common shape opens
as `advanced`. Windows are edited in years (5 years is 1826 days, as the README writes it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from app.counts_toward import Names, needs_sentence
from app.pages import duration_words
from badges.errors import DomainError
from badges.policy.stack_rules import (
    AchievementLeaf,
    ApprovalAt,
    ApprovedPool,
    Group,
    Rule,
    StackLeaf,
    parse_rule,
)
from badges.policy.stacks import StackDetails
from schemas.api.base import MAX_WINDOW_DAYS

RuleKind = Literal["approved", "achievements", "stacks", "advanced"]
RULE_KINDS: Final[tuple[RuleKind, ...]] = ("approved", "achievements", "stacks", "advanced")
DAYS_PER_YEAR: Final = 365.25
MAX_COUNT: Final = 1000
# Where a domain error's field lands on the form (the API names `windowDays`, the form
# asks for years).
_FORM_FIELDS: Final = {
    "windowDays": "window",
    "purpose": "purpose",
    "approvalAt": "approval_at",
    "code": "code",
    "name": "name",
}


class FormError(Exception):
    """A value on a console form that cannot be used: shown beside `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def field_of(error: DomainError) -> str:
    """The form field a domain error is about (`rule` for anything inside the rule)."""
    first = error.field[0] if error.field else "rule"
    return _FORM_FIELDS.get(str(first), "rule")


@dataclass(frozen=True)
class StackForm:
    """The rule editor's fields, as typed (strings), so a refused form comes back as it was."""

    code: str = ""
    name: str = ""
    description: str = ""
    kind: RuleKind = "approved"
    count: str = "3"
    pool_purpose: str = "license_renewal"
    purpose: str = ""  # the stack's purpose for the other shapes ("" none)
    window: str = ""  # years ("" no window)
    approval_at: str = "earned"
    achievements: tuple[str, ...] = ()
    other_achievements: str = ""  # more achievement ids (UUID or IRI), one a line
    stacks: tuple[str, ...] = ()
    advanced: str = ""

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, Any], multi: Mapping[str, Sequence[str]]
    ) -> StackForm:
        """The form as posted (`multi`: the checkbox lists)."""

        def text(name: str, default: str = "") -> str:
            value = fields.get(name, default)
            return value.strip() if isinstance(value, str) else default

        kind = text("kind", "approved")
        return cls(
            code=text("code"),
            name=text("name"),
            description=text("description"),
            kind=kind if kind in RULE_KINDS else "approved",
            count=text("count"),
            pool_purpose=text("pool_purpose"),
            purpose=text("purpose"),
            window=text("window"),
            approval_at=text("approval_at", "earned"),
            achievements=tuple(multi.get("achievements", ())),
            other_achievements=text("other_achievements"),
            stacks=tuple(multi.get("stacks", ())),
            advanced=text("advanced"),
        )


def years_to_days(text: str) -> int | None:
    """A window typed in years ("5", "2.5") as days; "" is no window."""
    if not text:
        return None
    try:
        years = float(text)
    except ValueError:
        raise FormError("window", "Enter the window in years, e.g. 5") from None
    days = math.floor(years * DAYS_PER_YEAR)
    if not math.isfinite(years) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise FormError("window", "The window must be between 1 day and 100 years")
    return days


def days_to_years(days: int | None) -> str:
    """The form's value for a stored window: "5" for 1826 days."""
    if days is None:
        return ""
    return f"{round(days / DAYS_PER_YEAR, 2):g}"


def _count(text: str, most: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise FormError("count", "Enter how many, as a whole number") from None
    if not 1 <= value <= most:
        raise FormError("count", f"How many must be between 1 and {most}")
    return value


def _group(leaves: list[dict[str, str]], count: int) -> dict[str, Any]:
    if count == len(leaves):
        return {"all": leaves}
    return {"any": leaves, "count": count}


def rule_of(form: StackForm) -> tuple[dict[str, Any], str | None]:
    """The JSON rule the form stands for, and the stack's purpose."""
    if form.kind == "approved":
        if not form.pool_purpose:
            raise FormError("pool_purpose", "Choose the purpose the MCs are approved for")
        count = _count(form.count, MAX_COUNT)
        return {"approvedFor": form.pool_purpose, "count": count}, form.pool_purpose
    purpose = form.purpose or None
    if form.kind == "achievements":
        chosen = list(dict.fromkeys([*form.achievements, *form.other_achievements.split()]))
        if not chosen:
            raise FormError("achievements", "Choose at least one achievement")
        leaves = [{"achievement": item} for item in chosen]
        return _group(leaves, _count(form.count, len(leaves))), purpose
    if form.kind == "stacks":
        chosen = list(dict.fromkeys(form.stacks))
        if not chosen:
            raise FormError("stacks", "Choose at least one stack")
        leaves = [{"stack": item} for item in chosen]
        count = _count(form.count, len(leaves)) if form.count else len(leaves)
        return _group(leaves, count), purpose
    try:
        document = json.loads(form.advanced)
    except ValueError as error:
        raise FormError("advanced", f"The rule is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise FormError("advanced", "The rule must be a JSON object")
    return document, purpose


def stack_details(form: StackForm) -> StackDetails:
    """What `create_stack` / `revise_stack` take; `FormError` for a field the form itself
    can tell is wrong (the rest is the domain's to judge, with the API's messages)."""
    if not form.code:
        raise FormError("code", "Give the stack a short code, e.g. RENEW")
    if not form.name:
        raise FormError("name", "Give the stack a name")
    rule, purpose = rule_of(form)
    approval_at: ApprovalAt = "evaluation" if form.approval_at == "evaluation" else "earned"
    return StackDetails(
        code=form.code[:64],
        name=form.name[:500],
        rule=rule,
        description=form.description or None,
        window_days=years_to_days(form.window),
        purpose=purpose,
        approval_at=approval_at,
    )


def form_of(
    code: str,
    name: str,
    description: str | None,
    rule: Mapping[str, Any],
    window_days: int | None,
    purpose: str | None,
    approval_at: str,
) -> StackForm:
    """A stored stack in the editor: the shape its rule has, or `advanced`."""
    base = StackForm(
        code=code,
        name=name,
        description=description or "",
        window=days_to_years(window_days),
        approval_at=approval_at,
        purpose=purpose or "",
        pool_purpose=purpose or "",
        advanced=json.dumps(rule, indent=2),
    )
    parsed = parse_rule(rule)
    if isinstance(parsed, ApprovedPool) and parsed.purpose == purpose:
        return replace(base, kind="approved", count=str(parsed.count))
    if isinstance(parsed, AchievementLeaf):
        return replace(base, kind="achievements", count="1", achievements=(parsed.achievement_id,))
    if isinstance(parsed, StackLeaf):
        return replace(base, kind="stacks", count="1", stacks=(parsed.stack_id,))
    if isinstance(parsed, Group) and not parsed.share:
        count = str(parsed.required)
        named = tuple(c.achievement_id for c in parsed.children if isinstance(c, AchievementLeaf))
        if len(named) == len(parsed.children):
            return replace(base, kind="achievements", count=count, achievements=named)
        nested = tuple(c.stack_id for c in parsed.children if isinstance(c, StackLeaf))
        if len(nested) == len(parsed.children):
            return replace(base, kind="stacks", count=count, stacks=nested)
    return replace(base, kind="advanced")


def stack_words(rule: Rule, names: Names, window_days: int | None, purpose: str | None) -> str:
    """A stack's rule as staff read it. The common renewal rule in one phrase ("Any 3
    different micro-credentials approved for License renewal, each earned within 5
    years."); any other as the public pages say it (`needs_sentence`)."""
    if isinstance(rule, ApprovedPool) and rule.purpose == purpose:
        things = "micro-credential" if rule.count == 1 else "different micro-credentials"
        sentence = f"Any {rule.count} {things} approved for {names.purpose(rule.purpose)}"
        return sentence + (
            f", each earned within {duration_words(window_days)}." if window_days else "."
        )
    return needs_sentence(rule, names, window_days, purpose)


def json_text(document: Any) -> str:
    """A rule for the "advanced" details block only."""
    return json.dumps(document, indent=2, ensure_ascii=False)


# --- dates and other words -----------------------------------------------------------------


def day(moment: datetime | None) -> str:
    """A date as staff read it: "3 December 2026"; "" for none."""
    if moment is None:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{moment.day} {moment:%B %Y}"


def date_field(text: str, field_name: str) -> datetime | None:
    """A date typed in a form (YYYY-MM-DD) as the start of that day, UTC."""
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise FormError(field_name, "Enter a date as YYYY-MM-DD") from None


def window_words(days: int | None) -> str:
    return duration_words(days) if days else ""


STATE_WORDS: Final = {
    "submitted": "Submitted, waiting for a review",
    "in_review": "In review",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn by the requester",
}
RECOMMENDATION_WORDS: Final = {
    "approve": "Approve",
    "decline": "Decline",
    "revise": "Ask for revisions",
}
EVENT_WORDS: Final = {
    "submitted": "Submitted",
    "review_added": "Review added",
    "decided": "Decided",
    "withdrawn": "Withdrawn",
}


@dataclass(frozen=True)
class ScoreLine:
    """One criterion of a review: its name, the score on its scale, and whether it passes."""

    name: str
    score: object
    scale: str
    passes: bool


def score_lines(rubric: Mapping[str, Any], scores: Mapping[str, Any]) -> list[ScoreLine]:
    """A stored review's scores beside the rubric it was scored on."""
    lines = []
    for item in rubric.get("criteria", []):
        value = scores.get(item["key"])
        lines.append(
            ScoreLine(
                item["name"],
                value,
                f"{item['scale']['min']} to {item['scale']['max']}, passing {item['passing']}",
                isinstance(value, int) and value >= item["passing"],
            )
        )
    return lines


# --- where things are, and who did them -----------------------------------------------------


def area(agency_id: object, path: str = "") -> str:
    """The console address of one of the agency's areas (the navigation marks it)."""
    return f"/console/agencies/{agency_id}{path}"


def actor(account_id: object) -> str:
    """The audit trail's name for a console member acting for the agency (the API's
    clients are `agency:<client>`)."""
    return f"staff:{account_id}"
