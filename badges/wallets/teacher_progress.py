"""A teacher's progress toward the stacks and career lattices her badges count toward.

With an agency she belongs to (it registered one of her proven identifiers: an e-mail
address she signed in with, or an educator ID an agency ties to her), her progress is the
agency's own evaluation of her (`badges.policy.educator_progress`: the same function and the same
holdings, submitted credentials included), so what she reads and what the agency reads can
never disagree. With any other agency whose current stack names one of her achievements:
what she holds (`badges.wallets.teachers.badge_scope`, the rule every view of her badges uses, and
what she pushed into her account), evaluated by `badges.policy.evaluation` with the agency's rules,
approvals and windows. Achievement and stack IRIs are turned into their names so she reads
"2 more of: Close Reading, Text Sets", not URLs.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.policy.agencies import approvals_of
from badges.policy.educator_progress import (
    Progress,
    educator_progress,
)
from badges.policy.evaluation import (
    Evaluator,
    teacher_holdings,
)
from badges.policy.foreign_status import StatusSource
from badges.policy.stack_rules import (
    Evaluation,
    HeldCredential,
    achievements_of,
    parse_rule,
    stacks_of,
)
from badges.wallets.teachers import (
    BadgeScope,
    badge_scope,
)
from storage.models import (
    Achievement,
    Agency,
    Educator,
    EducatorIdentifier,
    Issuer,
    Lattice,
    Stack,
    Teacher,
)


@dataclass(frozen=True)
class GoalProgress:
    """A stack or a lattice role: met or not, what counted, what did not and what is missing."""

    name: str
    description: str | None
    met: bool
    counted: tuple[str, ...]
    rejected: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class LatticeProgress:
    name: str
    roles: tuple[GoalProgress, ...]


@dataclass(frozen=True)
class AgencyProgress:
    name: str
    stacks: tuple[GoalProgress, ...]
    lattices: tuple[LatticeProgress, ...]


_IRI: Final = re.compile(r"[a-z][a-z0-9+.-]*:[^\s,;]+", re.IGNORECASE)


class _Names:
    """Achievement and stack IRIs of this service, as their names."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = names

    def name(self, iri: str) -> str:
        return self._names.get(iri, iri)

    def words(self, text: str) -> str:
        return _IRI.sub(lambda match: self.name(match.group(0)), text)


async def _names(session: AsyncSession, public_url: str, iris: Iterable[str]) -> _Names:
    wanted: dict[str, dict[uuid.UUID, str]] = {"achievements": {}, "stacks": {}}
    for iri in iris:
        for kind, ids in wanted.items():
            prefix = f"{public_url}/{kind}/"
            if iri.startswith(prefix):
                with contextlib.suppress(ValueError):  # not one of ours after all
                    ids[uuid.UUID(iri.removeprefix(prefix))] = iri
    names: dict[str, str] = {}
    for model, kind in ((Achievement, "achievements"), (Stack, "stacks")):
        ids = wanted[kind]
        if ids:
            rows = await session.execute(select(model.id, model.name).where(model.id.in_(ids)))
            names.update({ids[row_id]: name for row_id, name in rows})
    return _Names(names)


def _goal(name: str, description: str | None, result: Evaluation, names: _Names) -> GoalProgress:
    return GoalProgress(
        name=name,
        description=description,
        met=result.met,
        counted=tuple(dict.fromkeys(names.name(item.achievement_id) for item in result.counted)),
        rejected=tuple(
            f"{names.name(item.achievement_id)}: {item.reason}" for item in result.rejected
        ),
        missing=tuple(names.words(item) for item in result.missing),
    )


def _rule_iris(rule: Any) -> list[str]:
    parsed = parse_rule(rule)
    return [*achievements_of(parsed), *stacks_of(parsed)]


async def teacher_progress(
    session: AsyncSession,
    public_url: str,
    teacher: Teacher,
    at: datetime,
    status: StatusSource | None = None,
) -> list[AgencyProgress]:
    """Her progress with every agency she belongs to, and with every other agency whose
    stacks name one of her achievements; `status` re-reads the status of what was issued
    elsewhere (as the agency's own evaluation does)."""
    scope = await badge_scope(session, teacher)
    member = await _memberships(session, scope)
    held = await teacher_holdings(session, public_url, scope, at, status)
    relevant = await _naming_stacks(session, {item.achievement_id for item in held}, member)
    agencies = list(
        await session.execute(
            select(Agency, Issuer.name)
            .join(Issuer, Issuer.id == Agency.issuer_id)
            .where(Agency.id.in_([*relevant, *member]))
            .order_by(Issuer.name, Agency.id)
        )
    )
    progress = []
    for agency, agency_name in agencies:
        if agency.id in member:
            result = await educator_progress(
                session, public_url, agency, member[agency.id], at, status=status
            )
            progress.append(await _as_agency_sees(session, public_url, agency_name, result))
        else:
            stacks = relevant[agency.id]
            progress.append(
                await _as_she_holds(session, public_url, (agency, agency_name), stacks, held, at)
            )
    return progress


