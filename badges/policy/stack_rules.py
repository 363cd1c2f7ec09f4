"""Stack rules: which micro-credentials, how many, earned when, make a stack complete.

A rule is a tree. Leaves name an achievement (by its id, from any issuer) or another stack;
groups need all their children (`all`) or at least `count` of them (`any`). A rule may
carry a time window ("earned within 5 years before the evaluation date") and a purpose
("only MCs the agency approved for license renewal"); both apply to every credential the
rule counts. Evaluation is a pure function of the rule, the educator's credentials (already
re-verified, with their status at the evaluation date) and the agency's approvals, and it
explains itself: what counted, what was rejected and why, and what is still missing.

A purpose's approval is asked, by default, of the day a credential was earned: a vetted MC
earned while its achievement was on the agency's list keeps counting when the approval is
later withdrawn (New America's model state policy guide: an approved MC keeps its currency),
and one approved after it was earned counts from the approval. A stack may choose
`approvalAt: "evaluation"` instead: approved on the evaluation date, or it does not count.

Two leaves depend on the agency rather than on the rule alone, and are made concrete
(`concrete`) before a rule is weighed: `{"approvedFor": purpose, "count": n}` is "any n
different MCs the agency has approved for the purpose" (a group of every achievement it ever
approved for it, so that a new approval counts at once, each still asked of its approval
dates), and `{"criterion": key}` is a criterion other than an MC the agency records for an
educator (National Board certification, an interview), weighed as a leaf of its own IRI.

One MC counts once in a rule: the parts of a rule (the stacks a lattice role needs, the
groups of a stack) must be met by different MCs, so one credential never satisfies two
stacks of a role. A group that says `"shareCredentials": true` lets its parts share them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from badges.errors import InvalidInput

GroupKind = Literal["all", "any"]
ApprovalAt = Literal["earned", "evaluation"]
APPROVAL_AT: tuple[ApprovalAt, ...] = ("earned", "evaluation")
Node = TypeVar("Node", bound=Hashable)


@dataclass(frozen=True)
class AchievementLeaf:
    achievement_id: str


@dataclass(frozen=True)
class StackLeaf:
    stack_id: str


@dataclass(frozen=True)
class ApprovedPool:
    """Any `count` different MCs the agency approved for `purpose` (see `concrete`)."""

    purpose: str
    count: int


@dataclass(frozen=True)
class CriterionLeaf:
    """A criterion other than an MC, met when the agency has recorded it for the educator."""

    key: str


@dataclass(frozen=True)
class Group:
    kind: GroupKind
    children: tuple[Rule, ...]
    count: int | None = None  # for "any": how many children must be met (default 1)
    # Whether one MC may count toward several children (by default each counts once).
    share: bool = False
    # What a pool stands for, in words ("MCs approved for license_renewal"): what is missing
    # is then said as "2 more <label>", not as a list of every approved achievement.
    label: str | None = None

    @property
    def required(self) -> int:
        return len(self.children) if self.kind == "all" else (self.count or 1)


Rule = AchievementLeaf | StackLeaf | ApprovedPool | CriterionLeaf | Group
# A criterion's and a hold-harmless record's leaf IRI: never an achievement's.
CRITERION_PREFIX = "urn:lattice:criterion:"
ROLE_HOLD_PREFIX = "urn:lattice:role-hold:"
MAX_POOL_COUNT = 1000


def criterion_iri(key: str) -> str:
    return CRITERION_PREFIX + key


def role_hold_iri(role_id: str) -> str:
    return ROLE_HOLD_PREFIX + role_id


@dataclass(frozen=True)
class StackPolicy:
    rule: Rule
    window_days: int | None = None
    purpose: str | None = None
    # Approval for `purpose` asked of the day an MC was earned (or, failing that, of the
    # evaluation date), or of the evaluation date only.
    approval_at: ApprovalAt = "earned"


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
    # The policy weighed, and the nested stacks' evaluations by IRI: a rule nesting this
    # stack re-weighs it against what its other parts already count (None: a whole answer).
    policy: StackPolicy | None = None
    nested: Mapping[str, Evaluation] = field(default_factory=dict)


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
    the shorthand `{"atLeast": n, "of": [achievement ids]}`, `{"approvedFor": purpose,
    "count": n}` and `{"criterion": key}`; `depth` is the level of `document` in the rule.
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
    if "approvedFor" in document:
        purpose = _key_of(document["approvedFor"], (*location, "approvedFor"))
        count = document.get("count", 1)
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not 1 <= count <= MAX_POOL_COUNT
        ):
            raise InvalidInput(
                f"count must be between 1 and {MAX_POOL_COUNT}", field=(*location, "count")
            )
        return ApprovedPool(purpose, count)
    if "criterion" in document:
        return CriterionLeaf(_key_of(document["criterion"], (*location, "criterion")))
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
            share = document.get("shareCredentials", False)
            if not isinstance(share, bool):
                raise InvalidInput(
                    "shareCredentials must be true or false", field=(*location, "shareCredentials")
                )
            group = _group(kind, parsed, document.get("count"), (*location, "count"))
            return Group(group.kind, group.children, group.count, share)
    raise InvalidInput(
        'a rule needs one of "achievement", "stack", "all", "any", "atLeast", "approvedFor" or'
        ' "criterion"',
        field=location,
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


def _key_of(value: Any, location: tuple[str | int, ...]) -> str:
    """A purpose's or criterion's key: whether the agency has it is checked where it is."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise InvalidInput("must be a key (a purpose's or a criterion's)", field=location)
    return value


