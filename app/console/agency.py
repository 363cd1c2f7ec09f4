"""An agency's console: the overview and the curated list (withdrawing an approval), and the
router every agency area hangs from (`agency_vetting`, `agency_rules`, `agency_educators`,
`agency_reports`).

Who may do what: every member of the agency (`AgencyStaff`) reads every page and reviews
vetting requests; only its admins (`AgencyAdmin`) decide requests, withdraw approvals and
save stack rules, since those change what counts toward an educator's license.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from app.console import agency_educators, agency_reports, agency_rules, agency_vetting
from app.console.agency_pages import agency_page, agency_router
from app.console.agency_views import FormError, actor, area, date_field, day
from app.console.auth import AgencyAdmin, AgencyContext, AgencyStaff, check_csrf
from app.deps import Session, State
from badges.errors import DomainError
from badges.policy.agencies import ApprovalDecision, decide
from badges.policy.curated_list import CuratedList, curated_list
from badges.policy.purposes import purposes_of
from badges.policy.vetting_parties import OPEN_STATES
from storage.models import Educator, VettingRequest
from storage.session import begin_write

overview_routes = agency_router()


def _approved_count(listing: CuratedList) -> int:
    return len({mc.achievement_iri for item in listing.purposes for mc in item.mcs})


@overview_routes.get("")
async def overview(who: AgencyStaff, session: Session, state: State) -> Response:
    """The agency at a glance: its purposes and how much is on its desk."""
    now = datetime.now(UTC)
    listing = await curated_list(session, state.settings.public_url, who.issuer.slug, now)
    open_requests = await session.scalar(
        select(func.count())
        .select_from(VettingRequest)
        .where(VettingRequest.agency_id == who.agency.id, VettingRequest.state.in_(OPEN_STATES))
    )
    educators = await session.scalar(
        select(func.count()).select_from(Educator).where(Educator.agency_id == who.agency.id)
    )
    return agency_page(
        who,
        "console/agency_home.html",
        purposes=listing.purposes,
        approved=_approved_count(listing),
        open_requests=open_requests or 0,
        educators=educators or 0,
    )


async def _curated_page(
    who: AgencyContext,
    session: Session,
    state: State,
    at: datetime | None,
    status_code: int = 200,
    error: str = "",
    notice: str = "",
) -> Response:
    moment = at or datetime.now(UTC)
    listing = await curated_list(session, state.settings.public_url, who.issuer.slug, moment)
    return agency_page(
        who,
        "console/agency_curated.html",
        "/curated",
        status_code,
        listing=listing,
        as_of=day(moment),
        at_value=at.date().isoformat() if at else "",
        past=at is not None,
        day=day,
        error=error,
        notice=notice,
        public_page=f"/agencies/{who.issuer.slug}/curated",
    )


@overview_routes.get("/curated")
async def curated(
    who: AgencyStaff,
    session: Session,
    state: State,
    at: str | None = None,
    withdrawn: str | None = None,
) -> Response:
    """The MCs approved for each purpose, as of a date (default today)."""
    try:
        moment = date_field(at or "", "at")
    except FormError as error:
        return await _curated_page(who, session, state, None, 422, error.message)
    notice = (
        f"Withdrawn: from now on it is not on the list for {withdrawn}. Earlier dates keep "
        "their answer."
        if withdrawn
        else ""
    )
    return await _curated_page(who, session, state, moment, notice=notice)


@overview_routes.post("/curated/withdraw")
async def withdraw_approval(
    who: AgencyAdmin,
    session: Session,
    state: State,
    csrf: Annotated[str, Form()] = "",
    achievement: Annotated[str, Form(max_length=2000)] = "",
    purpose: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Take an MC off the list for a purpose from now on: a decision on the approvals list,
    as `POST /v1/agency/approvals` records it (earlier dates keep their answer)."""
    check_csrf(who, csrf)
    names = await purposes_of(session, who.agency)
    decision = ApprovalDecision(
        achievement, purpose, "declined", datetime.now(UTC), None, note.strip() or None
    )
    await begin_write(session)  # SQLite: the writer's turn before the savepoint
    try:
        # A savepoint: a refused decision leaves nothing behind, and the page still renders.
        async with session.begin_nested():
            await decide(session, who.agency, decision, actor(who.member.account_id))
    except DomainError as error:
        return await _curated_page(who, session, state, None, error.status_code, error.detail)
    shown = names.get(purpose, purpose)
    return RedirectResponse(
        area(who.agency.id, f"/curated?{urlencode({'withdrawn': shown})}"), status_code=303
    )


router = APIRouter()
for part in (
    overview_routes,
    agency_vetting.router,
    agency_rules.router,
    agency_educators.router,
    agency_reports.router,
):
    router.include_router(part)
