"""LEAs and the options they choose (scope `registry:write` to change, `reports:read` to
read), the rule that applies to an educator on a date, and the research report by LEA and
by option (JSON, CSV or an SVG chart)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, astuple, fields
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.charts import SVG_MEDIA_TYPE, Series, line_chart
from app.csv_export import csv_response
from app.deps import AgencyCaller, RequireAgency, Session, State
from app.foreign_status import status_source
from app.negotiation import preferred
from app.routers.policy.state_queries.common import (
    Reporter,
    aware,
    now,
    refresh,
)
from badges.errors import InvalidInput
from badges.policy.agencies import (
    approvals_of,
    educator_of,
)
from badges.policy.districts import (
    Requirement,
    choice_on,
    choices_of,
    choose_option,
    create_district,
    explain,
    get_district,
    list_districts,
    requirement,
)
from badges.policy.option_reports import (
    MAX_PERIODS,
    DistrictRow,
    OptionReport,
    OptionRow,
    Period,
    label_of,
    latest_periods,
    option_report,
    period_start,
    snapshots,
)
from badges.policy.policy_options import (
    OptionDetails,
    create_option,
    current_stacks,
    list_options,
)
from badges.policy.purposes import (
    check_purpose,
    purposes_of,
)
from badges.policy.rule_book import ApprovalBook
from badges.policy.stacks import stack_url
from badges.policy.state_reports import (
    EARNED_GROUPS,
    ReportRange,
    check_groups,
    earned_report,
)
from schemas.api.base import ApiDatetime
from schemas.api.districts import (
    AppliedDistrictOut,
    AppliedOptionOut,
    ChoiceIn,
    ChoiceOut,
    DistrictDetailOut,
    DistrictIn,
    DistrictOut,
    DistrictRowOut,
    OptionIn,
    OptionOut,
    OptionReportOut,
    OptionRowOut,
    OptionRunOut,
    RequirementOut,
)
from schemas.api.state_queries import CountedOut, RejectedOut
from storage.models import District, DistrictOptionChoice, PolicyOption

router = APIRouter(prefix="/v1/agency", tags=["LEAs and options"])
Registrar = Annotated[AgencyCaller, Depends(RequireAgency("registry:write"))]
PeriodParam = Annotated[Literal["month", "quarter", "year"], Query(description="Bucket size.")]
From = Annotated[
    ApiDatetime | None,
    Query(alias="from", description="Inclusive; default: when the first LEA chose an option."),
]
To = Annotated[ApiDatetime | None, Query(alias="to", description="Exclusive; default now.")]
Purpose = Annotated[str, Query(max_length=32, description="e.g. license_renewal")]
ByParam = Annotated[
    Literal["district", "option"], Query(description="A row per LEA, or per option.")
]
CSV: Final = "text/csv"
_CSV_DOC: Final[dict[str, Any]] = {"text/csv": {"schema": {"type": "string"}}}
_SVG_DOC: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {SVG_MEDIA_TYPE: {"schema": {"type": "string"}}}}
}


# --- LEAs ----------------------------------------------------------------------------------


def _choice_out(row: DistrictOptionChoice, options: dict[uuid.UUID, PolicyOption]) -> ChoiceOut:
    option = options[row.option_id]
    return ChoiceOut(
        purpose=row.purpose,
        option=option.key,
        option_name=option.name,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def _districts_out(
    session: Session, caller: AgencyCaller, districts: Sequence[District]
) -> list[DistrictDetailOut]:
    options = {row.id: row for row in await list_options(session, caller.agency)}
    history = await choices_of(session, districts)
    moment = now()
    found = []
    for district in districts:
        choices = history[district.id]
        purposes = sorted({row.purpose for row in choices})
        current = [choice_on([c for c in choices if c.purpose == p], moment) for p in purposes]
        found.append(
            DistrictDetailOut(
                id=str(district.id),
                code=district.code,
                name=district.name,
                created_at=district.created_at,
                options=[_choice_out(row, options) for row in current if row is not None],
                history=[_choice_out(row, options) for row in choices],
            )
        )
    return found


@router.post(
    "/districts", status_code=201, response_model=DistrictOut, response_model_by_alias=True
)
async def new_district(body: DistrictIn, caller: Registrar, session: Session) -> Any:
    """Register an LEA by the code educators' memberships name it by."""
    district = await create_district(session, caller.agency, body.code, body.name)
    [found] = await _districts_out(session, caller, [district])
    return DistrictOut(**found.model_dump(exclude={"history"}))