def _key(rule: Rule) -> str:
    if isinstance(rule, AchievementLeaf):
        return "a:" + rule.achievement_id
    if isinstance(rule, StackLeaf):
        return "s:" + rule.stack_id
    if isinstance(rule, CriterionLeaf):
        return "c:" + rule.key
    return repr(rule)


def rule_json(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, AchievementLeaf):
        return {"achievement": rule.achievement_id}
    if isinstance(rule, StackLeaf):
        return {"stack": rule.stack_id}
    if isinstance(rule, ApprovedPool):
        return {"approvedFor": rule.purpose, "count": rule.count}
    if isinstance(rule, CriterionLeaf):
        return {"criterion": rule.key}
    document: dict[str, Any] = {rule.kind: [rule_json(child) for child in rule.children]}
    if rule.kind == "any" and rule.count and rule.count != 1:
        document["count"] = rule.count
    if rule.share:
        document["shareCredentials"] = True
    return document


def achievements_of(rule: Rule) -> list[str]:
    """The achievements a rule names (a pool names none until it is made `concrete`; a
    criterion's leaf, once concrete, is named by its IRI)."""
    if isinstance(rule, AchievementLeaf):
        return [rule.achievement_id]
    if not isinstance(rule, Group):
        return []
    return [item for child in rule.children for item in achievements_of(child)]


def stacks_of(rule: Rule) -> list[str]:
    if isinstance(rule, StackLeaf):
        return [rule.stack_id]
    if not isinstance(rule, Group):
        return []
    return [item for child in rule.children for item in stacks_of(child)]


def pools_of(rule: Rule) -> list[ApprovedPool]:
    if isinstance(rule, ApprovedPool):
        return [rule]
    if not isinstance(rule, Group):
        return []
    return [item for child in rule.children for item in pools_of(child)]


def criteria_of(rule: Rule) -> list[str]:
    if isinstance(rule, CriterionLeaf):
        return [rule.key]
    if not isinstance(rule, Group):
        return []
    return [item for child in rule.children for item in criteria_of(child)]


def concrete(rule: Rule, approved: Mapping[str, Iterable[str]]) -> Rule:
    """The rule with each pool replaced by the group it stands for (`approved`: purpose ->
    every achievement the agency ever approved for it, in a stable order) and each
    criterion by the leaf of its IRI: what the engine weighs."""
    if isinstance(rule, ApprovedPool):
        leaves = tuple(
            AchievementLeaf(iri) for iri in dict.fromkeys(approved.get(rule.purpose, ()))
        )
        label = f"MCs approved for {rule.purpose}"
        return Group("any", leaves, rule.count, label=label)
    if isinstance(rule, CriterionLeaf):
        return AchievementLeaf(criterion_iri(rule.key))
    if isinstance(rule, Group):
        children = tuple(concrete(child, approved) for child in rule.children)
        return Group(rule.kind, children, rule.count, rule.share, rule.label)
    return rule


def concrete_policy(policy: StackPolicy, approved: Mapping[str, Iterable[str]]) -> StackPolicy:
    if not pools_of(policy.rule) and not criteria_of(policy.rule):
        return policy
    return StackPolicy(
        concrete(policy.rule, approved), policy.window_days, policy.purpose, policy.approval_at
    )


