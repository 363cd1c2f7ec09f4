"""Reports in the agency console as charts: MCs earned per period by provider, and stack
and role completions per period by LEA; each an SVG drawn on the server (`app.charts`,
the API's charts' drawing) shown as an image, with its figures as a table and as CSV.

The counts are the API's (`reports/earned`, `reports/completed`): the same domain queries,
the same periods, the same district-at-the-time rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import Depends, Response
from sqlalchemy import select

from app.charts import SVG_MEDIA_TYPE, Series, line_chart
from app.console.agency_pages import agency_page, agency_router
from app.console.agency_views import FormError, area, date_field
from app.console.auth import CONSOLE_HEADERS, AgencyContext, AgencyStaff
from app.csv_export import csv_response
from app.deps import Session, State
from app.routers.policy.state_queries.common import refresh
from app.routers.policy.state_queries.reports import report_targets
from badges.errors import DomainError
from badges.policy.agencies import approvals_of
from badges.policy.districts import list_districts
from badges.policy.option_reports import (
    MAX_PERIODS,
    label_of,
    latest_periods,
    period_start,
    snapshots,
)
from badges.policy.rule_book import ApprovalBook
from badges.policy.state_reports import (
    Period,
    ReportRange,
    completed_report,
    earned_report,
)
from storage.models import Issuer

router = agency_router("/reports")
PERIODS: Final[tuple[Period, ...]] = ("month", "quarter", "year")
Measure = Literal["earned", "completed"]
MEASURES: Final[tuple[Measure, ...]] = ("earned", "completed")
_TITLES: Final = {
    "earned": "MCs earned per {period}, by provider",
    "completed": "Stacks and roles completed per {period}, by LEA",
}


@dataclass(frozen=True)
class Chart:
    """One report as drawn: the periods, a line per group, and the words around it."""

    measure: Measure
    title: str
    description: str
    labels: list[str]
    lines: dict[str, list[float]]

    @property
    def total(self) -> int:
        return int(sum(sum(values) for values in self.lines.values()))

    def svg(self) -> str:
        y_label = "MCs earned" if self.measure == "earned" else "Completions"
        series = [Series(name, values) for name, values in self.lines.items()]
        return line_chart(self.title, self.description, self.labels, series, y_label)


@dataclass(frozen=True)
class Asked:
    """The report's period and range as the form gave them (or an error to show)."""

    period: Period
    start: datetime | None
    end: datetime
    typed: dict[str, str]
    error: str = ""

    def query(self, **more: str) -> str:
        given = {key: value for key, value in self.typed.items() if value} | more
        return f"?{urlencode(given)}" if given else ""


def _asked(period: str | None = None, start: str | None = None, end: str | None = None) -> Asked:
    """The form's `period`, `start` and `end` from the query string (a dependency)."""
    typed = {"period": period or "", "start": start or "", "end": end or ""}
    chosen: Period = period if period in PERIODS else "month"
    now = datetime.now(UTC)
    try:
        begins = date_field(start or "", "start")
        ends = date_field(end or "", "end") or now
        if begins is not None and begins >= ends:
            raise FormError("start", "The start must be before the end.")
    except FormError as error:
        return Asked(chosen, None, now, typed, error.message)
    return Asked(chosen, begins, ends, typed)


AskedQuery = Annotated[Asked, Depends(_asked)]


def _labels(
    period: Period, start: datetime | None, end: datetime, found: Sequence[str]
) -> list[str]:
    """Every period from `start` (else the first with a count) to `end`, empty ones too, so
    the x axis keeps time's spacing; at most the last MAX_PERIODS."""
    every = [
        snap.label for snap in snapshots(period, latest_periods(period, end, MAX_PERIODS), end)
    ]
    first = (
        label_of(period_start(start, period), period) if start else min(found, default=every[-1])
    )
    return [label for label in every if label >= first]


async def _rows(
    who: AgencyContext, session: Session, state: State, measure: Measure, asked: Asked
) -> list[dict[str, Any]]:
    public_url = state.settings.public_url
    if measure == "earned":
        span = ReportRange(asked.period, asked.start, asked.end, ("issuer",))
        approvals = await approvals_of(session, who.agency)
        approved = sorted({row.achievement_iri for row in approvals})
        return await earned_report(
            session, public_url, who.agency, span, ApprovalBook(approvals), approved
        )
    await refresh(state, who.agency)
    span = ReportRange(asked.period, asked.start, asked.end, ("district",))
    targets = await report_targets(session, public_url, who.agency)  # the API's naming
    return await completed_report(session, who.agency, span, targets)


