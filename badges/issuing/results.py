"""Results against an achievement's rubric, as OB 3.0 `Result`s in the credential."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from badges.errors import InvalidInput
from badges.issuing.achievements import (
    ResultDescription,
    achievement_url,
    details_of,
    result_description_id,
    rubric_level_id,
)
from storage.models import Achievement

RESULT_STATUSES: Final = frozenset(
    {"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}
)


@dataclass(frozen=True)
class ResultInput:
    """A result naming a rubric row and level by their keys (or their full ids)."""

    result_description: str
    achieved_level: str | None = None
    value: str | None = None
    status: str | None = None


def build_results(
    public_url: str, achievement: Achievement, items: Sequence[ResultInput]
) -> list[dict[str, Any]]:
    iri = achievement_url(public_url, achievement.id)
    rows = details_of(achievement).result_descriptions
    return [_result(iri, rows, item, index) for index, item in enumerate(items)]


def _result(
    iri: str, rows: Sequence[ResultDescription], item: ResultInput, index: int
) -> dict[str, Any]:
    loc = ("results", index)
    row = next(
        (
            row
            for row in rows
            if item.result_description in (row.key, result_description_id(iri, row.key))
        ),
        None,
    )
    if row is None:
        known = ", ".join(row.key for row in rows) or "none"
        raise InvalidInput(
            f"resultDescription {item.result_description!r} is not in the achievement's "
            f"rubric (known: {known})",
            field=(*loc, "resultDescription"),
        )
    result: dict[str, Any] = {
        "type": ["Result"],
        "resultDescription": result_description_id(iri, row.key),
    }
    if item.achieved_level is not None:
        level = next(
            (
                level
                for level in row.levels
                if item.achieved_level in (level.key, rubric_level_id(iri, row.key, level.key))
            ),
            None,
        )
        if level is None:
            raise InvalidInput(
                f"achievedLevel {item.achieved_level!r} is not a level of {row.key!r}",
                field=(*loc, "achievedLevel"),
            )
        result["achievedLevel"] = rubric_level_id(iri, row.key, level.key)
    if item.value is not None:
        result["value"] = item.value
    if item.status is not None:
        if item.status not in RESULT_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(sorted(RESULT_STATUSES))}",
                field=(*loc, "status"),
            )
        result["status"] = item.status
    return result
