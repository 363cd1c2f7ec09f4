"""Counts per period (MCs earned, stacks and roles completed), and completions expiring soon."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import astuple
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.csv_export import csv_response
from app.deps import Session, State
from app.routers.policy.state_queries.common import (
    Listed,
    Page,
    Reporter,
    aware,
    cursor_moment,
    cursor_uuid,
    now,
    refresh,
    streamed,
)
from badges.errors import InvalidInput, NotFound
from badges.policy.agencies import approvals_of
from badges.policy.completion_rules import TargetKind
from badges.policy.rule_book import ApprovalBook
from badges.policy.stacks import (
    list_stacks,
    role_url,
    stack_named,
    stack_url,
)
from badges.policy.state_queries import (
    Expiring,
    expiring,
    expiring_page,
)
from badges.policy.state_reports import (
    COMPLETED_GROUPS,
    EARNED_GROUPS,
    Period,
    ReportRange,
    ReportTarget,
    check_groups,
    completed_report,
    earned_report,
)
from schemas.api.base import ApiDatetime
from schemas.api.rules import STACK_REF
from schemas.api.state_queries import ExpiringOut, ExpiringPageOut, ReportOut
from storage.models import Agency, Lattice

router = APIRouter()
PeriodParam = Annotated[Literal["month", "quarter", "year"], Query(description="Bucket size.")]
By = Annotated[list[str], Query(description="Repeat or comma-separate: the groupings.")]
From = Annotated[ApiDatetime | None, Query(alias="from", description="Inclusive.")]
To = Annotated[ApiDatetime | None, Query(alias="to", description="Exclusive; default now.")]
Format = Annotated[Literal["json", "csv"], Query()]
EXPIRING_COLUMNS = (
    "educator",
    "district",
    "kind",
    "target",
    "name",
    "completed_at",
    "expires_at",
)


async def report_targets(
    session: Session, public_url: str, agency: Agency
) -> dict[tuple[str, uuid.UUID], ReportTarget]:
    """The agency's stacks (by lineage, named as their current revision) and roles."""
    found = {
        ("stack", stack.lineage_id): ReportTarget(
            "stack", stack_url(public_url, stack.id), stack.name, stack.purpose
        )
        for stack in await list_stacks(session, agency)
    }
    lattices = await session.scalars(select(Lattice).where(Lattice.agency_id == agency.id))
    for lattice in lattices:
        for role in lattice.roles:
            iri = role_url(public_url, lattice.id, role.key)
            found[("role", role.id)] = ReportTarget("role", iri, role.name, None)
    return found


def _span(
    period: Period,
    by: Sequence[str],
    bounds: tuple[datetime | None, datetime | None],
    allowed: Sequence[str],
    what: str,
) -> ReportRange:
    names = [name.strip() for item in by for name in item.split(",") if name.strip()]
    groups = check_groups(names, allowed, what)
    start, end = bounds
    span = ReportRange(period, aware(start, "from"), aware(end, "to") or now(), groups)
    if span.start is not None and span.start >= span.end:
        raise InvalidInput("from must be before to", field=("from",))
    return span


def _report(measure: str, span: ReportRange, rows: list[dict[str, Any]], output: str) -> Any:
    if output == "csv":
        columns = list(rows[0]) if rows else ["period", *span.by, "count"]

        async def lines() -> AsyncIterator[list[Any]]:
            for row in rows:
                yield [row[name] for name in columns]

        filename = f"{measure}-by-{span.period}-{span.end:%Y-%m-%d}.csv"
        return csv_response(filename, columns, lines())
    return ReportOut(
        measure=measure,
        period=span.period,
        start=span.start,
        end=span.end,
        by=list(span.by),
        rows=rows,
    )


