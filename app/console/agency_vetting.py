"""The agency console's vetting queue: open requests, one request with its reviews and trail,
a review scored on the agency's rubric (any member), and the decision (admins), through the
domain functions `/v1/agency/vetting` uses (`badges.policy.vetting`)."""

from __future__ import annotations

import uuid
from typing import Any, Final, get_args

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from app.console.agency_pages import agency_page, agency_router, missing
from app.console.agency_views import (
    EVENT_WORDS,
    RECOMMENDATION_WORDS,
    STATE_WORDS,
    FormError,
    actor,
    area,
    date_field,
    day,
    score_lines,
)
from app.console.auth import AgencyAdmin, AgencyContext, AgencyStaff, check_csrf
from app.deps import Session
from badges.errors import DomainError, NotFound
from badges.policy.purposes import purposes_of
from badges.policy.vetting import (
    Recommendation,
    ReviewDetails,
    Verdict,
    VettingDecision,
    add_review,
    decide_request,
    rubric_of,
)
from badges.policy.vetting_parties import OPEN_STATES, STATES
from badges.policy.vetting_queries import (
    Filter,
    agency_request,
    events_of,
    queue_page,
    review_counts,
    reviews_of,
)
from storage.models import VettingRequest
from storage.session import begin_write

router = agency_router("/vetting")
QUEUE_LIMIT: Final = 200
_NO_REQUEST: Final = "This agency has no such vetting request."
_RECOMMENDATIONS: Final[tuple[Recommendation, ...]] = get_args(Recommendation)
_VERDICTS: Final[tuple[Verdict, ...]] = get_args(Verdict)


@router.get("")
async def queue(who: AgencyStaff, session: Session, show: str = "open") -> Response:
    """Requests waiting for a review or a decision, oldest first (or those in one state)."""
    wanted = [item for item in STATES if item == show]
    states = wanted or [item for item in STATES if item in OPEN_STATES]
    rows: list[VettingRequest] = []
    for item in states:
        found, _ = await queue_page(session, who.agency, Filter(item), None, QUEUE_LIMIT)
        rows += found
    rows.sort(key=lambda row: (row.created_at, row.id))
    counts = await review_counts(session, [row.id for row in rows])
    return agency_page(
        who,
        "console/agency_vetting.html",
        "/vetting",
        rows=rows[:QUEUE_LIMIT],
        counts=counts,
        show=show if show in STATES else "open",
        states=STATES,
        state_words=STATE_WORDS,
        purposes=await purposes_of(session, who.agency),
        day=day,
    )


