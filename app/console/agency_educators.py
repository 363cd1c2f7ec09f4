"""Educators in the agency console: find one, her progress and requirements (the evaluation
`/v1/agency/progress` and `/v1/agency/educators/{id}/requirements/{purpose}` compute), and
the renewal lists: who completed a stack lately, whose completions lapse soon.

An educator is kept as keyed hashes of her identifiers, so she is found by the exact e-mail
address or state educator ID the agency registered (posted, so it stays out of addresses
and logs), never by a part of one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import Form, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from app.console.agency_pages import agency_page, agency_router, missing
from app.console.agency_rules import achievement_names
from app.console.agency_views import area, day
from app.console.auth import AgencyContext, AgencyStaff, check_csrf
from app.csv_export import csv_response
from app.deps import Session, State
from app.foreign_status import status_source
from app.routers.policy.state_queries.common import refresh, streamed
from badges.errors import DomainError, NotFound
from badges.issuing.recipients import Recipient
from badges.policy.agencies import districts_of, educator_by_identifier, educator_of
from badges.policy.districts import Requirement, explain, requirement
from badges.policy.educator_progress import educator_progress
from badges.policy.policy_options import list_options
from badges.policy.purposes import purposes_of
from badges.policy.stacks import list_stacks
from badges.policy.state_queries import (
    MAX_EXPIRING_DAYS,
    Expiring,
    HolderFilter,
    completion_holders,
    expiring,
    expiring_page,
    holders_page,
    membership_at,
)
from storage.models import Educator, EducatorDistrict, Lattice

router = agency_router("/educators")
LIST_LIMIT: Final = 100
LAPSE_LIMIT: Final = 500


def short(educator_id: uuid.UUID) -> str:
    """How an educator is named on these pages: the agency keeps no name, only her id."""
    return f"Educator {str(educator_id)[:8]}"


async def _list_page(
    who: AgencyContext,
    session: Session,
    district: str | None,
    status_code: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    now = datetime.now(UTC)
    query = select(Educator, EducatorDistrict.district).outerjoin(
        EducatorDistrict, membership_at(Educator.id, now)
    )
    query = query.where(Educator.agency_id == who.agency.id)
    if district:
        query = query.where(EducatorDistrict.district == district)
    rows = (
        await session.execute(query.order_by(Educator.created_at.desc()).limit(LIST_LIMIT + 1))
    ).all()
    return agency_page(
        who,
        "console/agency_educators.html",
        "/educators",
        status_code,
        educators=[(row[0], row[1]) for row in rows[:LIST_LIMIT]],
        more=len(rows) > LIST_LIMIT,
        district=district or "",
        error=error,
        typed=typed or {},
        short=short,
        day=day,
    )


@router.get("")
async def educators(who: AgencyStaff, session: Session, district: str | None = None) -> Response:
    """The agency's educators (newest first; in one LEA now), and a search by identifier."""
    return await _list_page(who, session, (district or "").strip() or None)