def with_hold_harmless(policy: StackPolicy, role_id: str) -> StackPolicy:
    """A role's policy met also by a hold-harmless record for the role: an educator who
    held it another way keeps it, whatever its rule says."""
    held = AchievementLeaf(role_hold_iri(role_id))
    return StackPolicy(
        Group("any", (policy.rule, held)), policy.window_days, policy.purpose, policy.approval_at
    )


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


def approval_moments(policy: StackPolicy, earned_at: datetime, at: datetime) -> list[datetime]:
    """The dates at which an approval for the policy's purpose lets a credential count: the
    day it was earned and the evaluation date (`approvalAt: "earned"`), or the evaluation
    date only (`"evaluation"`)."""
    if policy.approval_at == "evaluation" or earned_at > at:
        return [at]
    return [earned_at, at]


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
    rejected: list[Rejection] = []
    wanted = set(achievements_of(policy.rule))
    for credential in sorted(held, key=lambda item: item.earned_at, reverse=True):
        if credential.achievement_id not in wanted:
            continue
        reason = _rejection(policy, credential, at, approved)
        if reason:
            rejected.append(Rejection(credential.credential_id, credential.achievement_id, reason))
    fetched: dict[str, Evaluation] = {}

    def lookup(ref: str) -> Evaluation:
        if ref not in fetched:
            fetched[ref] = nested(ref)
        return fetched[ref]

    tree = _expand(policy.rule, policy, lookup, frozenset())
    pool = _Pool(held, at, approved)
    explainer = _Explainer(pool, names or {})
    met, used, missing = explainer.explain(tree, frozenset(pool.achievements))
    if not met and _repeats(tree):
        solution = _solve_bounded(tree, frozenset(pool.achievements), pool)
        if solution is not None:
            met, used, missing = True, solution, []
    counted = list(dict.fromkeys(used.values()))
    return Evaluation(met, counted, rejected, missing, policy, dict(fetched))


def _rejection(
    policy: StackPolicy, credential: HeldCredential, at: datetime, approved: Approval
) -> str | None:
    if credential.problem:
        return credential.problem
    if credential.earned_at > at:
        return "earned after the evaluation date"
    if policy.window_days is not None and outside_window(credential.earned_at, at, policy):
        return f"earned before the {policy.window_days}-day window"
    if policy.purpose and not any(
        approved(credential.achievement_id, policy.purpose, moment)
        for moment in approval_moments(policy, credential.earned_at, at)
    ):
        if policy.approval_at == "evaluation":
            return f"not approved for {policy.purpose} on that date"
        return f"not approved for {policy.purpose} when earned, nor on that date"
    return None


def outside_window(earned_at: datetime, at: datetime, policy: StackPolicy) -> bool:
    """Earned longer than the policy's window before `at`? (Measured as a duration, so no
    date is computed that could fall off the calendar.)"""
    if policy.window_days is None:
        return False
    return at - earned_at > timedelta(days=policy.window_days)


# --- weighing a rule: its nested stacks expanded, each MC counted once ----------------------


@dataclass(frozen=True)
class _Leaf:
    achievement_id: str
    policy: StackPolicy  # the stack whose window and purpose apply to it


@dataclass(frozen=True)
class _Stack:
    stack_id: str
    inner: Evaluation
    body: _Node | None  # its rule, expanded; None: its evaluation is taken whole


@dataclass(frozen=True)
class _Group:
    kind: GroupKind
    required: int
    children: tuple[_Node, ...]
    share: bool
    label: str | None = None


_Node = _Leaf | _Stack | _Group
Chosen = dict[str, HeldCredential]  # achievement id -> the credential counted for it
# Most steps the search for a way to meet a rule with distinct MCs may take: rules nest a
# few stacks of a few MCs; a pathological one is answered "not met" rather than hang.
_SEARCH_STEPS = 20_000


def _expand(rule: Rule, policy: StackPolicy, lookup: NestedStacks, path: frozenset[str]) -> _Node:
    if isinstance(rule, AchievementLeaf):
        return _Leaf(rule.achievement_id, policy)
    if isinstance(rule, StackLeaf):
        inner = lookup(rule.stack_id)
        if inner.policy is None or rule.stack_id in path:
            return _Stack(rule.stack_id, inner, None)

        def inside(ref: str, inner: Evaluation = inner) -> Evaluation:
            return inner.nested[ref] if ref in inner.nested else lookup(ref)

        body = _expand(inner.policy.rule, inner.policy, inside, path | {rule.stack_id})
        return _Stack(rule.stack_id, inner, body)
    if not isinstance(rule, Group):
        raise ValueError(f"{rule!r} must be made concrete before it is weighed")
    children = tuple(_expand(child, policy, lookup, path) for child in rule.children)
    return _Group(rule.kind, rule.required, children, rule.share, rule.label)


