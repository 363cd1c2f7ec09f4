"""Stacks and lattices in the agency console, read as rules in words, and the rule editor.

The editor builds the JSON rule `POST /v1/agency/stacks` takes (`agency_views.stack_details`)
and saves it with the API's own domain functions, `create_stack` and `revise_stack`; a
revision is committed and then re-evaluated in the background, as `PUT
/v1/agency/stacks/{id}` does. Rule JSON is shown only in an "advanced" details block.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Final

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.agency_pages import agency_page, agency_router, missing
from app.console.agency_views import (
    FormError,
    StackForm,
    area,
    day,
    field_of,
    form_of,
    json_text,
    stack_details,
    stack_words,
)
from app.console.auth import AgencyAdmin, AgencyContext, AgencyStaff, check_csrf
from app.counts_toward import Names
from app.deps import Session, State
from badges.errors import DomainError, InvalidInput, NotFound
from badges.policy.agencies import approvals_of
from badges.policy.criteria import criterion_names
from badges.policy.evaluation_runs import EvaluationRuns, reevaluation
from badges.policy.purposes import purposes_of
from badges.policy.stack_rules import Rule, achievements_of, parse_rule
from badges.policy.stacks import (
    create_stack,
    get_stack,
    list_stacks,
    revise_stack,
    stack_url,
)
from storage.models import Achievement, Agency, Lattice, Stack, VettingRequest
from storage.session import begin_write

router = agency_router()
_NO_STACK: Final = "This agency has no such stack."


# --- names for the words -------------------------------------------------------------------


async def achievement_names(
    session: AsyncSession, public_url: str, agency: Agency, iris: Iterable[str]
) -> dict[str, str]:
    """IRI -> name: this service's achievements by their own name, others by the name the
    vetting request that brought them here gave (the newest)."""
    wanted = sorted(set(iris))
    found: dict[str, str] = {}
    for row in await session.scalars(
        select(VettingRequest)
        .where(VettingRequest.agency_id == agency.id, VettingRequest.achievement_iri.in_(wanted))
        .order_by(VettingRequest.created_at)
    ):
        found[row.achievement_iri] = row.name
    prefix = f"{public_url}/achievements/"
    own: dict[uuid.UUID, str] = {}
    for iri in wanted:
        if iri.startswith(prefix):
            with contextlib.suppress(ValueError):
                own[uuid.UUID(iri.removeprefix(prefix))] = iri
    if own:
        rows = await session.execute(
            select(Achievement.id, Achievement.name).where(Achievement.id.in_(list(own)))
        )
        found.update({own[row_id]: name for row_id, name in rows})
    return found


async def rule_names(
    session: AsyncSession, public_url: str, agency: Agency, rules: Sequence[Rule]
) -> Names:
    """How the rules' achievements, stacks, purposes and criteria are said."""
    revisions = list(await session.scalars(select(Stack).where(Stack.agency_id == agency.id)))
    current = {row.lineage_id: row.name for row in revisions if row.is_current}
    stacks = {
        stack_url(public_url, row.id): current.get(row.lineage_id, row.name) for row in revisions
    }
    iris = [iri for rule in rules for iri in achievements_of(rule)]
    return Names(
        await achievement_names(session, public_url, agency, iris),
        stacks,
        await purposes_of(session, agency),
        await criterion_names(session, agency),
    )


def _parsed(document: Any) -> Rule | None:
    try:
        return parse_rule(document)
    except InvalidInput:  # stored under an older grammar: shown as unreadable, not fatal
        return None


def _words(rule: Rule | None, names: Names, window: int | None, purpose: str | None) -> str:
    if rule is None:
        return "A rule this console cannot read; see the advanced view."
    return stack_words(rule, names, window, purpose)


# --- pages ----------------------------------------------------------------------------------


@router.get("/stacks")
async def stacks(who: AgencyStaff, session: Session, state: State) -> Response:
    """Every current stack and lattice role, each rule in words."""
    public_url = state.settings.public_url
    rows = await list_stacks(session, who.agency)
    lattices = list(
        await session.scalars(
            select(Lattice).where(Lattice.agency_id == who.agency.id).order_by(Lattice.created_at)
        )
    )
    rules = {row.id: _parsed(row.rule) for row in rows}
    role_rules = {role.id: _parsed(role.rule) for lattice in lattices for role in lattice.roles}
    every = [rule for rule in (*rules.values(), *role_rules.values()) if rule is not None]
    names = await rule_names(session, public_url, who.agency, every)
    return agency_page(
        who,
        "console/agency_stacks.html",
        "/stacks",
        stacks=[(row, _words(rules[row.id], names, row.window_days, row.purpose)) for row in rows],
        lattices=[
            (
                lattice,
                [(role, _words(role_rules[role.id], names, None, None)) for role in lattice.roles],
            )
            for lattice in lattices
        ],
        purposes=names.purposes,
        day=day,
    )


async def _stack_of(who: AgencyContext, session: Session, stack_id: str) -> Stack | None:
    try:
        return await get_stack(session, who.agency, uuid.UUID(stack_id))
    except (ValueError, NotFound):
        return None