@router.get("/districts", response_model=list[DistrictOut], response_model_by_alias=True)
async def districts(caller: Reporter, session: Session) -> Any:
    """The agency's LEAs, by code, with the option each follows now."""
    found = await _districts_out(session, caller, await list_districts(session, caller.agency))
    return [DistrictOut(**item.model_dump(exclude={"history"})) for item in found]


@router.get(
    "/districts/{district_id}", response_model=DistrictDetailOut, response_model_by_alias=True
)
async def district(district_id: uuid.UUID, caller: Reporter, session: Session) -> Any:
    """One LEA, with every option it has chosen and when."""
    [found] = await _districts_out(
        session, caller, [await get_district(session, caller.agency, district_id)]
    )
    return found


@router.post(
    "/districts/{district_id}/choices",
    status_code=201,
    response_model=ChoiceOut,
    response_model_by_alias=True,
    responses={200: {"description": "It already follows that option: nothing recorded."}},
)
async def choose(
    district_id: uuid.UUID,
    body: ChoiceIn,
    caller: Registrar,
    session: Session,
    response: Response,
) -> Any:
    """The LEA follows an option for a purpose from `validFrom` on: its current choice is
    closed then and the new one opened; what applied before stays as it was."""
    lea = await get_district(session, caller.agency, district_id)
    row, new = await choose_option(
        session,
        caller.agency,
        lea,
        body.purpose,
        body.option,
        body.valid_from or now(),
        caller.client.client_id,
    )
    if not new:
        response.status_code = 200
    options = {option.id: option for option in await list_options(session, caller.agency)}
    return _choice_out(row, options)


# --- options -------------------------------------------------------------------------------


async def _options_out(
    session: Session, public_url: str, rows: Sequence[PolicyOption]
) -> list[OptionOut]:
    stacks = await current_stacks(session, list(rows))
    found = []
    for row in rows:
        stack = stacks.get(row.stack_lineage_id)
        found.append(
            OptionOut(
                id=str(row.id),
                purpose=row.purpose,
                key=row.key,
                name=row.name,
                description=row.description,
                stack=stack_url(public_url, stack.id) if stack else None,
                stack_name=stack.name if stack else None,
                created_at=row.created_at,
            )
        )
    return found


@router.post("/options", status_code=201, response_model=OptionOut, response_model_by_alias=True)
async def new_option(body: OptionIn, caller: Registrar, session: Session, state: State) -> Any:
    """Offer LEAs an option for a purpose ("option 2: 3 MCs in 5 years"): a key, a name,
    and the stack whose rule it applies (its revision in effect on each date)."""
    details = OptionDetails(body.purpose, body.key, body.name, body.stack, body.description)
    row = await create_option(session, state.settings.public_url, caller.agency, details)
    [found] = await _options_out(session, state.settings.public_url, [row])
    return found


