"""A teacher's progress toward the stacks and career lattices her badges count toward.

Her achievements are those of her own badges (`badges.teachers.badge_scope`, the rule every
view of her badges uses) and of what she pushed into her account. For every agency with a
current stack that names one of them: each such stack,
and each role of the agency's lattices, evaluated now by `badges.evaluation` (the same
rules, approvals and windows the agency applies), with achievement and stack IRIs turned
into their names so she reads "2 more of: Close Reading, Text Sets", not URLs.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.agencies import approvals_of
from badges.evaluation import Evaluator, teacher_holdings
from badges.stack_rules import Evaluation, achievements_of, parse_rule, stacks_of
from badges.teachers import badge_scope
from storage.models import Achievement, Agency, Issuer, Lattice, Stack, Teacher


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
    session: AsyncSession, public_url: str, teacher: Teacher, at: datetime
) -> list[AgencyProgress]:
    """Her progress with every agency whose stacks name one of her achievements."""
    held = await teacher_holdings(session, public_url, await badge_scope(session, teacher), at)
    mine = {item.achievement_id for item in held}
    if not mine:
        return []
    current = await session.scalars(
        select(Stack)
        .where(Stack.is_current.is_(True), Stack.archived_at.is_(None))
        .order_by(Stack.created_at, Stack.id)
    )
    relevant: dict[uuid.UUID, list[Stack]] = {}
    for stack in current:
        if mine.intersection(achievements_of(parse_rule(stack.rule))):
            relevant.setdefault(stack.agency_id, []).append(stack)
    if not relevant:
        return []
    agencies = list(
        await session.execute(
            select(Agency, Issuer.name)
            .join(Issuer, Issuer.id == Agency.issuer_id)
            .where(Agency.id.in_(relevant))
            .order_by(Issuer.name)
        )
    )
    progress = []
    for agency, agency_name in agencies:
        lattices = list(
            await session.scalars(
                select(Lattice).where(Lattice.agency_id == agency.id).order_by(Lattice.created_at)
            )
        )
        rules = [stack.rule for stack in relevant[agency.id]]
        rules += [role.rule for lattice in lattices for role in lattice.roles]
        names = await _names(
            session, public_url, [*mine, *(iri for rule in rules for iri in _rule_iris(rule))]
        )
        evaluator = Evaluator(
            session, public_url, agency, held, at, await approvals_of(session, agency)
        )
        stacks = [
            _goal(stack.name, stack.description, await evaluator.stack(stack), names)
            for stack in relevant[agency.id]
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
        progress.append(AgencyProgress(agency_name, tuple(stacks), tuple(lattice_progress)))
    return progress
