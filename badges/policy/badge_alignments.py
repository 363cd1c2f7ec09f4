"""The stacks and lattice roles an achievement counts toward, as OB 3.0 `Alignment`s its
badges carry.

Every issuance asks, so the answer comes from a per-process snapshot of the agencies'
current stacks and lattices (`PolicyGraph`), read again only when it changed. Stacks and
lattices are only ever added, never edited or deleted (a stack revision is a new row, and
marks the one before it not current in the same transaction), so the row count and newest
creation time of both tables change with every edit that could change an alignment (the
time too, so that a row added in a transaction rolled back after the snapshot was taken,
then another, is not the same count twice): one small query per issuance tells whether the
snapshot is still the database's, in every worker process.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from badges.policy.stack_rules import achievements_of, parse_rule, stacks_of
from badges.policy.stacks import role_url, stack_url
from storage.models import Agency, Issuer, Lattice, LatticeRole, Stack
from storage.session import engine_of, execute_core

# Alignments of this many achievements are kept per snapshot; more are computed again.
_MEMO_ENTRIES: Final = 4096


@dataclass(frozen=True)
class _StackNode:
    id: uuid.UUID
    agency_id: uuid.UUID
    lineage_id: uuid.UUID
    code: str
    name: str
    achievements: frozenset[str]
    nested: frozenset[str]  # IRIs of the stacks its rule names


@dataclass(frozen=True)
class _RoleNode:
    agency_id: uuid.UUID
    lattice_id: uuid.UUID
    lattice_name: str
    key: str
    name: str
    achievements: frozenset[str]
    stacks: frozenset[str]


@dataclass(frozen=True)
class _Membership:
    """A stack or role the achievement counts toward, and the stacks it counts through."""

    agency_id: uuid.UUID
    stack: _StackNode | None
    role: _RoleNode | None
    through: tuple[str, ...]  # the stacks between the achievement and it, innermost first


@dataclass
class PolicyGraph:
    """The current stacks (oldest first), every revision's IRI -> its lineage, the lattice
    roles and the agencies' names: all `badge_alignments` reads."""

    public_url: str
    stacks: list[_StackNode]
    lineage_of: dict[str, uuid.UUID]
    roles: list[_RoleNode]
    agency_names: dict[uuid.UUID, str]
    _memo: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def alignments(self, achievement_iri: str) -> list[dict[str, Any]]:
        found = self._memo.get(achievement_iri)
        if found is None:
            found = [self._alignment(item) for item in self._memberships(achievement_iri)]
            if len(self._memo) >= _MEMO_ENTRIES:
                self._memo.clear()
            self._memo[achievement_iri] = found
        # Callers embed the list in a document they go on to change: never hand out the memo's.
        return [dict(item) for item in found]

    def _memberships(self, achievement_iri: str) -> list[_Membership]:
        """Every current stack counting the achievement, directly or through nested stacks
        (nearest first), then every lattice role counting it or one of those stacks."""
        found: dict[uuid.UUID, _Membership] = {}
        frontier: list[tuple[_StackNode, tuple[str, ...]]] = [
            (stack, ()) for stack in self.stacks if achievement_iri in stack.achievements
        ]
        while frontier:
            stack, through = frontier.pop(0)
            if stack.lineage_id in found:
                continue
            found[stack.lineage_id] = _Membership(stack.agency_id, stack, None, through)
            for parent in self.stacks:
                if stack.lineage_id in {self.lineage_of.get(ref) for ref in parent.nested}:
                    frontier.append((parent, (*through, stack.name)))
        memberships = list(found.values())
        for role in self.roles:
            via = self._role_via(role, achievement_iri, found)
            if via is not None:
                memberships.append(_Membership(role.agency_id, None, role, via))
        return memberships

    def _role_via(
        self, role: _RoleNode, achievement_iri: str, found: Mapping[uuid.UUID, _Membership]
    ) -> tuple[str, ...] | None:
        """Through which stacks the role counts the achievement (() directly; None: not)."""
        if achievement_iri in role.achievements:
            return ()
        for ref in role.stacks:
            lineage = self.lineage_of.get(ref)
            member = found.get(lineage) if lineage is not None else None
            if member is not None and member.stack is not None:
                return (*member.through, member.stack.name)
        return None

    def _alignment(self, item: _Membership) -> dict[str, Any]:
        if item.stack is not None:
            stack = item.stack
            agency_name = self.agency_names.get(stack.agency_id, "")
            return {
                "type": ["Alignment"],
                "targetName": stack.name,
                "targetUrl": stack_url(self.public_url, stack.id),
                "targetDescription": (
                    f"Counts toward the {stack.name} stack of {agency_name}"
                    f"{_through(item.through)}."
                ),
                "targetFramework": agency_name,
                "targetCode": stack.code,
                "targetType": "ext:MicroCredentialStack",
            }
        assert item.role is not None  # a membership is of a stack or of a role
        role = item.role
        return {
            "type": ["Alignment"],
            "targetName": role.name,
            "targetUrl": role_url(self.public_url, role.lattice_id, role.key),
            "targetDescription": (
                f"A step toward {role.name} on {role.lattice_name}{_through(item.through)}."
            ),
            "targetFramework": role.lattice_name,
            "targetCode": role.key,
            "targetType": "ext:CareerLatticeRole",
        }