@router.get("/options", response_model=list[OptionOut], response_model_by_alias=True)
async def options(
    caller: Reporter,
    session: Session,
    state: State,
    purpose: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """The options the agency offers, for one purpose or all."""
    if purpose is not None:
        await check_purpose(session, caller.agency, purpose)
    rows = await list_options(session, caller.agency, purpose)
    return await _options_out(session, state.settings.public_url, rows)


# --- the rule that applies to an educator --------------------------------------------------


@router.get(
    "/educators/{educator_id}/requirements/{purpose}",
    response_model=RequirementOut,
    response_model_by_alias=True,
)
async def educator_requirement(
    educator_id: uuid.UUID,
    purpose: str,
    caller: Reporter,
    session: Session,
    state: State,
    at: Annotated[ApiDatetime | None, Query(description="As of this date (default now).")] = None,
) -> Any:
    """Whether she met her requirement for a purpose on a date: the LEA she was in then,
    the option it followed then, and that option's rule evaluated then (what counted, what
    was rejected, what is missing). No LEA, an LEA not registered, or no option then is an
    answer too (`status`), not an error."""
    asked_at = now()
    moment = aware(at, "at") or asked_at
    educator = await educator_of(session, caller.agency, educator_id)
    public_url = state.settings.public_url
    found = await requirement(
        session,
        public_url,
        caller.agency,
        educator,
        purpose,
        moment,
        status_source(state, asked_at),
    )
    names = await purposes_of(session, caller.agency)
    return _requirement_out(public_url, str(educator.id), found, names[found.applicable.purpose])


def _requirement_out(
    public_url: str, educator: str, found: Requirement, purpose_name: str
) -> RequirementOut:
    step = found.applicable
    district = None
    if step.membership is not None:
        district = AppliedDistrictOut(
            code=step.membership.district,
            name=step.district.name if step.district else None,
            registered=step.district is not None,
            member_from=step.membership.valid_from,
            member_until=step.membership.valid_until,
        )
    option = None
    if step.option is not None and step.choice is not None and step.stack is not None:
        option = AppliedOptionOut(
            key=step.option.key,
            name=step.option.name,
            description=step.option.description,
            chosen_from=step.choice.valid_from,
            chosen_until=step.choice.valid_until,
            stack=stack_url(public_url, step.stack.id),
            stack_name=step.stack.name,
            revision=step.stack.revision,
        )
    evaluation = found.evaluation
    return RequirementOut(
        educator=educator,
        purpose=step.purpose,
        purpose_name=purpose_name,
        at=step.at,
        status=found.status,
        summary=explain(found, purpose_name),
        district=district,
        option=option,
        met=evaluation.met if evaluation else None,
        counted=[
            CountedOut(
                credential_id=item.credential_id,
                achievement_id=item.achievement_id,
                earned_at=item.earned_at,
            )
            for item in (evaluation.counted if evaluation else [])
        ],
        rejected=[
            RejectedOut(
                credential_id=item.credential_id,
                achievement_id=item.achievement_id,
                reason=item.reason,
            )
            for item in (evaluation.rejected if evaluation else [])
        ],
        missing=list(evaluation.missing) if evaluation else [],
    )


# --- research: by LEA and by option, over time ----------------------------------------------


async def _option_report(
    caller: AgencyCaller,
    session: Session,
    state: State,
    purpose: str,
    period: Period,
    bounds: tuple[datetime | None, datetime | None],
    by: Literal["district", "option"],
) -> OptionReport:
    purpose = await check_purpose(session, caller.agency, purpose)
    start, end = aware(bounds[0], "from"), aware(bounds[1], "to") or now()
    if start is not None and start >= end:
        raise InvalidInput("from must be before to", field=("from",))
    # Completions first brought up to date for educators whose credentials changed.
    await refresh(state, caller.agency)
    return await option_report(session, caller.agency, purpose, period, (start, end), by)


def _report_out(public_url: str, report: OptionReport) -> OptionReportOut:
    rows: list[DistrictRowOut] | list[OptionRowOut] = (
        [DistrictRowOut(**asdict(row)) for row in report.rows if isinstance(row, DistrictRow)]
        if report.by == "district"
        else [OptionRowOut(**asdict(row)) for row in report.rows if isinstance(row, OptionRow)]
    )
    return OptionReportOut(
        purpose=report.purpose,
        period=report.period,
        start=report.start,
        end=report.end,
        by=report.by,
        options=[
            OptionRunOut(
                option=run.option.key,
                option_name=run.option.name,
                stack=stack_url(public_url, run.stack.id) if run.stack else None,
                evaluated_at=run.evaluated_at,
            )
            for run in report.options
        ],
        rows=rows,
        notes=report.notes,
    )


def _report_csv(report: OptionReport) -> Response:
    kind = DistrictRow if report.by == "district" else OptionRow
    columns = [item.name for item in fields(kind)]

    async def lines() -> AsyncIterator[tuple[Any, ...]]:
        for row in report.rows:
            yield astuple(row)

    filename = f"options-{report.purpose}-by-{report.by}-{report.period}-{report.end:%Y-%m-%d}.csv"
    return csv_response(filename, columns, lines())


@router.get(
    "/reports/options",
    response_model=OptionReportOut,
    response_model_by_alias=True,
    responses={200: {"content": _CSV_DOC}},
)
async def options_report(
    request: Request,
    caller: Reporter,
    session: Session,
    state: State,
    purpose: Purpose,
    period: PeriodParam = "month",
    by: ByParam = "option",
    start: From = None,
    end: To = None,
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="Default: by the Accept header.")
    ] = None,
) -> Any:
    """At the end of each period: educators in each LEA (or under each option) and how
    many met the rule of the option their LEA followed then, from the completions of the
    option's stack (`met` stays empty, and `notes` say so, until its evaluate-all is run).
    JSON, or CSV with `Accept: text/csv`; the chart is at `/reports/options/chart.svg`."""
    report = await _option_report(caller, session, state, purpose, period, (start, end), by)
    wanted = format or ("csv" if preferred(request, ["application/json", CSV]) == CSV else "json")
    if wanted == "csv":
        return _report_csv(report)
    return _report_out(state.settings.public_url, report)


