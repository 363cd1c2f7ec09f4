"""Stack rules: which micro-credentials, how many, earned when, make a stack complete.

A rule is a tree. Leaves name an achievement (by its id, from any issuer) or another stack;
groups need all their children (`all`) or at least `count` of them (`any`). A rule may
carry a time window ("earned within 5 years before the evaluation date") and a purpose
("only MCs the agency approved for license renewal"); both apply to every credential the
rule counts. Evaluation is a pure function of the rule, the educator's credentials (already
re-verified, with their status at the evaluation date) and the agency's approvals, and it
explains itself: what counted, what was rejected and why, and what is still missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from badges.errors import InvalidInput

GroupKind = Literal["all", "any"]
Node = TypeVar("Node", bound=Hashable)


@dataclass(frozen=True)
class AchievementLeaf:
    achievement_id: str


@dataclass(frozen=True)
class StackLeaf:
    stack_id: str


@dataclass(frozen=True)
class Group:
    kind: GroupKind
    children: tuple[Rule, ...]
    count: int | None = None  # for "any": how many children must be met (default 1)

    @property
    def required(self) -> int:
        return len(self.children) if self.kind == "all" else (self.count or 1)


Rule = AchievementLeaf | StackLeaf | Group


@dataclass(frozen=True)
class StackPolicy:
    rule: Rule
    window_days: int | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class HeldCredential:
    """One of the educator's credentials as the evaluator sees it (already re-verified)."""

    credential_id: str
    achievement_id: str
    earned_at: datetime
    # None when it can be counted; otherwise why not (revoked, expired, invalid signature...).
    problem: str | None = None


@dataclass(frozen=True)
class Rejection:
    credential_id: str
    achievement_id: str
    reason: str


@dataclass
class Evaluation:
    met: bool
    counted: list[HeldCredential] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# Approval check: (achievement id, purpose, evaluation date) -> approved then?
Approval = Callable[[str, str, datetime], bool]
# Completed stacks, for rules that nest other stacks: stack id -> evaluation at the date.
NestedStacks = Callable[[str], Evaluation]
# Groups inside groups, at most this deep: a real policy is 2 or 3 levels ("all" of "any"
# of achievements); every walk over a rule recurses once per level.
MAX_RULE_DEPTH = 16


def parse_rule(
    document: Any, location: tuple[str | int, ...] = ("rule",), *, depth: int = 1
) -> Rule:
    """A rule from its JSON form; `InvalidInput` naming the offending part otherwise.

    `{"achievement": id}`, `{"stack": id}`, `{"all": [...]}`, `{"any": [...], "count": n}`,
    and the shorthand `{"atLeast": n, "of": [achievement ids]}`; `depth` is the level of
    `document` in the whole rule.
    """
    if depth > MAX_RULE_DEPTH:
        raise InvalidInput(
            f"a rule nests groups more than {MAX_RULE_DEPTH} levels deep", field=location
        )
    if not isinstance(document, Mapping):
        raise InvalidInput("a rule is an object", field=location)
    if "achievement" in document:
        return AchievementLeaf(_identifier(document["achievement"], (*location, "achievement")))
    if "stack" in document:
        return StackLeaf(_identifier(document["stack"], (*location, "stack")))
    if "atLeast" in document:
        ids = document.get("of")
        if not isinstance(ids, list) or not ids:
            raise InvalidInput('"of" must list achievement ids', field=(*location, "of"))
        leaves = tuple(
            AchievementLeaf(_identifier(item, (*location, "of", index)))
            for index, item in enumerate(ids)
        )
        return _group("any", leaves, document["atLeast"], (*location, "atLeast"))
    for kind in ("all", "any"):
        if kind in document:
            children = document[kind]
            if not isinstance(children, list) or not children:
                raise InvalidInput(f'"{kind}" must be a non-empty list', field=(*location, kind))
            parsed = tuple(
                parse_rule(child, (*location, kind, index), depth=depth + 1)
                for index, child in enumerate(children)
            )
            return _group(kind, parsed, document.get("count"), (*location, "count"))
    raise InvalidInput(
        'a rule needs one of "achievement", "stack", "all", "any" or "atLeast"', field=location
    )


def _group(
    kind: GroupKind, children: tuple[Rule, ...], count: Any, location: tuple[str | int, ...]
) -> Group:
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= len(children)
    ):
        raise InvalidInput(f"count must be between 1 and {len(children)}", field=location)
    if len({_key(child) for child in children}) != len(children):
        raise InvalidInput("a group lists the same item twice", field=location[:-1])
    return Group(kind, children, count)


def _identifier(value: Any, location: tuple[str | int, ...]) -> str:
    if not isinstance(value, str) or ":" not in value or len(value) > 2000:
        raise InvalidInput(
            "must be an absolute IRI (the achievement's or stack's id)", field=location
        )
    return value


