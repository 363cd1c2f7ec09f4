"""Vetting: a request that an agency vet a micro-credential for a purpose, its reviews
against the agency's rubric, the decision, and the audit trail of every step.

A request comes from a provider (one of its own achievements), a teacher (an MC from
elsewhere) or the agency's own staff. It moves submitted → in_review → approved | declined,
or is withdrawn by its requester. Every move is one conditional UPDATE on the request's
state (`WHERE state IN (submitted, in_review)`), so of two racing decisions exactly one
lands and the other is a Conflict, its approval rolled back with it. An approval becomes an
`Approval` with its dates (`badges.policy.agencies.decide`): that is what stacks, evaluations and
reports read. A decline records no `Approval`: it answers the request and leaves the
agency's list as it was (an earlier approval is withdrawn by a decision of its own).
Each step appends a `VettingEvent` naming who took it and when.

Who asks and about what: `badges.policy.vetting_parties`; reading requests and their trail:
`badges.policy.vetting_queries`; the rubric and scoring: `badges.policy.vetting_rubric`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput
from badges.policy.agencies import (
    ApprovalDecision,
    decide,
)
from badges.policy.purposes import check_purpose
from badges.policy.vetting_parties import (
    OPEN_STATES,
    Requester,
    RequestState,
    Subject,
)
from badges.policy.vetting_queries import agency_request
from badges.policy.vetting_rubric import (
    Rubric,
    parse_rubric,
    score,
    stored_rubric,
)
from storage.models import Agency, VettingEvent, VettingRequest, VettingReview
from storage.session import begin_write

Recommendation = Literal["approve", "decline", "revise"]
Verdict = Literal["approved", "declined"]


def _now() -> datetime:
    return datetime.now(UTC)


def _event(
    session: AsyncSession,
    request_id: uuid.UUID,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    session.add(
        VettingEvent(
            request_id=request_id, action=action, actor=actor, detail=detail, occurred_at=at
        )
    )


async def submit(
    session: AsyncSession,
    agency: Agency,
    purpose: str,
    subject: Subject,
    statement: str | None,
    requester: Requester,
) -> VettingRequest:
    """Ask `agency` to vet `subject` for `purpose`; refused while a request for the same
    achievement and purpose is open (it names that one)."""
    await check_purpose(session, agency, purpose)
    await begin_write(session)
    # Submissions to one agency take turns, so two racing ones cannot both pass the check.
    await session.scalar(select(Agency.id).where(Agency.id == agency.id).with_for_update())
    pending = await session.scalar(
        select(VettingRequest).where(
            VettingRequest.agency_id == agency.id,
            VettingRequest.achievement_iri == subject.achievement_iri,
            VettingRequest.purpose == purpose,
            VettingRequest.state.in_(OPEN_STATES),
        )
    )
    if pending is not None:
        raise Conflict(
            f"vetting request {pending.id} for this achievement and purpose is still "
            f"{pending.state}: follow that one, or withdraw it first",
            field=("achievementId",),
        )
    now = _now()
    row = VettingRequest(
        id=uuid.uuid4(),
        agency_id=agency.id,
        purpose=purpose,
        achievement_iri=subject.achievement_iri,
        name=subject.name,
        provider=subject.provider,
        issuer_iri=subject.issuer_iri,
        url=subject.url,
        credential=subject.credential,
        statement=statement,
        requested_by_kind=requester.kind,
        requested_by=requester.owner,
        state="submitted",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    detail: dict[str, Any] = {"purpose": purpose, "achievementId": subject.achievement_iri}
    if subject.credential_check:
        detail["credentialCheck"] = dict(subject.credential_check)
    _event(session, row.id, "submitted", requester.actor, now, detail)
    await session.flush()
    return row


@dataclass(frozen=True)
class ReviewDetails:
    scores: Mapping[str, object]
    recommendation: Recommendation
    comment: str | None = None
    reviewer: str | None = None  # the person, when the client speaks for several


def rubric_of(agency: Agency) -> Rubric:
    return stored_rubric(agency.vetting_rubric)


async def set_rubric(session: AsyncSession, agency: Agency, document: object) -> Rubric:
    """The agency's own rubric from now on; reviews already made keep the one they used."""
    rubric = parse_rubric(document)
    agency.vetting_rubric = rubric.to_json()
    await session.flush()
    return rubric