async def _as_she_holds(
    session: AsyncSession,
    public_url: str,
    agency: tuple[Agency, str],
    stacks: Sequence[Stack],
    held: Sequence[HeldCredential],
    at: datetime,
) -> AgencyProgress:
    """An agency she does not belong to: its stacks naming her achievements, and its
    lattices' roles, evaluated on what she holds."""
    row, agency_name = agency
    lattices = list(
        await session.scalars(
            select(Lattice).where(Lattice.agency_id == row.id).order_by(Lattice.created_at)
        )
    )
    rules = [stack.rule for stack in stacks]
    rules += [role.rule for lattice in lattices for role in lattice.roles]
    mine = [item.achievement_id for item in held]
    names = await _names(
        session, public_url, [*mine, *(iri for rule in rules for iri in _rule_iris(rule))]
    )
    evaluator = Evaluator(session, public_url, row, held, at, await approvals_of(session, row))
    goals = [
        _goal(stack.name, stack.description, await evaluator.stack(stack), names)
        for stack in stacks
    ]
    lattice_progress = [
        LatticeProgress(
            lattice.name,
            tuple(
                _goal(role.name, role.description, result, names)
                for role, result in await evaluator.lattice(lattice)
            ),
        )
        for lattice in lattices
    ]
    return AgencyProgress(agency_name, tuple(goals), tuple(lattice_progress))


async def _memberships(session: AsyncSession, scope: BadgeScope) -> dict[uuid.UUID, Educator]:
    """Per agency, the educator it registered with one of her proven identifiers (the
    earliest registered, should it have registered her twice)."""
    if not scope.anywhere:
        return {}
    rows = await session.scalars(
        select(Educator)
        .join(EducatorIdentifier, EducatorIdentifier.educator_id == Educator.id)
        .where(EducatorIdentifier.lookup_key.in_(sorted(scope.anywhere)))
        .order_by(Educator.created_at.desc(), Educator.id.desc())
    )
    return {row.agency_id: row for row in rows}


async def _naming_stacks(
    session: AsyncSession, mine: set[str], skip: Mapping[uuid.UUID, Any]
) -> dict[uuid.UUID, list[Stack]]:
    """Per agency she does not belong to, its current stacks naming one of `mine`."""
    if not mine:
        return {}
    current = await session.scalars(
        select(Stack)
        .where(Stack.is_current.is_(True), Stack.archived_at.is_(None))
        .order_by(Stack.created_at, Stack.id)
    )
    relevant: dict[uuid.UUID, list[Stack]] = {}
    for stack in current:
        if stack.agency_id not in skip and mine & set(achievements_of(parse_rule(stack.rule))):
            relevant.setdefault(stack.agency_id, []).append(stack)
    return relevant


async def _as_agency_sees(
    session: AsyncSession, public_url: str, agency_name: str, result: Progress
) -> AgencyProgress:
    """The agency's evaluation of her (`educator_progress`), in names she can read."""
    evaluations = [item.evaluation for item in result.stacks]
    evaluations += [item.evaluation for item in result.roles]
    iris = [iri for evaluation in evaluations for iri in _evaluation_iris(evaluation)]
    iris += [iri for item in result.stacks for iri in _rule_iris(item.stack.rule)]
    iris += [iri for item in result.roles for iri in _rule_iris(item.role.rule)]
    names = await _names(session, public_url, iris)
    lattices: dict[uuid.UUID, tuple[str, list[GoalProgress]]] = {}
    for role in result.roles:
        goal = _goal(role.role.name, role.role.description, role.evaluation, names)
        lattices.setdefault(role.lattice.id, (role.lattice.name, []))[1].append(goal)
    return AgencyProgress(
        agency_name,
        tuple(
            _goal(item.stack.name, item.stack.description, item.evaluation, names)
            for item in result.stacks
        ),
        tuple(LatticeProgress(name, tuple(roles)) for name, roles in lattices.values()),
    )


def _evaluation_iris(result: Evaluation) -> list[str]:
    counted = [item.achievement_id for item in result.counted]
    return counted + [item.achievement_id for item in result.rejected]