def _key(rule: Rule) -> str:
    if isinstance(rule, AchievementLeaf):
        return "a:" + rule.achievement_id
    if isinstance(rule, StackLeaf):
        return "s:" + rule.stack_id
    return repr(rule)


def rule_json(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, AchievementLeaf):
        return {"achievement": rule.achievement_id}
    if isinstance(rule, StackLeaf):
        return {"stack": rule.stack_id}
    document: dict[str, Any] = {rule.kind: [rule_json(child) for child in rule.children]}
    if rule.kind == "any" and rule.count and rule.count != 1:
        document["count"] = rule.count
    return document


def achievements_of(rule: Rule) -> list[str]:
    if isinstance(rule, AchievementLeaf):
        return [rule.achievement_id]
    if isinstance(rule, StackLeaf):
        return []
    return [item for child in rule.children for item in achievements_of(child)]


def stacks_of(rule: Rule) -> list[str]:
    if isinstance(rule, StackLeaf):
        return [rule.stack_id]
    if isinstance(rule, AchievementLeaf):
        return []
    return [item for child in rule.children for item in stacks_of(child)]


def find_cycle(start: Node, nested: Callable[[Node], Iterable[Node]]) -> list[Node] | None:
    """A path from `start` back to itself through `nested` (stacks, role order), if any."""
    path: list[Node] = []
    done: set[Node] = set()

    def visit(stack_id: Node) -> list[Node] | None:
        if stack_id in path:
            return [*path[path.index(stack_id) :], stack_id]
        if stack_id in done:
            return None
        path.append(stack_id)
        for child in nested(stack_id):
            cycle = visit(child)
            if cycle:
                return cycle
        path.pop()
        done.add(stack_id)
        return None

    return visit(start)


def evaluate(
    policy: StackPolicy,
    held: Sequence[HeldCredential],
    at: datetime,
    *,
    approved: Approval,
    nested: NestedStacks,
    names: Mapping[str, str] | None = None,
) -> Evaluation:
    """Is the stack complete at `at`? With what counted, what did not and why, and gaps."""
    eligible: dict[str, HeldCredential] = {}
    rejected: list[Rejection] = []
    wanted = set(achievements_of(policy.rule))
    for credential in sorted(held, key=lambda item: item.earned_at, reverse=True):
        if credential.achievement_id not in wanted:
            continue
        reason = _rejection(policy, credential, at, approved)
        if reason:
            rejected.append(Rejection(credential.credential_id, credential.achievement_id, reason))
        else:
            eligible.setdefault(credential.achievement_id, credential)
    met, counted, missing = _walk(policy.rule, eligible, nested, names or {})
    return Evaluation(met=met, counted=counted, rejected=rejected, missing=missing)


def _rejection(
    policy: StackPolicy, credential: HeldCredential, at: datetime, approved: Approval
) -> str | None:
    if credential.problem:
        return credential.problem
    if credential.earned_at > at:
        return "earned after the evaluation date"
    if policy.window_days is not None and outside_window(credential.earned_at, at, policy):
        return f"earned before the {policy.window_days}-day window"
    if policy.purpose and not approved(credential.achievement_id, policy.purpose, at):
        return f"not approved for {policy.purpose} on that date"
    return None


def outside_window(earned_at: datetime, at: datetime, policy: StackPolicy) -> bool:
    """Earned longer than the policy's window before `at`? (Measured as a duration, so no
    date is computed that could fall off the calendar.)"""
    if policy.window_days is None:
        return False
    return at - earned_at > timedelta(days=policy.window_days)


def _walk(
    rule: Rule,
    eligible: Mapping[str, HeldCredential],
    nested: NestedStacks,
    names: Mapping[str, str],
) -> tuple[bool, list[HeldCredential], list[str]]:
    if isinstance(rule, AchievementLeaf):
        found = eligible.get(rule.achievement_id)
        if found:
            return True, [found], []
        return False, [], [names.get(rule.achievement_id, rule.achievement_id)]
    if isinstance(rule, StackLeaf):
        inner = nested(rule.stack_id)
        label = names.get(rule.stack_id, rule.stack_id)
        return inner.met, inner.counted, [] if inner.met else [f"stack {label}"]
    results = [_walk(child, eligible, nested, names) for child in rule.children]
    satisfied = [result for result in results if result[0]]
    counted = [item for result in satisfied for item in result[1]]
    if len(satisfied) >= rule.required:
        return True, counted, []
    short = rule.required - len(satisfied)
    gaps = [gap for result in results if not result[0] for gap in result[2]]
    if rule.kind == "all":
        return False, counted, gaps
    return False, counted, [f"{short} more of: {', '.join(gaps)}"]