async def add_review(
    session: AsyncSession, agency: Agency, request_id: uuid.UUID, details: ReviewDetails, actor: str
) -> VettingReview:
    """Score the request against the agency's rubric as it stands now (kept with the
    review); the request is in review from its first one."""
    request = await agency_request(session, agency, request_id)
    _still_open(request, "takes no more reviews")
    rubric = rubric_of(agency)
    scored = score(rubric, details.scores)
    now = _now()
    await begin_write(session)
    await _move(session, request, "in_review", now, closes=False)
    review = VettingReview(
        id=uuid.uuid4(),
        request_id=request.id,
        reviewer=details.reviewer or actor,
        rubric=rubric.to_json(),
        scores=scored.scores,
        recommendation=details.recommendation,
        comment=details.comment,
        created_at=now,
    )
    session.add(review)
    _event(
        session,
        request.id,
        "review_added",
        actor,
        now,
        {
            "reviewId": str(review.id),
            "reviewer": review.reviewer,
            "recommendation": details.recommendation,
            "meetsRubric": scored.meets_rubric,
        },
    )
    await session.flush()
    return review


@dataclass(frozen=True)
class VettingDecision:
    decision: Verdict
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    note: str | None = None


async def decide_request(
    session: AsyncSession,
    agency: Agency,
    request_id: uuid.UUID,
    decision: VettingDecision,
    actor: str,
) -> VettingRequest:
    """Approve (an `Approval` with its dates) or decline the request.

    Approving needs at least one review: a decision on the vetting list rests on a
    scored reading of the MC. Declining does not (a request out of scope is declined as
    it comes)."""
    request = await agency_request(session, agency, request_id)
    _still_open(request, "is decided already")
    approval_id = None
    if decision.decision == "approved":
        reviews = await session.scalar(
            select(func.count()).where(VettingReview.request_id == request.id)
        )
        if not reviews:
            raise Conflict(
                "approving needs at least one review: POST one to .../reviews first",
                field=("decision",),
            )
    elif decision.effective_from or decision.effective_until:
        raise InvalidInput("a decline has no effective dates", field=("effectiveFrom",))
    now = _now()
    await begin_write(session)
    if decision.decision == "approved":
        approval = await decide(
            session,
            agency,
            ApprovalDecision(
                request.achievement_iri,
                request.purpose,
                "approved",
                decision.effective_from,
                decision.effective_until,
                decision.note,
            ),
            actor,
        )
        approval_id = approval.id
    await _move(session, request, decision.decision, now, closes=True, approval_id=approval_id)
    _event(
        session,
        request.id,
        "decided",
        actor,
        now,
        {
            "decision": decision.decision,
            "note": decision.note,
            "effectiveFrom": _iso(decision.effective_from),
            "effectiveUntil": _iso(decision.effective_until),
            "approvalId": str(approval_id) if approval_id else None,
        },
    )
    await session.flush()
    return request


async def withdraw(
    session: AsyncSession, request: VettingRequest, requester: Requester, reason: str | None
) -> VettingRequest:
    """The requester takes back a request not decided yet."""
    _still_open(request, "can no longer be withdrawn")
    now = _now()
    await begin_write(session)
    await _move(session, request, "withdrawn", now, closes=True, requester=requester)
    _event(session, request.id, "withdrawn", requester.actor, now, {"reason": reason})
    await session.flush()
    return request


def _still_open(request: VettingRequest, what: str) -> None:
    if request.state not in OPEN_STATES:
        raise Conflict(f"vetting request {request.id} is {request.state}: it {what}")


async def _move(
    session: AsyncSession,
    request: VettingRequest,
    state: RequestState,
    now: datetime,
    *,
    closes: bool,
    approval_id: uuid.UUID | None = None,
    requester: Requester | None = None,
) -> None:
    """Move the request to `state` in one conditional UPDATE: only from an open state (and
    only for its own requester, when one is named). Whoever moved it first wins; the
    other is told so, and its transaction (an approval with it) rolls back."""
    conditions = [VettingRequest.id == request.id, VettingRequest.state.in_(OPEN_STATES)]
    if requester is not None:
        conditions += [
            VettingRequest.requested_by_kind == requester.kind,
            VettingRequest.requested_by == requester.owner,
        ]
    values: dict[str, Any] = {"state": state}
    if closes:
        values |= {"decided_at": now, "approval_id": approval_id}
    moved = await session.execute(
        update(VettingRequest)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise Conflict(
            f"vetting request {request.id} was decided or withdrawn meanwhile: reload it"
        )
    await session.refresh(request)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