@router.post("/search")
async def search(
    who: AgencyStaff,
    session: Session,
    state: State,
    csrf: Annotated[str, Form()] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    educator_id: Annotated[str, Form(max_length=200)] = "",
    educator_state: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    """Find one educator by the e-mail address or state educator ID the agency registered."""
    check_csrf(who, csrf)
    typed = {"email": email, "educator_id": educator_id, "educator_state": educator_state}
    identifiers = Recipient(
        email=email.strip() or None,
        educator_id=educator_id.strip() or None,
        educator_state=educator_state.strip().upper() or None,
    )
    if identifiers.educator_id and not identifiers.educator_state:
        return await _list_page(
            who, session, None, 422, "An educator ID needs its state (two letters).", typed
        )
    try:
        found = await educator_by_identifier(session, state.vault, who.agency, identifiers)
    except NotFound:
        return await _list_page(
            who, session, None, 404, "This agency has no educator with that identifier.", typed
        )
    except DomainError as error:
        return await _list_page(who, session, None, error.status_code, error.detail, typed)
    return RedirectResponse(area(who.agency.id, f"/educators/{found.id}"), status_code=303)


# --- renewal lists -----------------------------------------------------------------------------


def _days(value: str | None, default: int) -> int | None:
    """Days typed in the list's form; None when they cannot be used."""
    try:
        days = int(value) if value not in (None, "") else default
    except ValueError:
        return None
    return days if 0 <= days <= MAX_EXPIRING_DAYS else None


async def _targets(session: Session, who: AgencyContext) -> dict[tuple[str, uuid.UUID], str]:
    """(kind, target id) -> name: stacks by lineage, as completions name them, and roles."""
    found = {("stack", row.lineage_id): row.name for row in await list_stacks(session, who.agency)}
    for lattice in await session.scalars(select(Lattice).where(Lattice.agency_id == who.agency.id)):
        for role in lattice.roles:
            found[("role", role.id)] = f"{role.name} ({lattice.name})"
    return found


@router.get("/renewals")
async def renewals(
    who: AgencyStaff,
    session: Session,
    state: State,
    days: str | None = None,
    purpose: str | None = None,
) -> Response:
    """Who completed a stack for a purpose (license renewal by default) in the last N days."""
    wanted = _days(days, 90)
    names = await purposes_of(session, who.agency)
    chosen = purpose if purpose in names else "license_renewal"
    error = (
        "" if wanted is not None else f"Days must be a whole number from 0 to {MAX_EXPIRING_DAYS}."
    )
    rows: list[tuple[Any, ...]] = []
    stacks = [row for row in await list_stacks(session, who.agency) if row.purpose == chosen]
    if wanted is not None:
        await refresh(state, who.agency)
        now = datetime.now(UTC)
        since = now - timedelta(days=wanted)
        for stack in stacks:
            query = completion_holders(who.agency, "stack", stack.lineage_id, HolderFilter(now))
            holders, _ = await holders_page(session, query, LAPSE_LIMIT)
            rows += [
                (holder, stack)
                for holder in holders
                if holder.completed_at is not None and holder.completed_at >= since
            ]
    rows.sort(key=lambda item: item[0].completed_at, reverse=True)
    return agency_page(
        who,
        "console/agency_renewals.html",
        "/educators/renewals",
        422 if error else 200,
        rows=rows,
        days=days if wanted is None else wanted,
        purpose=chosen,
        purposes=names,
        stacks=stacks,
        error=error,
        short=short,
        day=day,
    )


@router.get("/expiring")
async def expiring_list(
    who: AgencyStaff, session: Session, state: State, days: str | None = None
) -> Response:
    """Whose completions lapse within N days (nothing new earned), soonest first."""
    wanted = _days(days, 90)
    rows: Sequence[Expiring] = []
    more = False
    if wanted is not None:
        await refresh(state, who.agency)
        query = expiring(who.agency, datetime.now(UTC), wanted)
        rows, more = await expiring_page(session, query, LAPSE_LIMIT)
    return agency_page(
        who,
        "console/agency_expiring.html",
        "/educators/expiring",
        200 if wanted is not None else 422,
        rows=rows,
        more=more,
        targets=await _targets(session, who),
        days=days if wanted is None else wanted,
        error=""
        if wanted is not None
        else f"Days must be a whole number from 0 to {MAX_EXPIRING_DAYS}.",
        short=short,
        day=day,
    )


@router.get("/expiring.csv")
async def expiring_csv(
    who: AgencyStaff, session: Session, state: State, days: str | None = None
) -> Response:
    """The expiring list as CSV, every row."""
    wanted = _days(days, 90)
    if wanted is None:
        return await expiring_list(who, session, state, days)
    await refresh(state, who.agency)
    now = datetime.now(UTC)
    targets = await _targets(session, who)

    def shape(row: Sequence[Any]) -> tuple[Any, ...]:
        item = Expiring(*row)
        name = targets.get((item.target_kind, item.target_id), "")
        return (
            item.educator_id,
            item.district,
            item.target_kind,
            name,
            item.completed_at,
            item.expires_at,
        )

    # Every row, streamed from a session of its own, as the API's `format=csv` does.
    lines = streamed(state, expiring(who.agency, now, wanted), shape)
    columns = ("educator", "district", "kind", "name", "completed_at", "expires_at")
    return csv_response(f"expiring-{wanted}-days-{now:%Y-%m-%d}.csv", columns, lines)


# --- one educator ------------------------------------------------------------------------------


@router.get("/{educator_id}")
async def educator(who: AgencyStaff, session: Session, state: State, educator_id: str) -> Response:
    """Her progress on every stack and role, and her requirement for each purpose the
    agency offers LEAs options for, as of now."""
    try:
        row = await educator_of(session, who.agency, uuid.UUID(educator_id))
    except (ValueError, NotFound):
        return missing(who, "This agency has registered no such educator.")
    public_url = state.settings.public_url
    await refresh(state, who.agency)
    now = datetime.now(UTC)
    source = status_source(state, now)
    progress = await educator_progress(session, public_url, who.agency, row, now, None, source)
    purposes = await purposes_of(session, who.agency)
    offered = dict.fromkeys(option.purpose for option in await list_options(session, who.agency))
    requirements: list[tuple[str, Requirement, str]] = []
    for purpose in offered:
        found = await requirement(session, public_url, who.agency, row, purpose, now, source)
        requirements.append(
            (purposes.get(purpose, purpose), found, explain(found, purposes.get(purpose, purpose)))
        )
    evaluations = [item.evaluation for item in progress.stacks]
    evaluations += [item.evaluation for item in progress.roles]
    iris = {item.achievement_id for evaluation in evaluations for item in evaluation.counted}
    iris |= {item.achievement_id for evaluation in evaluations for item in evaluation.rejected}
    for _purpose, applied, _summary in requirements:
        if applied.evaluation is not None:
            iris.update(item.achievement_id for item in applied.evaluation.counted)
    return agency_page(
        who,
        "console/agency_educator.html",
        "/educators",
        educator=row,
        name=short(row.id),
        memberships=await districts_of(session, row),
        progress=progress,
        requirements=requirements,
        names=await achievement_names(session, public_url, who.agency, iris),
        day=day,
    )