class _Pool:
    """The educator's credentials, and which one (the latest earned) counts for an
    achievement under a stack's window and purpose."""

    def __init__(self, held: Sequence[HeldCredential], at: datetime, approved: Approval) -> None:
        self._by_achievement: dict[str, list[HeldCredential]] = {}
        for item in sorted(held, key=lambda item: item.earned_at, reverse=True):
            self._by_achievement.setdefault(item.achievement_id, []).append(item)
        self._at = at
        self._approved = approved
        self._found: dict[tuple[str, int], HeldCredential | None] = {}

    @property
    def achievements(self) -> set[str]:
        return set(self._by_achievement)

    def credential(self, leaf: _Leaf) -> HeldCredential | None:
        key = (leaf.achievement_id, id(leaf.policy))
        if key not in self._found:
            self._found[key] = next(
                (
                    item
                    for item in self._by_achievement.get(leaf.achievement_id, ())
                    if _rejection(leaf.policy, item, self._at, self._approved) is None
                ),
                None,
            )
        return self._found[key]


@dataclass
class _Explainer:
    """Walks the rule in order, each part taking the MCs it counts away from the parts after
    it: met or not, what counted, and in plain words what is still missing."""

    pool: _Pool
    names: Mapping[str, str]

    def explain(self, node: _Node, free: frozenset[str]) -> tuple[bool, Chosen, list[str]]:
        if isinstance(node, _Leaf):
            return self._leaf(node, free)
        if isinstance(node, _Stack):
            return self._stack(node, free)
        return self._group(node, free)

    def _name(self, iri: str) -> str:
        return self.names.get(iri, iri)

    def _leaf(self, node: _Leaf, free: frozenset[str]) -> tuple[bool, Chosen, list[str]]:
        found = self.pool.credential(node)
        if found is not None and node.achievement_id in free:
            return True, {node.achievement_id: found}, []
        gap = self._name(node.achievement_id)
        if found is not None:
            gap += " (already counted toward another part of the rule)"
        return False, {}, [gap]

    def _stack(self, node: _Stack, free: frozenset[str]) -> tuple[bool, Chosen, list[str]]:
        label = f"stack {self._name(node.stack_id)}"
        if node.body is None:
            counted = {item.achievement_id: item for item in node.inner.counted}
            return node.inner.met, counted, [] if node.inner.met else [label]
        met, used, _ = self.explain(node.body, free)
        if met:
            return True, used, []
        if node.inner.met:
            # Complete on its own, but not with the MCs the rule's other parts left it.
            label += " (its MCs already count toward another part of the rule: one MC counts once)"
        return False, used, [label]

    def _group(self, node: _Group, free: frozenset[str]) -> tuple[bool, Chosen, list[str]]:
        left = free
        used: Chosen = {}
        unmet: list[list[str]] = []
        for child in node.children:
            met, got, gaps = self.explain(child, free if node.share else left)
            if met:
                used |= got
                left = left - got.keys()
            else:
                unmet.append(gaps)
        short = node.required - (len(node.children) - len(unmet))
        if short <= 0:
            return True, used, []
        if node.label is not None:
            return False, used, [f"{short} more {node.label}"]
        if node.kind == "all":
            return False, used, [gap for gaps in unmet for gap in gaps]
        return False, used, [_options_text(short, [gaps for gaps in unmet if gaps])]


def _options_text(short: int, options: list[list[str]]) -> str:
    """ "2 more of: A, B, C" when each option is one thing; when an option needs several
    things, each is spelled out whole, so that no part of one reads as enough alone."""
    if all(len(gaps) == 1 for gaps in options):
        return f"{short} more of: {', '.join(gaps[0] for gaps in options)}"
    spelled = [
        gaps[0] if len(gaps) == 1 else f"{', '.join(gaps[:-1])} and {gaps[-1]}, all of them"
        for gaps in options
    ]
    return f"{short} more of these options: {'; or '.join(spelled)}"


def _repeats(node: _Node) -> bool:
    """Whether some achievement is named by two parts of the rule (only then can counting
    each MC once change the answer of the in-order walk)."""
    seen: set[str] = set()

    def walk(item: _Node) -> bool:
        if isinstance(item, _Leaf):
            named = [item.achievement_id]
        elif isinstance(item, _Stack) and item.body is None:
            named = [credential.achievement_id for credential in item.inner.counted]
        elif isinstance(item, _Stack):
            return walk(item.body) if item.body is not None else False
        else:
            return any(walk(child) for child in item.children)
        if seen.intersection(named):
            return True
        seen.update(named)
        return False

    return walk(node)


