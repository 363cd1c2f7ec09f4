"""Full evaluation runs, and who holds a stack, a lattice role or an achievement on a date."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.csv_export import csv_response
from app.deps import AgencyCaller, Session, State
from app.routers.policy.state_queries.common import (
    Listed,
    Listing,
    Page,
    Reporter,
    cursor_uuid,
    now,
    refresh,
    streamed,
)
from badges.errors import Conflict, InvalidInput, NotFound
from badges.issuing.achievements import achievement_iri
from badges.policy.completion_rules import Target
from badges.policy.evaluation_runs import not_evaluated
from badges.policy.holdings import own_achievement_ids
from badges.policy.stack_completions import (
    RunSummary,
    current_stack,
    evaluate_all,
    role_target,
    rule_book,
    stack_target,
)
from badges.policy.stacks import (
    get_lattice,
    get_stack,
    role_url,
    stack_url,
)
from badges.policy.state_queries import (
    AnySelect,
    HolderFilter,
    achievement_holders,
    achievement_set,
    approved_for,
    completion_holders,
    find_issuer,
    holders_page,
    last_run,
)
from schemas.api.rules import ACHIEVEMENT_REF
from schemas.api.state_queries import (
    HolderOut,
    HoldersOut,
    NotEvaluatedOut,
    RunOut,
    RunTargetOut,
)

router = APIRouter()
HOLDER_COLUMNS = ("educator", "district", "completed_at", "expires_at")


# --- full evaluation runs --------------------------------------------------------------------


def _run_out(summary: RunSummary, iris: dict[uuid.UUID, str]) -> RunOut:
    return RunOut(
        at=summary.at,
        educators=summary.educators,
        evaluated=summary.evaluated,
        not_evaluated=[
            NotEvaluatedOut(reason=reason, educators=count)
            for reason, count in not_evaluated(summary)
        ],
        seconds=round(summary.seconds, 3),
        opened=summary.opened,
        closed=summary.closed,
        targets=[
            RunTargetOut(
                kind=target.kind, id=iris[target.id], name=target.name, met=summary.met[target.id]
            )
            for target in summary.targets
        ],
    )


@router.post("/stacks/{stack_id}/evaluate-all", response_model_by_alias=True)
async def evaluate_stack(
    stack_id: uuid.UUID, caller: Reporter, session: Session, state: State
) -> RunOut:
    """Evaluate every educator of the agency against the stack (its current revision) and
    store the completions that holders, reports and expiring queries read."""
    public_url = state.settings.public_url
    stack = await current_stack(session, await get_stack(session, caller.agency, stack_id))
    target = stack_target(stack)
    await refresh(state, caller.agency)
    summary = await evaluate_all(session, public_url, caller.agency, [target], now())
    return _run_out(summary, {target.id: stack_url(public_url, stack.id)})


@router.post("/lattices/{lattice_id}/evaluate-all", response_model_by_alias=True)
async def evaluate_lattice(
    lattice_id: uuid.UUID, caller: Reporter, session: Session, state: State
) -> RunOut:
    """Evaluate every educator of the agency against each role of the lattice."""
    public_url = state.settings.public_url
    lattice = await get_lattice(session, caller.agency, lattice_id)
    targets = [role_target(role) for role in lattice.roles]
    await refresh(state, caller.agency)
    summary = await evaluate_all(session, public_url, caller.agency, targets, now())
    iris = {role.id: role_url(public_url, lattice.id, role.key) for role in lattice.roles}
    return _run_out(summary, iris)


# --- holders ---------------------------------------------------------------------------------


async def _holders(
    session: Session,
    state: State,
    page: Page,
    build: Callable[[uuid.UUID | None], AnySelect],
    filename: str,
    evaluated_at: datetime | None = None,
) -> Any:
    if page.listing.csv:
        rows = streamed(state, build(None), lambda row: row)
        return csv_response(f"{filename}-{page.at:%Y-%m-%d}.csv", HOLDER_COLUMNS, rows)
    after = cursor_uuid(page.after[0]) if page.after else None
    items, more = await holders_page(session, build(after), page.listing.limit)
    return HoldersOut(
        at=page.at,
        evaluated_at=evaluated_at,
        items=[
            HolderOut(
                educator=str(item.educator_id),
                district=item.district,
                completed_at=item.completed_at,
                expires_at=item.expires_at,
            )
            for item in items
        ],
        next=page.next([str(items[-1].educator_id)] if more else None),
    )


async def _completion_holders(
    session: Session, state: State, caller: AgencyCaller, target: Target, listing: Listing
) -> Any:
    """Holders of a stack or role, from the completions of its last full run."""
    await refresh(state, caller.agency)
    run = await last_run(session, caller.agency, target.kind, target.id)
    if run is None:
        raise Conflict(
            f"{target.kind} {target.name!r} has not been evaluated for all educators yet: "
            "POST its evaluate-all first"
        )
    issuer = await find_issuer(session, listing.issuer)
    page = Page.of(listing, 1, target.kind, target.id, *_filters(listing))
    held_of: list[uuid.UUID] = []
    if issuer is not None or listing.purpose is not None:
        # Only these filters ask which of the rule's MCs she holds: the rule book is built
        # for them alone (most queries read the stored completions and nothing else).
        book = await rule_book(session, state.settings.public_url, caller.agency, [target])
        counted = book.achievements()
        if listing.purpose is not None:
            counted &= set(await approved_for(session, caller.agency, listing.purpose, page.at))
        held_of = own_achievement_ids(state.settings.public_url, counted)

    def build(after: uuid.UUID | None) -> AnySelect:
        where = HolderFilter(page.at, listing.district, issuer, listing.purpose)
        return completion_holders(caller.agency, target.kind, target.id, where, held_of, after)

    return await _holders(session, state, page, build, f"{target.kind}-holders", run.evaluated_at)


def _filters(listing: Listing) -> tuple[str | None, str | None, str | None]:
    return listing.district, listing.issuer, listing.purpose


@router.get("/stacks/{stack_id}/holders", response_model=HoldersOut, response_model_by_alias=True)
async def stack_holders(
    stack_id: uuid.UUID, caller: Reporter, session: Session, state: State, listing: Listed
) -> Any:
    """Educators who hold the stack on a date (`at`), with when they completed it and when
    it lapses; by `district`, or only those holding one of its MCs from a provider (`issuer`)
    or approved for a `purpose`."""
    stack = await current_stack(session, await get_stack(session, caller.agency, stack_id))
    return await _completion_holders(session, state, caller, stack_target(stack), listing)


@router.get(
    "/lattices/{lattice_id}/roles/{key}/holders",
    response_model=HoldersOut,
    response_model_by_alias=True,
)
async def role_holders(
    lattice_id: uuid.UUID,
    key: str,
    caller: Reporter,
    session: Session,
    state: State,
    listing: Listed,
) -> Any:
    """Educators who have reached the lattice role on a date."""
    lattice = await get_lattice(session, caller.agency, lattice_id)
    role = next((role for role in lattice.roles if role.key == key), None)
    if role is None:
        raise NotFound(f"lattice has no role {key!r}", field=("role",))
    return await _completion_holders(session, state, caller, role_target(role), listing)


@router.get("/holders", response_model=HoldersOut, response_model_by_alias=True)
async def achievement_holders_route(
    caller: Reporter,
    session: Session,
    state: State,
    listing: Listed,
    achievement_id: Annotated[
        str | None, Query(alias="achievementId", max_length=2000, description=ACHIEVEMENT_REF)
    ] = None,
) -> Any:
    """Educators holding an achievement (or any MC approved for a purpose, or any of one
    provider's) valid and in good standing on a date: first earned, and when it ends."""
    purpose = listing.purpose
    if achievement_id is None and purpose is None and listing.issuer is None:
        raise InvalidInput(
            "name an achievementId, a purpose or an issuer (stack and role holders are at "
            "/v1/agency/stacks/{id}/holders and /v1/agency/lattices/{id}/roles/{key}/holders)",
            field=("achievementId",),
        )
    public_url = state.settings.public_url
    if achievement_id is not None:
        where = ("achievementId",)
        achievement_id = await achievement_iri(session, public_url, achievement_id, where, NotFound)
    await refresh(state, caller.agency)
    provider = await find_issuer(session, listing.issuer)
    page = Page.of(listing, 1, "achievement", achievement_id, *_filters(listing))
    wanted = await achievement_set(
        session, public_url, caller.agency, achievement_id, purpose, page.at
    )

    def build(after: uuid.UUID | None) -> AnySelect:
        where = HolderFilter(page.at, listing.district, provider, purpose)
        return achievement_holders(caller.agency, wanted, where, after)

    return await _holders(session, state, page, build, "achievement-holders")