async def _editor(
    who: AgencyContext,
    session: Session,
    state: State,
    form: StackForm,
    editing: Stack | None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    """The rule editor, with the achievements and stacks a rule may name to choose from."""
    public_url = state.settings.public_url
    approved = [row.achievement_iri for row in await approvals_of(session, who.agency)]
    iris = list(dict.fromkeys([*approved, *form.achievements]))
    names = await achievement_names(session, public_url, who.agency, iris)
    choices = sorted(
        ((names.get(iri, iri), iri) for iri in iris), key=lambda item: item[0].casefold()
    )
    others = [
        (row.name, stack_url(public_url, row.id))
        for row in await list_stacks(session, who.agency)
        if editing is None or row.lineage_id != editing.lineage_id
    ]
    action = area(who.agency.id, f"/stacks/{editing.id}/edit" if editing else "/stacks/new")
    return agency_page(
        who,
        "console/agency_stack_form.html",
        "/stacks",
        status_code,
        form=form,
        editing=editing,
        action=action,
        achievements=choices,
        stacks=others,
        purposes=await purposes_of(session, who.agency),
        errors=errors or {},
    )


def _form_of(row: Stack) -> StackForm:
    return form_of(
        row.code,
        row.name,
        row.description,
        row.rule,
        row.window_days,
        row.purpose,
        row.approval_at or "earned",
    )


async def _posted(request: Request, who: AgencyContext) -> StackForm:
    posted = await request.form()
    check_csrf(who, str(posted.get("csrf", "")))
    fields = {key: value for key, value in posted.items() if isinstance(value, str)}
    multi = {
        name: [str(value) for value in posted.getlist(name) if isinstance(value, str)]
        for name in ("achievements", "stacks")
    }
    return StackForm.from_fields(fields, multi)


@router.get("/stacks/new")
async def new_stack_form(who: AgencyAdmin, session: Session, state: State) -> Response:
    """The rule editor, set for the common renewal rule: any 3 approved MCs in 5 years."""
    return await _editor(who, session, state, StackForm(window="5"), None)


@router.post("/stacks/new")
async def new_stack(who: AgencyAdmin, session: Session, state: State, request: Request) -> Response:
    """Save a new stack with the rule the form describes."""
    form = await _posted(request, who)
    try:
        details = stack_details(form)
    except FormError as error:
        return await _editor(who, session, state, form, None, 422, {error.field: error.message})
    await begin_write(session)  # SQLite: the writer's turn before the savepoint
    try:
        async with session.begin_nested():  # refused: nothing of it stays
            row = await create_stack(session, state.settings.public_url, who.agency, details)
    except DomainError as error:
        errors = {field_of(error): error.detail}
        return await _editor(who, session, state, form, None, error.status_code, errors)
    return RedirectResponse(area(who.agency.id, f"/stacks/{row.id}"), status_code=303)


@router.get("/stacks/{stack_id}/edit")
async def edit_stack_form(
    who: AgencyAdmin, session: Session, state: State, stack_id: str
) -> Response:
    """The rule editor with the stack's current rule in its shape."""
    row = await _stack_of(who, session, stack_id)
    if row is None:
        return missing(who, _NO_STACK)
    return await _editor(who, session, state, _form_of(row), row)


@router.post("/stacks/{stack_id}/edit")
async def revise(
    who: AgencyAdmin, session: Session, state: State, stack_id: str, request: Request
) -> Response:
    """Save the form as the stack's next revision (the old one stays for the record), then
    re-evaluate what it changes in the background, as the API does."""
    row = await _stack_of(who, session, stack_id)
    if row is None:
        return missing(who, _NO_STACK)
    form = await _posted(request, who)
    try:
        details = stack_details(form)
    except FormError as error:
        return await _editor(who, session, state, form, row, 422, {error.field: error.message})
    public_url = state.settings.public_url
    await begin_write(session)  # SQLite: the writer's turn before the savepoint
    try:
        async with session.begin_nested():  # refused: nothing of it stays
            revised = await revise_stack(session, public_url, who.agency, row.id, details)
    except DomainError as error:
        errors = {field_of(error): error.detail}
        return await _editor(who, session, state, form, row, error.status_code, errors)
    revision_id, lineage = revised.id, revised.lineage_id
    # The run reads the revision from its own session: it must be committed first.
    await session.commit()
    _runs(request).start(
        who.agency.id, revision_id, reevaluation(state.sessions, public_url, lineage)
    )
    return RedirectResponse(area(who.agency.id, f"/stacks/{revision_id}"), status_code=303)


def _runs(request: Request) -> EvaluationRuns:
    """The service's background runs (the registry the API's stack revisions use)."""
    runs: EvaluationRuns | None = getattr(request.app.state, "evaluation_runs", None)
    if runs is None:
        runs = request.app.state.evaluation_runs = EvaluationRuns()
    return runs


@router.get("/stacks/{stack_id}")
async def stack(who: AgencyStaff, session: Session, state: State, stack_id: str) -> Response:
    """One stack: its rule in words, its revision, and (advanced) the rule as stored."""
    row = await _stack_of(who, session, stack_id)
    if row is None:
        return missing(who, _NO_STACK)
    rule = _parsed(row.rule)
    public_url = state.settings.public_url
    names = await rule_names(session, public_url, who.agency, [rule] if rule else [])
    return agency_page(
        who,
        "console/agency_stack.html",
        "/stacks",
        stack=row,
        words=_words(rule, names, row.window_days, row.purpose),
        purpose_name=names.purpose(row.purpose) if row.purpose else None,
        rule_json=json_text(row.rule),
        public_url=stack_url(public_url, row.id),
        revised=row.revision > 1,
        day=day,
    )
