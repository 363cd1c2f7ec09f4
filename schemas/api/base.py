"""Shared configuration of API models: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    # A misspelt field must be an error, not silently ignored (e.g. `validUntill`).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


# --- dates ----------------------------------------------------------------------------
# The calendar the API takes, in one place: years EARLIEST_YEAR to LATEST_YEAR as written.
# Every date the service stores is later moved by windows (at most MAX_WINDOW_DAYS), validity
# periods, clock skews and zone offsets; inside this range none of that arithmetic can leave
# the years 1 to 9999 that Python, JWT `nbf`/`exp` and the databases compute with.
EARLIEST_YEAR: Final = 1900
LATEST_YEAR: Final = 9000
MAX_WINDOW_DAYS: Final = 36_525  # 100 years: longer than any career
CALENDAR: Final = f"years {EARLIEST_YEAR} to {LATEST_YEAR}"
# RFC 3339 `date-time` (the OpenAPI format), seconds optional: a number, or a string of
# digits, is not a date (pydantic would read either as seconds since 1970).
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
_IN_CALENDAR = rf"^(19\d{{2}}|[2-8]\d{{3}}|{LATEST_YEAR})-"  # the same, for the schema
DATE_TIME_EXAMPLE: Final = "2026-01-31T12:00:00Z"


def _date_time_text(value: object) -> object:
    if isinstance(value, datetime):  # built in Python, not read from a request
        return value
    if not isinstance(value, str) or _DATE_TIME.fullmatch(value) is None:
        raise ValueError(f"must be an ISO 8601 date and time such as {DATE_TIME_EXAMPLE}")
    return value


def _in_calendar(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must fall in {CALENDAR}")
    return value


def _require_zone(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"must carry a time zone (e.g. {DATE_TIME_EXAMPLE})")
    return value


_DOCUMENTED = WithJsonSchema(
    {
        "type": "string",
        "format": "date-time",
        "pattern": _IN_CALENDAR,
        "description": f"An ISO 8601 date and time ({CALENDAR}).",
    }
)
# Every date an API request carries, body or query: text only, inside the calendar.
ApiDatetime = Annotated[
    datetime, BeforeValidator(_date_time_text), AfterValidator(_in_calendar), _DOCUMENTED
]
# The same with a time zone, so that the moment is unambiguous.
AwareDatetime = Annotated[ApiDatetime, AfterValidator(_require_zone)]


# Names and descriptions end up in badge images (SVG, so XML 1.0), PDFs, e-mails and pages.
# XML 1.0 (§2.2, `Char`) cannot hold C0 controls other than tab, LF and CR, nor surrogates,
# U+FFFE or U+FFFF; the other controls (DEL, C1) are legal there but invisible and mean
# nothing in a name. A one-line field (a name, a key, a tag) refuses every control
# character; a free-text field (a description, a narrative) keeps tab and line breaks.
_NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _refuse(pattern: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise ValueError(
                f"must not contain control or invisible characters (found "
                f"U+{ord(found.group()):04X} at character {found.start() + 1})"
            )
        return value

    return AfterValidator(check)


# One line of text: a name, title, key, tag or caption.
TextLine = Annotated[str, _refuse(_NOT_IN_A_LINE)]
# Free text: a description or narrative; tabs and line breaks are kept.
TextBlock = Annotated[str, _refuse(_NOT_IN_TEXT)]
