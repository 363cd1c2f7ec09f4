"""What a badge counts toward, in words an employer reads: "Texas license renewal, 1 of 3".

The credential says it through its alignments (`targetType` `ext:MicroCredentialStack` and
`ext:CareerLatticeRole`, written by `badges.policy.badge_alignments` when it was issued).
Each one naming a stack or lattice role of this service is read from the stack's current
revision (the rule every evaluation applies today) and told as a sentence: how many
micro-credentials it needs, of which, earned within how long, approved for what. Never
the rule's JSON, never an `ext:` term. An alignment naming something this service does not
hold (another service's stack, an archived one) is shown as the credential states it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages import duration_words, http_url
from badges.errors import InvalidInput
from badges.policy.criteria import criterion_names
from badges.policy.purposes import STANDARD_PURPOSES, purposes_of
from badges.policy.stack_rules import (
    AchievementLeaf,
    ApprovedPool,
    CriterionLeaf,
    Group,
    Rule,
    StackLeaf,
    achievements_of,
    criterion_iri,
    parse_rule,
    stacks_of,
)
from storage.models import Achievement, Agency, Issuer, Lattice, Stack

STACK_TYPE: Final = "ext:MicroCredentialStack"
ROLE_TYPE: Final = "ext:CareerLatticeRole"
# Stacks nest stacks a few levels deep; a deeper (or cyclic) nesting is not followed.
_MAX_NESTING: Final = 8


@dataclass(frozen=True)
class Goal:
    """One stack or lattice role the badge counts toward."""

    kind: str  # "stack" or "role": the words around it
    name: str
    href: str | None
    framework: str | None  # the agency (a stack) or the lattice (a role)
    share: str | None  # "1 of 3": this badge among the micro-credentials it needs
    needs: str | None  # the rule, as a sentence
    through: tuple[str, ...]  # the stacks it counts through, innermost first
    note: str | None  # what the credential says, when the rule could not be read here


def needed(rule: Rule, nested: Callable[[str], Rule | None], depth: int = 0) -> int:
    """The fewest micro-credentials that meet the rule (a criterion is not one; a stack
    it nests needs its own)."""
    if isinstance(rule, AchievementLeaf):
        return 1
    if isinstance(rule, ApprovedPool):
        return rule.count
    if isinstance(rule, CriterionLeaf):
        return 0
    if isinstance(rule, StackLeaf):
        inner = nested(rule.stack_id) if depth < _MAX_NESTING else None
        return 1 if inner is None else needed(inner, nested, depth + 1)
    parts = sorted(needed(child, nested, depth + 1) for child in rule.children)
    chosen = parts if rule.kind == "all" else parts[: rule.required]
    # Parts that may share credentials need at least as many as the largest of them.
    return max(chosen, default=0) if rule.share else sum(chosen)


@dataclass(frozen=True)
class Names:
    """How each IRI a rule names is said: achievements, stacks, purposes, criteria."""

    achievements: Mapping[str, str]
    stacks: Mapping[str, str]
    purposes: Mapping[str, str]
    criteria: Mapping[str, str]

    def achievement(self, iri: str) -> str:
        return self.achievements.get(iri, iri)

    def stack(self, iri: str) -> str:
        return f"the {self.stacks[iri]} stack" if iri in self.stacks else f"the stack {iri}"

    def purpose(self, key: str) -> str:
        return self.purposes.get(key, key.replace("_", " "))


def rule_words(rule: Rule, names: Names) -> str:
    """The rule as a phrase: "3 of: Close Reading, Text Sets, Number Talks or Fractions"."""
    if isinstance(rule, AchievementLeaf):
        return names.achievement(rule.achievement_id)
    if isinstance(rule, StackLeaf):
        return names.stack(rule.stack_id)
    if isinstance(rule, ApprovedPool):
        things = "micro-credential" if rule.count == 1 else "different micro-credentials"
        return f"{rule.count} {things} approved for {names.purpose(rule.purpose)}"
    if isinstance(rule, CriterionLeaf):
        return names.criteria.get(criterion_iri(rule.key), f"{rule.key} (recorded by the agency)")
    parts = [rule_words(child, names) for child in rule.children]
    if len(parts) == 1:
        return parts[0]
    simple = all(not isinstance(child, Group) for child in rule.children)
    if rule.kind == "all":
        return _listed(parts, "and") if simple else "all of: " + "; ".join(parts)
    if rule.required == len(parts):
        return _listed(parts, "and") if simple else "all of: " + "; ".join(parts)
    count = "one" if rule.required == 1 else str(rule.required)
    if simple:
        return f"{count} of: {_listed(parts, 'or')}"
    return f"{count} of these: " + "; or ".join(parts)


def document_words(document: Any) -> str | None:
    """A stored rule (a stack or role document's `rule`) as a phrase, its IRIs as they are:
    for a page that has no names to hand (None: not a rule this service reads)."""
    rule = _parsed(document)
    if rule is None:
        return None
    return rule_words(rule, Names({}, {}, STANDARD_PURPOSES, {}))


def _listed(parts: Sequence[str], last: str) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} {last} {parts[-1]}"


def needs_sentence(
    rule: Rule, names: Names, window_days: int | None = None, purpose: str | None = None
) -> str:
    sentence = f"Needs {rule_words(rule, names)}."
    if window_days:
        sentence += f" Each must have been earned within {duration_words(window_days)}."
    if purpose:
        sentence += f" Only micro-credentials approved for {names.purpose(purpose)} count."
    return sentence


def _through(rule: Rule, achievement: str, nested: Callable[[str], Stack | None]) -> list[str]:
    """The stacks between the achievement and the rule, innermost first ([]: named directly
    or not found)."""
    if achievement in achievements_of(rule):
        return []
    seen: set[str] = set()
    frontier: list[tuple[str, list[str]]] = [(ref, []) for ref in stacks_of(rule)]
    while frontier:
        ref, path = frontier.pop(0)
        stack = nested(ref)
        if ref in seen or stack is None or len(path) >= _MAX_NESTING:
            continue
        seen.add(ref)
        inner = _parsed(stack.rule)
        if inner is None:
            continue
        if achievement in achievements_of(inner):
            return [stack.name, *reversed(path)]
        frontier.extend((child, [*path, stack.name]) for child in stacks_of(inner))
    return []


def _parsed(document: Any) -> Rule | None:
    try:
        return parse_rule(document)
    except InvalidInput:  # a rule stored before a grammar change: not read, not fatal
        return None


def _own_id(iri: str, prefix: str) -> uuid.UUID | None:
    if not iri.startswith(prefix):
        return None
    with contextlib.suppress(ValueError):
        return uuid.UUID(iri.removeprefix(prefix).split("/", 1)[0])
    return None


class _Library:
    """Stacks and names read from the database once per page."""

    def __init__(self, session: AsyncSession, public_url: str) -> None:
        self.session = session
        self.public_url = public_url
        self.stacks: dict[str, Stack | None] = {}  # IRI (any revision) -> current revision

    async def stack(self, iri: str) -> Stack | None:
        if iri not in self.stacks:
            self.stacks[iri] = await self._current(iri)
        return self.stacks[iri]

    async def _current(self, iri: str) -> Stack | None:
        stack_id = _own_id(iri, f"{self.public_url}/stacks/")
        row = await self.session.get(Stack, stack_id) if stack_id else None
        if row is None or row.is_current:
            return row if row is None or row.archived_at is None else None
        current = await self.session.scalar(
            select(Stack).where(Stack.lineage_id == row.lineage_id, Stack.is_current.is_(True))
        )
        return current if current is not None and current.archived_at is None else None

    async def load_nested(self, rules: Iterable[Rule]) -> None:
        """Every stack the rules nest, however deep (up to `_MAX_NESTING` levels)."""
        frontier = [ref for rule in rules for ref in stacks_of(rule)]
        for _ in range(_MAX_NESTING):
            found = []
            for ref in frontier:
                if ref not in self.stacks:
                    stack = await self.stack(ref)
                    inner = _parsed(stack.rule) if stack else None
                    found += stacks_of(inner) if inner else []
            frontier = found

    def nested_rule(self, iri: str) -> Rule | None:
        stack = self.stacks.get(iri)
        return _parsed(stack.rule) if stack else None

    async def names(self, agency: Agency | None, rules: Sequence[Rule]) -> Names:
        achievements: dict[str, str] = {}
        prefix = f"{self.public_url}/achievements/"
        every = [*rules]
        every += [rule for iri in list(self.stacks) if (rule := self.nested_rule(iri))]
        wanted = {
            row_id: iri
            for rule in every
            for iri in achievements_of(rule)
            if (row_id := _own_id(iri, prefix)) is not None
        }
        if wanted:
            rows = await self.session.execute(
                select(Achievement.id, Achievement.name).where(Achievement.id.in_(wanted))
            )
            achievements = {wanted[row_id]: name for row_id, name in rows}
        stacks = {iri: row.name for iri, row in self.stacks.items() if row is not None}
        if agency is None:
            return Names(achievements, stacks, {}, {})
        purposes = await purposes_of(self.session, agency)
        criteria = await criterion_names(self.session, agency)
        return Names(achievements, stacks, purposes, criteria)


def _aligned(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    alignments = achievement.get("alignment") if isinstance(achievement, Mapping) else None
    if isinstance(alignments, Mapping):
        alignments = [alignments]
    return [
        item
        for item in (alignments if isinstance(alignments, list) else [])
        if isinstance(item, Mapping) and item.get("targetType") in (STACK_TYPE, ROLE_TYPE)
    ]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def achievement_of(credential: Mapping[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    return _text(achievement.get("id")) if isinstance(achievement, Mapping) else None


async def counts_toward(
    session: AsyncSession, public_url: str, credential: Mapping[str, Any]
) -> tuple[Goal, ...]:
    """Each stack and lattice role the credential's alignments name, told in words."""
    library = _Library(session, public_url)
    achievement = achievement_of(credential) or ""
    goals = []
    for item in _aligned(credential):
        name = _text(item.get("targetName")) or "Unnamed"
        url = _text(item.get("targetUrl")) or ""
        kind = "stack" if item.get("targetType") == STACK_TYPE else "role"
        fallback = Goal(
            kind,
            name,
            http_url(url),
            _text(item.get("targetFramework")),
            None,
            None,
            (),
            _text(item.get("targetDescription")),
        )
        if kind == "stack":
            goal = await _stack_goal(library, url, achievement, fallback)
        else:
            goal = await _role_goal(library, url, achievement, fallback)
        goals.append(goal or fallback)
    return tuple(goals)


async def _agency(session: AsyncSession, agency_id: uuid.UUID) -> tuple[Agency | None, str]:
    agency = await session.get(Agency, agency_id)
    issuer = await session.get(Issuer, agency.issuer_id) if agency else None
    return agency, issuer.name if issuer else ""


async def _stack_goal(library: _Library, url: str, achievement: str, shown: Goal) -> Goal | None:
    stack = await library.stack(url)
    rule = _parsed(stack.rule) if stack else None
    if stack is None or rule is None:
        return None
    await library.load_nested([rule])
    agency, agency_name = await _agency(library.session, stack.agency_id)
    names = await library.names(agency, [rule])
    return Goal(
        "stack",
        stack.name,
        http_url(f"{library.public_url}/stacks/{stack.id}"),
        agency_name or shown.framework,
        _share(rule, library),
        needs_sentence(rule, names, stack.window_days, stack.purpose),
        tuple(_through(rule, achievement, library.stacks.get)),
        None,
    )


async def _role_goal(library: _Library, url: str, achievement: str, shown: Goal) -> Goal | None:
    prefix = f"{library.public_url}/lattices/"
    lattice_id = _own_id(url, prefix)
    key = url.removeprefix(prefix).partition("/roles/")[2]
    lattice = await library.session.get(Lattice, lattice_id) if lattice_id else None
    role = next((row for row in lattice.roles if row.key == key), None) if lattice else None
    rule = _parsed(role.rule) if role else None
    if lattice is None or role is None or rule is None:
        return None
    await library.load_nested([rule])
    agency, agency_name = await _agency(library.session, lattice.agency_id)
    names = await library.names(agency, [rule])
    framework = f"{lattice.name}, {agency_name}" if agency_name else lattice.name
    return Goal(
        "role",
        role.name,
        http_url(url),
        framework,
        _share(rule, library),
        needs_sentence(rule, names),
        tuple(_through(rule, achievement, library.stacks.get)),
        None,
    )


def _share(rule: Rule, library: _Library) -> str | None:
    total = needed(rule, library.nested_rule)
    return f"1 of {total}" if total >= 1 else None
