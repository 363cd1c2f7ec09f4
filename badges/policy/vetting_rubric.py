"""The rubric an agency's reviewers score a micro-credential against, and scoring by it.

A rubric is a list of criteria, each scored on a small integer scale with a minimum that
passes. The default is modelled on what quality-assurance reviews of micro-credentials
commonly look at (a competency statement, its research basis, evidence, a scoring guide,
trained assessors, alignment with the state's standards, access and cost, and a verifiable
credential). Its wording is this service's own, not the text of any published standard.
An agency replaces it with its own (`Agency.vetting_rubric`); each review keeps a copy of
the rubric as it was when scored, so a later change never rewrites a past score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from badges.errors import InvalidInput
from schemas.api.vetting import MAX_CRITERIA, MAX_SCALE

_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    description: str
    low: int  # the scale's lowest score
    high: int  # and its highest
    passing: int  # the least score that meets the criterion

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "scale": {"min": self.low, "max": self.high},
            "passing": self.passing,
        }


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]

    def to_json(self) -> dict[str, Any]:
        return {"criteria": [item.to_json() for item in self.criteria]}


def _default(key: str, name: str, description: str) -> Criterion:
    # 0 absent, 1 partly there, 2 meets the expectation, 3 a model of it.
    return Criterion(key, name, description, 0, 3, 2)


DEFAULT_RUBRIC: Final = Rubric(
    (
        _default(
            "competency",
            "Competency statement",
            "The MC names one discrete educator competency, stated so that a reviewer can "
            "tell what an earner is able to do in the classroom.",
        ),
        _default(
            "research_basis",
            "Research and practice basis",
            "The competency and the method it teaches rest on cited research or on "
            "well-documented effective practice.",
        ),
        _default(
            "evidence",
            "Evidence requirements",
            "Earners submit authentic evidence from their own practice (artifacts, student "
            "work, reflection) that is enough to show the competency.",
        ),
        _default(
            "scoring_guide",
            "Scoring guide",
            "A rubric with defined levels says what proficient looks like, so that two "
            "assessors reading the same evidence reach the same decision.",
        ),
        _default(
            "assessors",
            "Assessor qualification",
            "Trained, qualified assessors score submissions; they are calibrated, and an "
            "earner can ask for a second look.",
        ),
        _default(
            "state_standards",
            "Alignment with state standards",
            "The competency is aligned, by name, with the state's educator standards or the "
            "professional teaching standards the state adopts.",
        ),
        _default(
            "access_cost",
            "Accessibility and cost",
            "Cost, time, technology and accommodations are stated and reasonable, so that "
            "any educator the purpose serves can earn it.",
        ),
        _default(
            "verifiable_credential",
            "Verifiable credential",
            "Earners receive a verifiable digital credential (such as Open Badges 3.0) that "
            "names the competency, the issuer and the criteria met.",
        ),
    )
)


def _integer(value: object, field: tuple[str | int, ...]) -> int:
    # bool is an int to Python, never a score to a person.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("must be a whole number", field=field)
    return value


def parse_rubric(document: object) -> Rubric:
    """A rubric from its JSON form, every rule checked: at least one criterion, keys
    unique, each scale within 0..MAX_SCALE with its pass mark inside it."""
    criteria = document.get("criteria") if isinstance(document, Mapping) else None
    if not isinstance(criteria, list) or not 1 <= len(criteria) <= MAX_CRITERIA:
        raise InvalidInput(f"a rubric needs 1 to {MAX_CRITERIA} criteria", field=("criteria",))
    parsed = [_criterion(item, index) for index, item in enumerate(criteria)]
    seen: set[str] = set()
    for index, item in enumerate(parsed):
        if item.key in seen:
            raise InvalidInput(
                f"criterion key {item.key!r} is used twice", field=("criteria", index, "key")
            )
        seen.add(item.key)
    return Rubric(tuple(parsed))


def _criterion(item: object, index: int) -> Criterion:
    at: tuple[str | int, ...] = ("criteria", index)
    if not isinstance(item, Mapping):
        raise InvalidInput("a criterion must be an object", field=at)
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            "key must be 1-64 lower-case letters, digits or _, starting with a letter",
            field=(*at, "key"),
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", field=(*at, "name"))
    description = item.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        raise InvalidInput(
            "description must be at most 2000 characters", field=(*at, "description")
        )
    scale = item.get("scale")
    if not isinstance(scale, Mapping):
        raise InvalidInput('scale must be {"min": ..., "max": ...}', field=(*at, "scale"))
    low = _integer(scale.get("min"), (*at, "scale", "min"))
    high = _integer(scale.get("max"), (*at, "scale", "max"))
    if not 0 <= low < high <= MAX_SCALE:
        raise InvalidInput(
            f"the scale must run upward from 0 or more to at most {MAX_SCALE}",
            field=(*at, "scale"),
        )
    passing = _integer(item.get("passing"), (*at, "passing"))
    if not low <= passing <= high:
        raise InvalidInput(
            f"passing must lie on the scale ({low} to {high})", field=(*at, "passing")
        )
    return Criterion(key, name, description, low, high, passing)


@dataclass(frozen=True)
class Scored:
    """A complete set of scores: every criterion within its scale."""

    scores: dict[str, int]
    below: tuple[str, ...]  # keys of the criteria scored under their pass mark

    @property
    def meets_rubric(self) -> bool:
        return not self.below


def score(rubric: Rubric, scores: Mapping[str, object]) -> Scored:
    """The reviewer's scores checked against `rubric`: one for each criterion, each on its
    scale; InvalidInput naming the first criterion missing, unknown or out of range."""
    known = {item.key for item in rubric.criteria}
    for key in scores:
        if key not in known:
            raise InvalidInput(
                f"{key!r} is not a criterion of the rubric ({', '.join(sorted(known))})",
                field=("scores", key),
            )
    checked: dict[str, int] = {}
    for item in rubric.criteria:
        if item.key not in scores:
            raise InvalidInput(
                f"no score for {item.key!r} ({item.name})", field=("scores", item.key)
            )
        value = _integer(scores[item.key], ("scores", item.key))
        if not item.low <= value <= item.high:
            raise InvalidInput(
                f"the score for {item.key!r} must be {item.low} to {item.high}",
                field=("scores", item.key),
            )
        checked[item.key] = value
    below = tuple(item.key for item in rubric.criteria if checked[item.key] < item.passing)
    return Scored(checked, below)


def stored_rubric(document: Mapping[str, Any] | None) -> Rubric:
    """The rubric an agency keeps (None: the default)."""
    return DEFAULT_RUBRIC if document is None else parse_rubric(document)


def below_pass(rubric: Rubric, scores: Mapping[str, Any]) -> Sequence[str]:
    """Keys of a stored review's criteria scored under their pass mark."""
    return [
        item.key
        for item in rubric.criteria
        if isinstance(scores.get(item.key), int) and scores[item.key] < item.passing
    ]
