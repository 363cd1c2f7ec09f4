"""Vetting: providers, teachers and agency staff ask an agency to vet an MC for a purpose;
the agency's reviewers score it against its rubric and decide (an approval with dates).

- the agency (`registry:write`: the requests hold what providers and teachers sent for
  review, so only the clients that vet read them) under /v1/agency/vetting;
- a provider (`achievements:write`: its own achievements) under /v1/vetting-requests;
- a signed-in teacher under /teacher (`app.routers.policy.teacher_vetting`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.cursors import fingerprint
from app.deps import AgencyCaller, Provider, RequireAgency, RequireScopes, Session, State
from app.routers.policy import teacher_vetting
from app.vetting_views import (
    CursorParam,
    Limit,
    detail,
    next_cursor,
    own_page,
    page_after,
    request_views,
    review_out,
    summaries,
)
from badges.policy.vetting import (
    ReviewDetails,
    VettingDecision,
    add_review,
    decide_request,
    rubric_of,
    set_rubric,
    submit,
    withdraw,
)
from badges.policy.vetting_parties import (
    Requester,
    find_agency,
    named_achievement,
    own_achievement,
    staff,
)
from badges.policy.vetting_queries import (
    Filter,
    agency_request,
    own_request,
    queue_page,
)
from schemas.api.vetting import (
    AgencyVettingIn,
    ProviderVettingIn,
    States,
    VettingDecisionIn,
    VettingDetailOut,
    VettingPageOut,
    VettingRequestOut,
    VettingRequestsOut,
    VettingReviewIn,
    VettingReviewOut,
    VettingRubric,
    VettingRubricOut,
    VettingWithdrawIn,
)

Vetter = Annotated[AgencyCaller, Depends(RequireAgency("registry:write"))]
Author = Annotated[Provider, Depends(RequireScopes("achievements:write"))]

agency_routes = APIRouter(prefix="/v1/agency/vetting", tags=["vetting"])
provider_routes = APIRouter(prefix="/v1/vetting-requests", tags=["vetting"])


# --- the agency ------------------------------------------------------------------------------


def _rubric_out(caller: AgencyCaller) -> VettingRubricOut:
    rubric = rubric_of(caller.agency).to_json()
    return VettingRubricOut(**rubric, default=caller.agency.vetting_rubric is None)


@agency_routes.get(
    "/rubric",
    response_model=VettingRubricOut,
    response_model_by_alias=True,
    summary="The agency's vetting rubric",
)
async def rubric(caller: Vetter) -> VettingRubricOut:
    """The rubric reviews are scored against (the default one until the agency sets its own)."""
    return _rubric_out(caller)


@agency_routes.put(
    "/rubric",
    response_model=VettingRubricOut,
    response_model_by_alias=True,
    summary="Replace the agency's vetting rubric",
)
async def replace_rubric(body: VettingRubric, caller: Vetter, session: Session) -> VettingRubricOut:
    """Replace the agency's rubric; reviews already made keep the rubric they were scored on."""
    await set_rubric(session, caller.agency, body.model_dump(by_alias=True))
    return _rubric_out(caller)