class _OutOfSteps(Exception):
    pass


def _solve_bounded(node: _Node, free: frozenset[str], pool: _Pool) -> Chosen | None:
    """A way to meet the rule with each MC counted once, searched exhaustively (within
    `_SEARCH_STEPS`): the in-order walk may give an MC to the first part naming it when a
    later part had no other."""
    steps = [0]
    try:
        return next(_solutions(node, free, pool, steps), None)
    except _OutOfSteps:
        return None


def _solutions(
    node: _Node, free: frozenset[str], pool: _Pool, steps: list[int]
) -> Iterator[Chosen]:
    steps[0] += 1
    if steps[0] > _SEARCH_STEPS:
        raise _OutOfSteps
    if isinstance(node, _Leaf):
        found = pool.credential(node)
        if found is not None and node.achievement_id in free:
            yield {node.achievement_id: found}
        return
    if isinstance(node, _Stack):
        if node.body is not None:
            yield from _solutions(node.body, free, pool, steps)
        elif node.inner.met:
            counted = {item.achievement_id: item for item in node.inner.counted}
            if free.issuperset(counted):
                yield counted
        return
    yield from _choose(node, 0, node.required, free, {}, pool, steps)


def _choose(
    node: _Group,
    index: int,
    needed: int,
    free: frozenset[str],
    chosen: Chosen,
    pool: _Pool,
    steps: list[int],
) -> Iterator[Chosen]:
    if needed == 0:
        yield chosen
        return
    if len(node.children) - index < needed:
        return
    for option in _solutions(node.children[index], free, pool, steps):
        rest = free if node.share else free - option.keys()
        yield from _choose(node, index + 1, needed - 1, rest, chosen | option, pool, steps)
    yield from _choose(node, index + 1, needed, free, chosen, pool, steps)


# --- "met?" alone: the same walk and search, on achievement ids -----------------------------
#
# A bulk run asks only whether a rule is met, for every educator, several times each (to date
# a completion and its lapse). The expanded rule does not depend on the educator: it is built
# once per policy (`rule_shape`), and `met_once` repeats the explaining engine's in-order walk
# and its bounded search step for step, on sets, so that its answer is `evaluate(...).met`.


@dataclass(frozen=True)
class _Nest:
    stack_id: str
    body: _Shape | None  # None: not known, or a cycle (never met, as nothing of it is weighed)


@dataclass(frozen=True)
class _Parts:
    kind: GroupKind
    required: int
    children: tuple[_Shape, ...]
    share: bool
    # A group of achievements only, each named once, all under `policy`: which of its
    # children the walk meets is then a set intersection (one MC taken never takes another).
    leaves: frozenset[str] | None = None
    policy: StackPolicy | None = None


_Shape = _Leaf | _Nest | _Parts
_NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleShape:
    """A policy's rule with every stack it nests expanded (each leaf under its own stack's
    window and purpose), the same for every educator."""

    root: _Shape


def rule_shape(policy: StackPolicy, nested: Mapping[str, StackPolicy]) -> RuleShape:
    return RuleShape(_shape(policy.rule, policy, nested, frozenset()))


def _shape(
    rule: Rule, policy: StackPolicy, nested: Mapping[str, StackPolicy], path: frozenset[str]
) -> _Shape:
    if isinstance(rule, AchievementLeaf):
        return _Leaf(rule.achievement_id, policy)
    if isinstance(rule, StackLeaf):
        inner = nested.get(rule.stack_id)
        if inner is None or rule.stack_id in path:
            return _Nest(rule.stack_id, None)
        return _Nest(rule.stack_id, _shape(inner.rule, inner, nested, path | {rule.stack_id}))
    if not isinstance(rule, Group):
        raise ValueError(f"{rule!r} must be made concrete before it is weighed")
    children = tuple(_shape(child, policy, nested, path) for child in rule.children)
    ids = [child.achievement_id for child in children if isinstance(child, _Leaf)]
    if len(ids) == len(children) and len(set(ids)) == len(ids):
        return _Parts(rule.kind, rule.required, children, rule.share, frozenset(ids), policy)
    return _Parts(rule.kind, rule.required, children, rule.share)