async def _request_page(
    who: AgencyContext,
    session: Session,
    request_id: uuid.UUID,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    row = await agency_request(session, who.agency, request_id)
    reviews = await reviews_of(session, row.id)
    trail = (await events_of(session, [row.id]))[row.id]
    return agency_page(
        who,
        "console/agency_vetting_request.html",
        "/vetting",
        status_code,
        request=row,
        is_open=row.state in OPEN_STATES,
        purpose_name=(await purposes_of(session, who.agency)).get(row.purpose, row.purpose),
        reviews=[(review, score_lines(review.rubric, review.scores)) for review in reviews],
        trail=trail,
        rubric=rubric_of(who.agency),
        errors=errors or {},
        typed=typed or {},
        state_words=STATE_WORDS,
        recommendation_words=RECOMMENDATION_WORDS,
        event_words=EVENT_WORDS,
        day=day,
    )


async def _own_request(who: AgencyContext, session: Session, request_id: str) -> uuid.UUID:
    """The request's id, when it is one of the agency's (anything else: the 404 page)."""
    try:
        wanted = uuid.UUID(request_id)
    except ValueError:
        raise NotFound("no such request") from None
    await agency_request(session, who.agency, wanted)
    return wanted


@router.get("/{request_id}")
async def request_page(who: AgencyStaff, session: Session, request_id: str) -> Response:
    """One request: what was asked, the reviews, the trail; the review and decision forms."""
    try:
        wanted = await _own_request(who, session, request_id)
    except NotFound:
        return missing(who, _NO_REQUEST)
    return await _request_page(who, session, wanted)


async def _posted(
    who: AgencyContext, session: Session, request_id: str, request: Request
) -> tuple[uuid.UUID, dict[str, str]] | None:
    """A form posted about one of the agency's requests (its CSRF token checked): the
    request's id and the fields as typed; None when the agency has no such request."""
    form = await request.form()
    check_csrf(who, str(form.get("csrf", "")))
    try:
        wanted = await _own_request(who, session, request_id)
    except NotFound:
        return None
    return wanted, {key: str(value) for key, value in form.items() if key != "csrf"}


@router.post("/{request_id}/reviews")
async def review(who: AgencyStaff, session: Session, request_id: str, request: Request) -> Response:
    """Score the request on every criterion of the rubric and recommend."""
    posted = await _posted(who, session, request_id, request)
    if posted is None:
        return missing(who, _NO_REQUEST)
    wanted, typed = posted
    scores: dict[str, object] = {}
    errors: dict[str, str] = {}
    for item in rubric_of(who.agency).criteria:
        value = typed.get(f"score_{item.key}", "")
        try:
            scores[item.key] = int(value)
        except ValueError:
            errors[f"score_{item.key}"] = f"Score {item.name} from {item.low} to {item.high}"
    recommendation: Recommendation | None = next(
        (item for item in _RECOMMENDATIONS if item == typed.get("recommendation")), None
    )
    if recommendation is None:
        errors["recommendation"] = "Choose a recommendation"
    if errors or recommendation is None:
        return await _request_page(who, session, wanted, 422, errors, typed)
    details = ReviewDetails(
        scores,
        recommendation,
        typed.get("comment", "").strip() or None,
        who.member.email,
    )
    await begin_write(session)  # SQLite: the writer's turn before the savepoint
    try:
        async with session.begin_nested():  # refused: nothing of it stays
            await add_review(session, who.agency, wanted, details, actor(who.member.account_id))
    except DomainError as error:
        where = (
            f"score_{error.field[1]}" if error.field and error.field[0] == "scores" else "review"
        )
        errors = {where: error.detail}
        return await _request_page(who, session, wanted, error.status_code, errors, typed)
    return RedirectResponse(area(who.agency.id, f"/vetting/{wanted}#reviews"), status_code=303)


@router.post("/{request_id}/decision")
async def decision(
    who: AgencyAdmin, session: Session, request_id: str, request: Request
) -> Response:
    """Approve (with the dates it is approved from and until) or decline."""
    posted = await _posted(who, session, request_id, request)
    if posted is None:
        return missing(who, _NO_REQUEST)
    wanted, typed = posted
    verdict: Verdict | None = next(
        (item for item in _VERDICTS if item == typed.get("decision")), None
    )
    try:
        if verdict is None:
            raise FormError("decision", "Choose approve or decline")
        starts = date_field(typed.get("effective_from", ""), "effective_from")
        ends = date_field(typed.get("effective_until", ""), "effective_until")
        if verdict == "approved" and starts is None:
            raise FormError("effective_from", "An approval needs the date it starts")
    except FormError as error:
        errors = {error.field: error.message}
        return await _request_page(who, session, wanted, 422, errors, typed)
    chosen = VettingDecision(
        verdict,
        starts if verdict == "approved" else None,
        ends if verdict == "approved" else None,
        typed.get("note", "").strip() or None,
    )
    await begin_write(session)  # SQLite: the writer's turn before the savepoint
    try:
        async with session.begin_nested():  # refused: nothing of it stays
            await decide_request(session, who.agency, wanted, chosen, actor(who.member.account_id))
    except DomainError as error:
        errors = {"decision": error.detail}
        return await _request_page(who, session, wanted, error.status_code, errors, typed)
    return RedirectResponse(area(who.agency.id, f"/vetting/{wanted}"), status_code=303)