def _through(names: Sequence[str]) -> str:
    # From the achievement outward: "through Foundations, then Reading Endorsement".
    return f" (through {', then '.join(names)})" if names else ""


async def badge_alignments(
    session: AsyncSession, public_url: str, achievement_iri: str
) -> list[dict[str, Any]]:
    """OB 3.0 `Alignment`s telling verifiers which stacks and lattice roles an achievement
    counts toward, at every level: the stacks naming it, the stacks nesting those (and so
    on), and the roles naming any of them or the achievement itself. Plain OB terms
    (`targetType` takes `ext:` values, OB 3.0 AlignmentTargetType), so every verifier still
    accepts the badge; `targetDescription` says through which stacks it counts."""
    graph = await policy_graph(session, public_url)
    return graph.alignments(achievement_iri)


_Version = tuple[Any, ...]


@dataclass
class _Snapshot:
    version: _Version
    graph: PolicyGraph


# Per engine (one per process in service; many in tests), then per public URL.
_snapshots: WeakKeyDictionary[AsyncEngine, dict[str, _Snapshot]] = WeakKeyDictionary()


async def policy_graph(session: AsyncSession, public_url: str) -> PolicyGraph:
    """The snapshot for the database `session` reads and `public_url`, read again if an
    agency added a stack, a revision or a lattice since it was taken."""
    kept = _snapshots.setdefault(engine_of(session), {})
    version = await _version(session)
    held = kept.get(public_url)
    if held is None or held.version != version:
        # Read after the version, so the graph is never older than the version it is kept
        # under (at worst newer, and read again at the next change).
        held = kept[public_url] = _Snapshot(version, await _read_graph(session, public_url))
    return held.graph


# Built once: asked on every issuance, and a statement object built anew is compiled from
# the cache only after its cache key is computed again, which costs more than the query.
_VERSION: Final = select(
    select(func.count()).select_from(Stack).scalar_subquery(),
    select(func.max(Stack.created_at)).scalar_subquery(),
    select(func.count()).select_from(Lattice).scalar_subquery(),
    select(func.max(Lattice.created_at)).scalar_subquery(),
)


async def _version(session: AsyncSession) -> _Version:
    return tuple((await execute_core(session, _VERSION)).one())


async def _read_graph(session: AsyncSession, public_url: str) -> PolicyGraph:
    current = list(
        await session.execute(
            select(Stack.id, Stack.agency_id, Stack.lineage_id, Stack.code, Stack.name, Stack.rule)
            .where(Stack.is_current.is_(True), Stack.archived_at.is_(None))
            .order_by(Stack.created_at, Stack.id)
        )
    )
    stacks = []
    for stack_id, agency_id, lineage_id, code, name, rule in current:
        parsed = parse_rule(rule)
        stacks.append(
            _StackNode(
                stack_id,
                agency_id,
                lineage_id,
                code,
                name,
                frozenset(achievements_of(parsed)),
                frozenset(stacks_of(parsed)),
            )
        )
    lineages = {stack.lineage_id for stack in stacks}
    revisions = await session.execute(
        select(Stack.id, Stack.lineage_id).where(Stack.lineage_id.in_(lineages))
    )
    roles = []
    rows = await session.execute(
        select(Lattice.id, Lattice.agency_id, Lattice.name, LatticeRole)
        .join(LatticeRole, LatticeRole.lattice_id == Lattice.id)
        .order_by(Lattice.created_at, Lattice.id, LatticeRole.position)
    )
    for lattice_id, agency_id, lattice_name, role in rows:
        parsed = parse_rule(role.rule)
        roles.append(
            _RoleNode(
                agency_id,
                lattice_id,
                lattice_name,
                role.key,
                role.name,
                frozenset(achievements_of(parsed)),
                frozenset(stacks_of(parsed)),
            )
        )
    names = await session.execute(
        select(Agency.id, Issuer.name).join(Issuer, Issuer.id == Agency.issuer_id)
    )
    return PolicyGraph(
        public_url=public_url,
        stacks=stacks,
        lineage_of={stack_url(public_url, row_id): lineage for row_id, lineage in revisions},
        roles=roles,
        agency_names={agency_id: name for agency_id, name in names},
    )