@agency_routes.get(
    "",
    response_model=VettingPageOut,
    response_model_by_alias=True,
    summary="The agency's vetting queue",
)
async def queue(
    caller: Vetter,
    session: Session,
    state: Annotated[States | None, Query(description="Only requests in this state.")] = None,
    purpose: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> VettingPageOut:
    """The agency's vetting requests, oldest first."""
    query = fingerprint("agency-vetting", caller.agency.id, state, purpose)
    rows, more = await queue_page(
        session, caller.agency, Filter(state, purpose), page_after(cursor, query), limit
    )
    return VettingPageOut(items=await summaries(session, rows), next=next_cursor(rows, more, query))


@agency_routes.post(
    "",
    status_code=201,
    response_model=VettingDetailOut,
    response_model_by_alias=True,
    summary="Open a vetting request (agency staff)",
)
async def open_request(
    body: AgencyVettingIn, caller: Vetter, session: Session, state: State
) -> VettingDetailOut:
    """Open a request on the agency's own initiative (for any issuer's achievement)."""
    subject = await named_achievement(
        session, state.settings.public_url, body.achievement_id, body.name, body.provider, body.url
    )
    requester = Requester.agency(caller.agency, caller.client.client_id)
    row = await submit(session, caller.agency, body.purpose, subject, body.statement, requester)
    return await detail(session, row)


@agency_routes.get(
    "/{request_id}",
    response_model=VettingDetailOut,
    response_model_by_alias=True,
    summary="A vetting request with its reviews and audit trail",
)
async def request_detail(
    request_id: uuid.UUID, caller: Vetter, session: Session
) -> VettingDetailOut:
    """One request with its reviews and its full audit trail."""
    return await detail(session, await agency_request(session, caller.agency, request_id))


@agency_routes.post(
    "/{request_id}/reviews",
    status_code=201,
    response_model=VettingReviewOut,
    response_model_by_alias=True,
    summary="Review a vetting request against the rubric",
)
async def review(
    request_id: uuid.UUID, body: VettingReviewIn, caller: Vetter, session: Session
) -> VettingReviewOut:
    """Score the request on every criterion of the rubric and recommend; the request is
    in review from its first review."""
    details = ReviewDetails(body.scores, body.recommendation, body.comment, body.reviewer)
    row = await add_review(
        session, caller.agency, request_id, details, staff(caller.client.client_id)
    )
    return review_out(row)


@agency_routes.post(
    "/{request_id}/decision",
    response_model=VettingDetailOut,
    response_model_by_alias=True,
    summary="Decide a vetting request",
)
async def decision(
    request_id: uuid.UUID, body: VettingDecisionIn, caller: Vetter, session: Session
) -> VettingDetailOut:
    """Approve (from `effectiveFrom`, until `effectiveUntil`; needs a review first) or
    decline. An approval is recorded on the agency's approvals list."""
    verdict = VettingDecision(body.decision, body.effective_from, body.effective_until, body.note)
    row = await decide_request(
        session, caller.agency, request_id, verdict, staff(caller.client.client_id)
    )
    return await detail(session, row)


@agency_routes.post(
    "/{request_id}/withdraw",
    response_model=VettingDetailOut,
    response_model_by_alias=True,
    summary="Withdraw a vetting request the agency opened",
)
async def withdraw_own(
    request_id: uuid.UUID, body: VettingWithdrawIn, caller: Vetter, session: Session
) -> VettingDetailOut:
    """Withdraw a request the agency opened itself (others' are theirs to withdraw)."""
    requester = Requester.agency(caller.agency, caller.client.client_id)
    await agency_request(session, caller.agency, request_id)
    row = await own_request(session, requester, request_id)
    return await detail(session, await withdraw(session, row, requester, body.reason))


# --- a provider ------------------------------------------------------------------------------


def _provider(caller: Provider) -> Requester:
    return Requester.provider(caller.issuer, caller.client.client_id)


@provider_routes.post(
    "",
    status_code=201,
    response_model=VettingRequestOut,
    response_model_by_alias=True,
    summary="Ask an agency to vet one of the issuer's achievements",
    responses={404: {"description": "No such agency, or no such achievement of the issuer"}},
)
async def provider_submit(
    body: ProviderVettingIn, caller: Author, session: Session, state: State
) -> VettingRequestOut:
    """Ask an agency to vet one of the issuer's own achievements for a purpose."""
    public_url = state.settings.public_url
    agency = await find_agency(session, public_url, body.agency)
    subject = await own_achievement(session, public_url, caller.issuer, body.achievement_id)
    row = await submit(session, agency, body.purpose, subject, body.statement, _provider(caller))
    [view] = await request_views(session, [row])
    return view


@provider_routes.get(
    "",
    response_model=VettingRequestsOut,
    response_model_by_alias=True,
    summary="The issuer's vetting requests",
)
async def provider_list(
    caller: Author, session: Session, limit: Limit = 50, cursor: CursorParam = None
) -> VettingRequestsOut:
    """The issuer's vetting requests, oldest first, with their state and outcome."""
    return await own_page(session, _provider(caller), cursor, limit)


@provider_routes.get(
    "/{request_id}",
    response_model=VettingRequestOut,
    response_model_by_alias=True,
    summary="One of the issuer's vetting requests",
)
async def provider_request(
    request_id: uuid.UUID, caller: Author, session: Session
) -> VettingRequestOut:
    [view] = await request_views(
        session, [await own_request(session, _provider(caller), request_id)]
    )
    return view


@provider_routes.post(
    "/{request_id}/withdraw",
    response_model=VettingRequestOut,
    response_model_by_alias=True,
    summary="Withdraw one of the issuer's vetting requests",
)
async def provider_withdraw(
    request_id: uuid.UUID, body: VettingWithdrawIn, caller: Author, session: Session
) -> VettingRequestOut:
    """Withdraw a request not decided yet."""
    requester = _provider(caller)
    row = await own_request(session, requester, request_id)
    [view] = await request_views(session, [await withdraw(session, row, requester, body.reason)])
    return view


router = APIRouter()
for part in (agency_routes, provider_routes, teacher_vetting.router):
    router.include_router(part)