_MEASURES: Final = {
    "share": ("Share meeting their option's rule", "%"),
    "met": ("Educators meeting their option's rule", ""),
    "educators": ("Educators", ""),
}


@router.get("/reports/options/chart.svg", response_class=Response, responses=_SVG_DOC)
async def options_chart(
    caller: Reporter,
    session: Session,
    state: State,
    purpose: Purpose,
    period: PeriodParam = "month",
    by: ByParam = "option",
    start: From = None,
    end: To = None,
    measure: Annotated[
        Literal["share", "met", "educators"],
        Query(description="share: % of educators meeting the rule; met; educators."),
    ] = "share",
) -> Response:
    """The options report as an SVG line chart: one line per option (or LEA) over the
    periods; accessible (title, description, text labels), no script."""
    report = await _option_report(caller, session, state, purpose, period, (start, end), by)
    labels = list(dict.fromkeys(row.period for row in report.rows))
    lines: dict[str, list[float | None]] = {}
    for row in report.rows:
        name = _series_name(row)
        values = lines.setdefault(name, [None] * len(labels))
        values[labels.index(row.period)] = _measure(row, measure)
    y_label, unit = _MEASURES[measure]
    purpose_name = (await purposes_of(session, caller.agency))[report.purpose]
    grouping = "LEA" if by == "district" else "option"
    svg = line_chart(
        f"{purpose_name}: {y_label.lower()}, by {grouping}, per {period}",
        f"{y_label} at the end of each {period}, one line per {grouping}.",
        labels,
        [Series(name, values) for name, values in lines.items()],
        y_label,
        unit=unit,
        y_max=100.0 if measure == "share" else None,
    )
    return Response(svg, media_type=SVG_MEDIA_TYPE)


def _series_name(row: DistrictRow | OptionRow) -> str:
    if isinstance(row, DistrictRow):
        return row.district_name or row.district or "In no LEA"
    return f"{row.option_name} ({row.option})" if row.option else "No option applied"


def _measure(row: DistrictRow | OptionRow, measure: str) -> float | None:
    if measure == "educators":
        return float(row.educators)
    if row.met is None:
        return None
    if measure == "met":
        return float(row.met)
    return 100.0 * row.met / row.educators if row.educators else None


@router.get("/reports/earned/chart.svg", response_class=Response, responses=_SVG_DOC)
async def earned_chart(
    caller: Reporter,
    session: Session,
    state: State,
    period: PeriodParam = "month",
    by: Annotated[list[str], Query(description="Repeat or comma-separate: a line per group.")] = [],  # noqa: B006 (FastAPI copies defaults)
    start: From = None,
    end: To = None,
) -> Response:
    """The MCs-earned report (`/reports/earned`) as an SVG line chart."""
    names = [name.strip() for item in by for name in item.split(",") if name.strip()]
    groups = check_groups(names, EARNED_GROUPS, "MCs earned")
    span = ReportRange(period, aware(start, "from"), aware(end, "to") or now(), groups)
    if span.start is not None and span.start >= span.end:
        raise InvalidInput("from must be before to", field=("from",))
    approvals = await approvals_of(session, caller.agency)
    approved = sorted({row.achievement_iri for row in approvals})
    rows = await earned_report(
        session, state.settings.public_url, caller.agency, span, ApprovalBook(approvals), approved
    )
    labels = _labels(period, span.start, span.end, [str(row["period"]) for row in rows])
    counts: dict[str, list[float]] = {}
    for row in rows:
        name = " · ".join(str(row[group] or "none") for group in groups) or "MCs earned"
        values = counts.setdefault(name, [0.0] * len(labels))
        if row["period"] in labels:
            values[labels.index(str(row["period"]))] += float(row["count"] or 0)
    svg = line_chart(
        f"MCs earned per {period}" + (f", by {', '.join(groups)}" if groups else ""),
        f"Micro-credentials the agency's educators earned in each {period}.",
        labels,
        [Series(name, values) for name, values in counts.items()],
        "MCs earned",
    )
    return Response(svg, media_type=SVG_MEDIA_TYPE)


def _labels(
    period: Period, start: datetime | None, end: datetime, found: Sequence[str]
) -> list[str]:
    """Every period from `start` (or the first with a row) to `end`, empty ones too, so the
    x axis keeps time's spacing; at most the last MAX_PERIODS."""
    every = [
        snap.label for snap in snapshots(period, latest_periods(period, end, MAX_PERIODS), end)
    ]
    first = (
        label_of(period_start(start, period), period)
        if start is not None
        else min(found, default=every[-1])
    )
    return [label for label in every if label >= first]