@router.get("/reports/earned", response_model=ReportOut, response_model_by_alias=True)
async def earned(
    caller: Reporter,
    session: Session,
    state: State,
    period: PeriodParam = "month",
    by: By = [],  # noqa: B006 (FastAPI copies defaults)
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> Any:
    """MCs the agency's educators earned per period, by provider (`issuer`), `district` and
    approved `purpose` (an MC counts under each purpose its achievement is approved for)."""
    span = _span(period, by, (start, end), EARNED_GROUPS, "MCs earned")
    approvals = await approvals_of(session, caller.agency)
    approved = sorted({row.achievement_iri for row in approvals})
    rows = await earned_report(
        session, state.settings.public_url, caller.agency, span, ApprovalBook(approvals), approved
    )
    return _report("earned", span, rows, format)


@router.get("/reports/completed", response_model=ReportOut, response_model_by_alias=True)
async def completed(
    caller: Reporter,
    session: Session,
    state: State,
    period: PeriodParam = "month",
    by: By = [],  # noqa: B006
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> Any:
    """Stacks and roles completed per period (from the completions runs), per stack or role,
    by `district` and by the stack's `purpose`."""
    span = _span(period, by, (start, end), COMPLETED_GROUPS, "completions")
    await refresh(state, caller.agency)
    targets = await report_targets(session, state.settings.public_url, caller.agency)
    rows = await completed_report(session, caller.agency, span, targets)
    return _report("completed", span, rows, format)


@router.get("/expiring", response_model=ExpiringPageOut, response_model_by_alias=True)
async def expiring_soon(
    caller: Reporter,
    session: Session,
    state: State,
    listing: Listed,
    days: Annotated[int, Query(description="Lapsing within this many days of `at`.")],
    stack_id: Annotated[
        str | None, Query(alias="stackId", max_length=2000, description=STACK_REF)
    ] = None,
) -> Any:
    """Educators whose stacks or roles lapse within `days` (a counted credential expires,
    leaves the window or loses its approval, and the rest no longer meets the rule), for
    renewal reminders; soonest first."""
    if listing.issuer is not None:
        raise InvalidInput("issuer does not filter expiring completions", field=("issuer",))
    await refresh(state, caller.agency)
    public_url = state.settings.public_url
    target: tuple[TargetKind, uuid.UUID] | None = None
    if stack_id is not None:
        named = await stack_named(
            session, public_url, caller.agency, stack_id, ("stackId",), NotFound
        )
        target = ("stack", named.lineage_id)
    page = Page.of(listing, 4, "expiring", days, target, listing.district)
    query = expiring(caller.agency, page.at, days, listing.district, target, _after(page.after))
    targets = await report_targets(session, public_url, caller.agency)

    def shape(row: Sequence[Any]) -> tuple[Any, ...]:
        item = Expiring(*row)
        named = targets.get((item.target_kind, item.target_id))
        iri, name = (named.iri, named.name) if named else ("", "")
        return (
            str(item.educator_id),
            item.district,
            item.target_kind,
            iri,
            name,
            item.completed_at,
            item.expires_at,
        )

    if listing.csv:
        filename = f"expiring-{days}-days-{page.at:%Y-%m-%d}.csv"
        return csv_response(filename, EXPIRING_COLUMNS, streamed(state, query, shape))
    items, more = await expiring_page(session, query, listing.limit)
    last = items[-1].key if more else None
    return ExpiringPageOut(
        at=page.at,
        days=days,
        items=[
            ExpiringOut(**dict(zip(EXPIRING_COLUMNS, shape(astuple(item)), strict=True)))
            for item in items
        ],
        next=page.next(
            [last[0].isoformat(), str(last[1]), last[2], str(last[3])] if last else None
        ),
    )


def _after(position: list[str] | None) -> tuple[datetime, uuid.UUID, str, uuid.UUID] | None:
    if position is None:
        return None
    moment, educator, kind, target = position
    if kind not in ("stack", "role"):
        raise InvalidInput("cursor is not one this query returned", field=("cursor",))
    return cursor_moment(moment), cursor_uuid(educator), kind, cursor_uuid(target)