# The achievements with a credential that counts under a policy (its window and purpose).
Counts = Callable[[StackPolicy], frozenset[str]]
# Whether a nested stack is weighed at all (an educator holding nothing it names is not).
Weighed = Callable[[str], bool]


def met_once(shape: RuleShape, held: frozenset[str], counts: Counts, weighed: Weighed) -> bool:
    """`evaluate(...).met` for an educator holding MCs of the achievements `held`, when a
    nested stack not `weighed` is taken as an unmet evaluation (as `RuleBook.evaluate` does
    for one naming nothing she holds)."""
    walk = _SetWalk(counts, weighed)
    met, _ = walk.explain(shape.root, held)
    if met or not walk.repeats(shape.root) or not walk.possible(shape.root):
        return met
    try:
        return next(walk.solutions(shape.root, held, [0]), None) is not None
    except _OutOfSteps:
        return False


@dataclass
class _SetWalk:
    """`_Explainer`, `_repeats` and `_solutions`, keeping only which achievements count."""

    counts: Counts
    weighed: Weighed

    def _body(self, node: _Nest) -> _Shape | None:
        return node.body if node.body is not None and self.weighed(node.stack_id) else None

    def _met(self, node: _Leaf, free: frozenset[str]) -> bool:
        return node.achievement_id in free and node.achievement_id in self.counts(node.policy)

    def explain(self, node: _Shape, free: frozenset[str]) -> tuple[bool, frozenset[str]]:
        if isinstance(node, _Leaf):
            return (
                (True, frozenset((node.achievement_id,)))
                if self._met(node, free)
                else (
                    False,
                    _NOTHING,
                )
            )
        if isinstance(node, _Nest):
            body = self._body(node)
            return (False, _NOTHING) if body is None else self.explain(body, free)
        if node.leaves is not None and node.policy is not None:
            used = node.leaves & free & self.counts(node.policy)
            return len(used) >= node.required, used
        left = free
        used = _NOTHING
        met = 0
        for child in node.children:
            child_met, got = self.explain(child, free if node.share else left)
            if child_met:
                used |= got
                left = left - got
                met += 1
        return met >= node.required, used

    def possible(self, node: _Shape) -> bool:
        """Met if parts could share MCs? If not, no search can meet it (whether it would
        have run out of steps or not, its answer is "not met"), and none is made."""
        if isinstance(node, _Leaf):
            return node.achievement_id in self.counts(node.policy)
        if isinstance(node, _Nest):
            body = self._body(node)
            return body is not None and self.possible(body)
        if node.leaves is not None and node.policy is not None:
            return len(node.leaves & self.counts(node.policy)) >= node.required
        return sum(self.possible(child) for child in node.children) >= node.required

    def repeats(self, node: _Shape) -> bool:
        seen: set[str] = set()

        def walk(item: _Shape) -> bool:
            if isinstance(item, _Leaf):
                if item.achievement_id in seen:
                    return True
                seen.add(item.achievement_id)
                return False
            if isinstance(item, _Nest):
                body = self._body(item)
                return body is not None and walk(body)
            if item.leaves is not None:  # named once each within the group
                if not seen.isdisjoint(item.leaves):
                    return True
                seen.update(item.leaves)
                return False
            return any(walk(child) for child in item.children)

        return walk(node)

    def solutions(
        self, node: _Shape, free: frozenset[str], steps: list[int]
    ) -> Iterator[frozenset[str]]:
        # Steps are counted exactly as `_solutions` counts them: the same rules run out.
        steps[0] += 1
        if steps[0] > _SEARCH_STEPS:
            raise _OutOfSteps
        if isinstance(node, _Leaf):
            if self._met(node, free):
                yield frozenset((node.achievement_id,))
            return
        if isinstance(node, _Nest):
            body = self._body(node)
            if body is not None:
                yield from self.solutions(body, free, steps)
            return
        yield from self._choose(node, 0, node.required, free, _NOTHING, steps)

    def _choose(
        self,
        node: _Parts,
        index: int,
        needed: int,
        free: frozenset[str],
        chosen: frozenset[str],
        steps: list[int],
    ) -> Iterator[frozenset[str]]:
        if needed == 0:
            yield chosen
            return
        if len(node.children) - index < needed:
            return
        for option in self.solutions(node.children[index], free, steps):
            rest = free if node.share else free - option
            yield from self._choose(node, index + 1, needed - 1, rest, chosen | option, steps)
        yield from self._choose(node, index + 1, needed, free, chosen, steps)