async def _provider_names(session: Session, slugs: Sequence[str]) -> dict[str, str]:
    rows = await session.execute(
        select(Issuer.slug, Issuer.name).where(Issuer.slug.in_(list(slugs)))
    )
    return {slug: name for slug, name in rows}


async def _chart(
    who: AgencyContext, session: Session, state: State, measure: Measure, asked: Asked
) -> tuple[Chart, list[dict[str, Any]]]:
    rows = await _rows(who, session, state, measure, asked)
    group = "issuer" if measure == "earned" else "district"
    if measure == "earned":
        names = await _provider_names(session, sorted({str(row["issuer"]) for row in rows}))
    else:  # an LEA by its name and code; a code no LEA was registered for, as it is
        leas = await list_districts(session, who.agency)
        names = {lea.code: f"{lea.name} ({lea.code})" for lea in leas}
    labels = _labels(asked.period, asked.start, asked.end, [str(row["period"]) for row in rows])
    lines: dict[str, list[float]] = {}
    for row in rows:
        key = row.get(group)
        name = (
            names.get(str(key), str(key))
            if key
            else ("In no LEA" if group == "district" else "Unknown")
        )
        values = lines.setdefault(name, [0.0] * len(labels))
        if row["period"] in labels:
            values[labels.index(str(row["period"]))] += float(row["count"] or 0)
    title = _TITLES[measure].format(period=asked.period)
    description = (
        f"Micro-credentials the agency's educators earned in each {asked.period}, one line "
        "per provider."
        if measure == "earned"
        else f"Stacks and lattice roles the agency's educators completed in each {asked.period}, "
        "one line per LEA (the LEA she was in when she completed it)."
    )
    return Chart(measure, title, description, labels, lines), rows


def _measure(name: str) -> Measure:
    return "earned" if name == "earned" else "completed"


def _refusal(measure: str, asked: Asked, noun: str) -> Response | None:
    """Plain text for a report that does not exist (404) or a range it cannot take (422)."""
    if measure not in _TITLES:
        return Response(f"no such {noun}", status_code=404, media_type="text/plain")
    if asked.error:
        return Response(asked.error, status_code=422, media_type="text/plain")
    return None


@router.get("")
async def reports(who: AgencyStaff, session: Session, state: State, asked: AskedQuery) -> Response:
    """Both charts, their figures and CSV links, for a period size and a date range."""
    charts = []
    try:
        for measure in MEASURES if not asked.error else ():
            chart, _ = await _chart(who, session, state, measure, asked)
            charts.append(chart)
    except DomainError as error:  # a range the reports cannot take (too many periods)
        asked = Asked(asked.period, asked.start, asked.end, asked.typed, error.detail)
        charts = []
    base = area(who.agency.id, "/reports")
    return agency_page(
        who,
        "console/agency_reports.html",
        "/reports",
        422 if asked.error else 200,
        asked=asked,
        periods=PERIODS,
        charts=charts,
        base=base,
    )


@router.get("/{measure}.svg")
async def chart_svg(
    who: AgencyStaff, session: Session, state: State, measure: str, asked: AskedQuery
) -> Response:
    """One chart as an SVG image."""
    if (refusal := _refusal(measure, asked, "chart")) is not None:
        return refusal
    try:
        chart, _ = await _chart(who, session, state, _measure(measure), asked)
    except DomainError as error:
        return Response(error.detail, status_code=error.status_code, media_type="text/plain")
    return Response(chart.svg(), media_type=SVG_MEDIA_TYPE, headers=CONSOLE_HEADERS)


@router.get("/{measure}.csv")
async def chart_csv(
    who: AgencyStaff, session: Session, state: State, measure: str, asked: AskedQuery
) -> Response:
    """One report's rows as CSV, the columns of the API's `format=csv`."""
    if (refusal := _refusal(measure, asked, "report")) is not None:
        return refusal
    rows = await _rows(who, session, state, _measure(measure), asked)
    group = "issuer" if measure == "earned" else "district"
    columns = list(rows[0]) if rows else ["period", group, "count"]

    async def lines() -> AsyncIterator[list[Any]]:
        for row in rows:
            yield [row[name] for name in columns]

    filename = f"{measure}-by-{group}-per-{asked.period}-{asked.end:%Y-%m-%d}.csv"
    return csv_response(filename, columns, lines())
