"""Stacks and career lattices as an agency defines them, and their public documents.

A stack is versioned like an achievement: an edit adds a revision with its own id, so an
evaluation can always say which rule it applied. Rules are checked when saved: every
achievement must be known (one of this service's, or one the agency has vetted) and
nested stacks must not form a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuing.achievements import (
    Location,
    achievement_iri,
    check_reference,
)
from badges.policy.purposes import check_purpose
from badges.policy.rule_leaves import (
    check_role_leaves,
    check_stack_leaves,
)
from badges.policy.stack_rules import (
    APPROVAL_AT,
    MAX_RULE_DEPTH,
    ApprovalAt,
    Rule,
    StackPolicy,
    achievements_of,
    find_cycle,
    parse_rule,
    rule_json,
    stacks_of,
)
from net.lru import LruCache
from schemas.api.base import MAX_WINDOW_DAYS
from storage.bulk import chunks
from storage.models import (
    Achievement,
    Agency,
    Approval,
    Lattice,
    LatticeRole,
    Stack,
)


@dataclass(frozen=True)
class StackDetails:
    code: str
    name: str
    rule: Mapping[str, Any]
    description: str | None = None
    window_days: int | None = None
    purpose: str | None = None
    approval_at: ApprovalAt = "earned"


@dataclass(frozen=True)
class RoleDetails:
    key: str
    name: str
    rule: Mapping[str, Any]
    description: str | None = None
    precedes: tuple[str, ...] = ()


def stack_url(public_url: str, stack_id: uuid.UUID) -> str:
    return f"{public_url}/stacks/{stack_id}"


def lattice_url(public_url: str, lattice_id: uuid.UUID) -> str:
    return f"{public_url}/lattices/{lattice_id}"


def role_url(public_url: str, lattice_id: uuid.UUID, key: str) -> str:
    return f"{lattice_url(public_url, lattice_id)}/roles/{key}"


# A stored stack row never changes (a revision is a new row), so its parsed policy is kept
# by id: progress and evaluations parse every stack of an agency on each question otherwise.
_POLICIES: Final[LruCache[uuid.UUID, StackPolicy]] = LruCache(4096)
_NAMED: Final[LruCache[uuid.UUID, frozenset[str]]] = LruCache(4096)


def policy_of(stack: Stack) -> StackPolicy:
    stored = stack.id is not None and stack.rule is not None
    found = _POLICIES.get(stack.id) if stored else None
    if found is None:
        found = StackPolicy(
            parse_rule(stack.rule), _window_of(stack), stack.purpose, _approval_at(stack)
        )
        if stored:
            _POLICIES.put(stack.id, found)
    return found


async def achievements_named_by_stacks(session: AsyncSession, agency: Agency) -> set[str]:
    """Every achievement any revision of the agency's stacks names (rules read and parsed
    once per process: only the ids are read for stacks already seen)."""
    ids = list(await session.scalars(select(Stack.id).where(Stack.agency_id == agency.id)))
    unseen = [stack_id for stack_id in ids if _NAMED.get(stack_id) is None]
    for chunk in chunks(unseen):
        rows = await session.execute(select(Stack.id, Stack.rule).where(Stack.id.in_(chunk)))
        for stack_id, rule in rows:
            _NAMED.put(stack_id, frozenset(achievements_of(parse_rule(rule))))
    found: set[str] = set()
    for stack_id in ids:
        named = _NAMED.get(stack_id)
        if named is None:  # pushed out of the cache meanwhile: read it again
            rule = await session.scalar(select(Stack.rule).where(Stack.id == stack_id))
            named = frozenset(achievements_of(parse_rule(rule)))
        found |= named
    return found


def _approval_at(stack: Stack) -> ApprovalAt:
    # A row not yet flushed has no server default; every stored row holds one of the two.
    return "evaluation" if stack.approval_at == "evaluation" else "earned"


def _window_of(stack: Stack) -> int | None:
    """The stack's window, at most MAX_WINDOW_DAYS: a stack saved before that bound existed
    may hold any number (10**12 days), and a window over a century counts everything a
    career holds anyway, while dates moved by such a window fall off the calendar."""
    if stack.window_days is None:
        return None
    return min(stack.window_days, MAX_WINDOW_DAYS)


async def _check_rule(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    rule: Rule,
    lineage: uuid.UUID | None,
) -> None:
    """Known achievements and stacks only, and (for a revision) no cycle through nesting."""
    await _check_achievements(session, public_url, agency, achievements_of(rule))
    nested = [await resolve_stack_ref(session, public_url, agency, ref) for ref in stacks_of(rule)]
    if lineage is None:
        return
    graph: dict[uuid.UUID, list[uuid.UUID]] = {lineage: [stack.lineage_id for stack in nested]}
    frontier = list(graph[lineage])
    while frontier:
        item = frontier.pop()
        if item in graph:
            continue
        current = await _current_of_lineage(session, item)
        refs = stacks_of(parse_rule(current.rule)) if current else []
        graph[item] = [
            (await resolve_stack_ref(session, public_url, agency, ref)).lineage_id for ref in refs
        ]
        frontier.extend(graph[item])
    if find_cycle(lineage, lambda item: graph.get(item, [])):
        raise InvalidInput("the rule makes a cycle of nested stacks", field=("rule",))


async def _check_achievements(
    session: AsyncSession, public_url: str, agency: Agency, iris: Sequence[str]
) -> None:
    own_prefix = f"{public_url}/achievements/"
    vetted = set(
        await session.scalars(
            select(Approval.achievement_iri).where(
                Approval.agency_id == agency.id, Approval.achievement_iri.in_(list(iris))
            )
        )
    )
    for iri in iris:
        if iri.startswith(own_prefix):
            try:
                found = await session.get(Achievement, uuid.UUID(iri.removeprefix(own_prefix)))
            except ValueError:
                found = None
            if found is not None:
                continue
        elif iri in vetted:
            continue
        raise InvalidInput(
            f"unknown achievement {iri}: not one of this service's, and not on the agency's "
            "vetting list",
            field=("rule",),
        )


async def resolve_stack_ref(
    session: AsyncSession, public_url: str, agency: Agency, iri: str
) -> Stack:
    """The current revision of the stack an IRI names (any revision's IRI will do)."""
    prefix = f"{public_url}/stacks/"
    try:
        stack_id = uuid.UUID(iri.removeprefix(prefix)) if iri.startswith(prefix) else None
    except ValueError:
        stack_id = None
    named = await session.get(Stack, stack_id) if stack_id else None
    if named is None or named.agency_id != agency.id:
        raise InvalidInput(f"unknown stack {iri}", field=("rule",))
    current = await _current_of_lineage(session, named.lineage_id)
    return current or named


# --- naming a stack, a lattice, or what a rule names: by UUID or by IRI ----------------------


def _id_in(value: str, prefix: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.removeprefix(prefix)) if value.startswith(prefix) else None
    except ValueError:
        return None


async def stack_named(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    value: str,
    field: Location,
    missing: type[DomainError] = InvalidInput,
) -> Stack:
    """The revision of one of the agency's stacks that `value` names, by its UUID or its IRI;
    anything else is `missing` (InvalidInput in a body, NotFound in a query) at `field`."""
    named = check_reference(value, "a stack", field) or _id_in(value, f"{public_url}/stacks/")
    row = await session.get(Stack, named) if named else None
    if row is None or row.agency_id != agency.id:
        raise missing(f"no stack {value} of this agency", field=field)
    return row


async def lattice_named(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    value: str,
    field: Location,
    missing: type[DomainError] = InvalidInput,
) -> Lattice:
    """One of the agency's lattices, by its UUID or its IRI (as `stack_named`)."""
    named = check_reference(value, "a lattice", field) or _id_in(value, f"{public_url}/lattices/")
    row = await session.get(Lattice, named) if named else None
    if row is None or row.agency_id != agency.id:
        raise missing(f"no lattice {value} of this agency", field=field)
    return row


# The keys `parse_rule` looks for, in its order: only the part of a rule it reads is resolved.
_RULE_KEYS = ("achievement", "stack", "approvedFor", "criterion", "atLeast", "all", "any")


async def canonical_rule(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    document: Any,
    location: Location = ("rule",),
    *,
    depth: int = 1,
) -> Any:
    """`document` naming every achievement and stack by IRI, the form rules are stored and
    compared in, whether the request named it by UUID or by IRI: resolved here, once, so
    the rest of the domain sees IRIs only. A stack must be the agency's. The rest is for
    `parse_rule` and `rule_leaves` to judge: what they would not read is left as it is."""
    if depth > MAX_RULE_DEPTH or not isinstance(document, Mapping):
        return document
    rule = dict(document)
    key = next((key for key in _RULE_KEYS if key in rule), None)
    here = (*location, key) if key else location
    match key, rule.get(key) if key else None:
        case "achievement", str(value):
            rule[key] = await achievement_iri(session, public_url, value, here)
        case "stack", str(value):
            named = await stack_named(session, public_url, agency, value, here)
            rule[key] = stack_url(public_url, named.id)
        case "atLeast", _ if isinstance(rule.get("of"), list):
            rule["of"] = [
                await _achievement(session, public_url, item, (*location, "of", index))
                for index, item in enumerate(rule["of"])
            ]
        case "all" | "any", list(children):
            rule[key] = [
                await canonical_rule(
                    session, public_url, agency, child, (*here, index), depth=depth + 1
                )
                for index, child in enumerate(children)
            ]
    return rule


async def _achievement(session: AsyncSession, public_url: str, value: Any, field: Location) -> Any:
    if not isinstance(value, str):
        return value  # not an identifier at all: parse_rule says so
    return await achievement_iri(session, public_url, value, field)


async def _current_of_lineage(session: AsyncSession, lineage_id: uuid.UUID) -> Stack | None:
    return await session.scalar(
        select(Stack).where(Stack.lineage_id == lineage_id, Stack.is_current.is_(True))
    )


async def _validate(
    session: AsyncSession, public_url: str, agency: Agency, details: StackDetails
) -> Rule:
    if details.window_days is not None and not 1 <= details.window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput(
            f"windowDays must be between 1 and {MAX_WINDOW_DAYS} (100 years)",
            field=("windowDays",),
        )
    if details.purpose is not None:
        await check_purpose(session, agency, details.purpose)
    if details.approval_at not in APPROVAL_AT:
        raise InvalidInput('approvalAt must be "earned" or "evaluation"', field=("approvalAt",))
    rule = parse_rule(await canonical_rule(session, public_url, agency, details.rule))
    check_stack_leaves(rule, details.purpose)
    return rule


async def create_stack(
    session: AsyncSession, public_url: str, agency: Agency, details: StackDetails
) -> Stack:
    rule = await _validate(session, public_url, agency, details)
    stack_id = uuid.uuid4()
    await _check_rule(session, public_url, agency, rule, None)
    row = Stack(id=stack_id, agency_id=agency.id, lineage_id=stack_id, revision=1, is_current=True)
    _apply(row, details, rule)
    session.add(row)
    await session.flush()
    return row


async def revise_stack(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    stack_id: uuid.UUID,
    details: StackDetails,
) -> Stack:
    """A new revision with its own id; the old one stays readable for past evaluations."""
    current = await get_stack(session, agency, stack_id)
    if not current.is_current:
        raise InvalidInput("this is an old revision; revise the current one", field=("stackId",))
    rule = await _validate(session, public_url, agency, details)
    await _check_rule(session, public_url, agency, rule, current.lineage_id)
    current.is_current = False
    row = Stack(
        id=uuid.uuid4(),
        agency_id=agency.id,
        lineage_id=current.lineage_id,
        revision=current.revision + 1,
        is_current=True,
    )
    _apply(row, details, rule)
    session.add(row)
    await session.flush()
    return row


def _apply(row: Stack, details: StackDetails, rule: Rule) -> None:
    row.code = details.code
    row.name = details.name
    row.description = details.description
    row.rule = rule_json(rule)
    row.window_days = details.window_days
    row.purpose = details.purpose
    row.approval_at = details.approval_at


async def get_stack(session: AsyncSession, agency: Agency | None, stack_id: uuid.UUID) -> Stack:
    row = await session.get(Stack, stack_id)
    if row is None or (agency is not None and row.agency_id != agency.id):
        raise NotFound(f"no stack {stack_id}", field=("stackId",))
    return row


async def list_stacks(session: AsyncSession, agency: Agency) -> list[Stack]:
    return list(
        await session.scalars(
            select(Stack)
            .where(Stack.agency_id == agency.id, Stack.is_current.is_(True))
            .order_by(Stack.created_at)
        )
    )


async def stacks_containing(session: AsyncSession, achievement_iri: str) -> list[Stack]:
    """Current stacks (of any agency) whose rule names the achievement."""
    rows = await session.scalars(
        select(Stack).where(Stack.is_current.is_(True), Stack.archived_at.is_(None))
    )
    return [row for row in rows if achievement_iri in achievements_of(parse_rule(row.rule))]


def stack_document(public_url: str, stack: Stack, agency_name: str) -> dict[str, Any]:
    return {
        "id": stack_url(public_url, stack.id),
        "type": "Stack",
        "code": stack.code,
        "name": stack.name,
        "description": stack.description,
        "agency": agency_name,
        "revision": stack.revision,
        "current": stack.is_current,
        "rule": stack.rule,
        "windowDays": stack.window_days,
        "purpose": stack.purpose,
        "approvalAt": _approval_at(stack),
        "achievements": achievements_of(parse_rule(stack.rule)),
    }


# --- lattices ----------------------------------------------------------------------------


async def create_lattice(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    name: str,
    description: str | None,
    roles: Sequence[RoleDetails],
) -> Lattice:
    keys = [role.key for role in roles]
    if len(set(keys)) != len(keys):
        raise InvalidInput("role keys must be unique", field=("roles",))
    lattice = Lattice(
        id=uuid.uuid4(), agency_id=agency.id, name=name, description=description, roles=[]
    )
    for position, role in enumerate(roles):
        location = ("roles", position)
        unknown = [key for key in role.precedes if key not in keys or key == role.key]
        if unknown:
            raise InvalidInput(
                f"precedes names unknown roles: {', '.join(unknown)}", field=(*location, "precedes")
            )
        document = await canonical_rule(session, public_url, agency, role.rule, (*location, "rule"))
        rule = parse_rule(document, (*location, "rule"))
        await check_role_leaves(session, agency, rule, (*location, "rule"))
        await _check_achievements(session, public_url, agency, achievements_of(rule))
        for ref in stacks_of(rule):
            await resolve_stack_ref(session, public_url, agency, ref)
        lattice.roles.append(
            LatticeRole(
                key=role.key,
                position=position,
                name=role.name,
                description=role.description,
                rule=rule_json(rule),
                precedes=list(role.precedes),
            )
        )
    _check_order(lattice.roles)
    session.add(lattice)
    await session.flush()
    return lattice


def _check_order(roles: Sequence[LatticeRole]) -> None:
    graph = {role.key: list(role.precedes) for role in roles}
    for key in graph:
        if find_cycle(key, lambda item: graph.get(item, [])):
            raise InvalidInput("the roles' order has a cycle", field=("roles",))


async def get_lattice(
    session: AsyncSession, agency: Agency | None, lattice_id: uuid.UUID
) -> Lattice:
    row = await session.get(Lattice, lattice_id)
    if row is None or (agency is not None and row.agency_id != agency.id):
        raise NotFound(f"no lattice {lattice_id}", field=("latticeId",))
    return row


def role_document(public_url: str, lattice: Lattice, role: LatticeRole) -> dict[str, Any]:
    return {
        "id": role_url(public_url, lattice.id, role.key),
        "type": "LatticeRole",
        "key": role.key,
        "name": role.name,
        "description": role.description,
        "rule": role.rule,
        "precedes": [role_url(public_url, lattice.id, key) for key in role.precedes],
    }


def lattice_document(public_url: str, lattice: Lattice, agency_name: str) -> dict[str, Any]:
    return {
        "id": lattice_url(public_url, lattice.id),
        "type": "CareerLattice",
        "name": lattice.name,
        "description": lattice.description,
        "agency": agency_name,
        "roles": [role_document(public_url, lattice, role) for role in lattice.roles],
    }
