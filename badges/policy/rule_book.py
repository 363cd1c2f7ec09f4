"""Stack rules resolved for evaluating many educators: nested stacks by IRI, approvals by
achievement, and a fast yes/no evaluation beside the explaining one.

`stack_rules.evaluate` explains (what counted, what was rejected and why, what is missing),
which a bulk run never shows: building those lists and strings for every educator and every
nested stack is most of its cost. `RuleBook.met` answers only "met?", by the same rules, on
sets; tests/badges/policy/test_rule_book.py checks it agrees with `evaluate` on random cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from badges.policy.stack_rules import (
    AchievementLeaf,
    Evaluation,
    Group,
    HeldCredential,
    Rule,
    RuleShape,
    StackLeaf,
    StackPolicy,
    achievements_of,
    approval_moments,
    evaluate,
    met_once,
    rule_shape,
    stacks_of,
)
from formats.dates import xsd_datetime
from storage.models import Approval


@dataclass(frozen=True, slots=True)
class Holding:
    """A credential of the educator as stored: what re-evaluating at any date needs."""

    credential_id: str
    achievement_id: str
    earned_at: datetime
    valid_from: datetime | None
    valid_until: datetime | None
    # Revoked or suspended at the evaluation date, or failed verification on entry.
    problem: str | None = None

    def at(self, moment: datetime) -> HeldCredential:
        problem = self.problem
        if problem is None and self.valid_from is not None and moment < self.valid_from:
            problem = "not yet valid on that date"
        if problem is None and self.valid_until is not None and moment >= self.valid_until:
            problem = f"expired on {xsd_datetime(self.valid_until)}"
        return HeldCredential(self.credential_id, self.achievement_id, self.earned_at, problem)


class Decision(NamedTuple):
    approved: bool
    effective_from: datetime | None
    effective_until: datetime | None


class ApprovalBook:
    """An agency's vetting decisions indexed by (achievement, purpose), in decision order."""

    def __init__(self, approvals: Iterable[Approval]) -> None:
        self._rows: dict[tuple[str, str], list[Decision]] = defaultdict(list)
        for row in approvals:
            if row.decision != "proposed":
                decision = Decision(
                    row.decision == "approved", row.effective_from, row.effective_until
                )
                self._rows[(row.achievement_iri, row.purpose)].append(decision)

    def deciding(self, achievement: str, purpose: str, at: datetime) -> Decision | None:
        """The decision in force at `at` (the latest one covering it), as `approved_at`."""
        found = None
        for row in self._rows.get((achievement, purpose), ()):
            starts, ends = row.effective_from, row.effective_until
            if (starts is None or starts <= at) and (ends is None or at < ends):
                found = row
        return found

    def approved(self, achievement: str, purpose: str, at: datetime) -> bool:
        row = self.deciding(achievement, purpose, at)
        return row is not None and row.approved

    def counts_for(
        self, policy: StackPolicy, achievement: str, earned_at: datetime, at: datetime
    ) -> bool:
        """Approved for the policy's purpose when it asks (`approval_moments`)."""
        if not policy.purpose:
            return True
        purpose = policy.purpose
        return any(
            self.approved(achievement, purpose, moment)
            for moment in approval_moments(policy, earned_at, at)
        )

    def counted_since(
        self, policy: StackPolicy, achievement: str, earned_at: datetime, at: datetime
    ) -> datetime | None:
        """From when an approval lets a credential earned at `earned_at` count at `at`
        (None: it does not): the day it was earned if approved then (`approvalAt: "earned"`),
        otherwise the start of the approval in force at `at`."""
        if not policy.purpose:
            return earned_at
        if policy.approval_at == "earned" and self.approved(achievement, policy.purpose, earned_at):
            return earned_at
        decision = self.deciding(achievement, policy.purpose, at)
        if decision is None or not decision.approved:
            return None
        return max(earned_at, decision.effective_from or earned_at)


def approved_pools(approvals: Iterable[Approval]) -> dict[str, list[str]]:
    """Purpose -> every achievement the agency ever approved for it, in the order first
    approved: what `{"approvedFor": purpose}` stands for (`stack_rules.concrete`). Whether one
    counts on a date is still asked of its decisions then."""
    found: dict[str, dict[str, None]] = defaultdict(dict)
    for row in approvals:
        if row.decision == "approved":
            found[row.purpose][row.achievement_iri] = None
    return {purpose: list(iris) for purpose, iris in found.items()}


def counts(policy: StackPolicy, item: Holding, at: datetime, approvals: ApprovalBook) -> bool:
    """Whether the credential counts for the policy at `at`: none of the engine's reasons to
    reject it (a problem, not yet valid or expired, earned later, outside the window, not
    approved for the purpose when the policy asks: `stack_rules.approval_moments`)."""
    if item.problem is not None or item.earned_at > at:
        return False
    if item.valid_from is not None and at < item.valid_from:
        return False
    if item.valid_until is not None and at >= item.valid_until:
        return False
    if policy.window_days is not None and item.earned_at < at - timedelta(days=policy.window_days):
        return False
    return approvals.counts_for(policy, item.achievement_id, item.earned_at, at)


@dataclass
class RuleBook:
    """Policies to evaluate, and the current rule of every stack they nest (by IRI).

    Policies are weighed concrete (`stack_rules.concrete`); `weighed` maps a policy as its
    callers know it to the concrete one, so that they may keep asking by the former."""

    policies: list[StackPolicy]
    nested: Mapping[str, StackPolicy] = field(default_factory=dict)
    weighed: Mapping[int, StackPolicy] = field(default_factory=dict)
    # How a leaf that is not an achievement (a criterion) is named in what is missing.
    names: Mapping[str, str] = field(default_factory=dict)
    _closures: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _direct: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)
    _flat: dict[int, tuple[frozenset[str], frozenset[str]] | None] = field(
        default_factory=dict, repr=False
    )
    _naming: dict[str, frozenset[str]] | None = field(default=None, repr=False)
    _repeating: dict[int, bool] = field(default_factory=dict, repr=False)
    _shapes: dict[int, RuleShape] = field(default_factory=dict, repr=False)

    def achievements(self) -> set[str]:
        every = [*self.policies, *self.nested.values()]
        return {iri for policy in every for iri in achievements_of(policy.rule)}

    def achievements_for(self, policy: StackPolicy) -> set[str]:
        """Every achievement the policy counts, directly or through the stacks it nests."""
        policy = self.weighed.get(id(policy), policy)
        found = set(achievements_of(policy.rule))
        for ref in stacks_of(policy.rule):
            found |= self._closure(ref)
        return found

    def _closure(self, ref: str) -> frozenset[str]:
        if ref not in self._closures:
            # A stack the book does not hold (a rule written under another public URL of
            # this service, say) names nothing anyone holds: it is weighed as unmet.
            inner = self.nested.get(ref)
            found = self.achievements_for(inner) if inner is not None else set()
            self._closures[ref] = frozenset(found)
        return self._closures[ref]

    def _wanted(self, policy: StackPolicy) -> frozenset[str]:
        # Policies and their rules live as long as the book: their identity is a safe key.
        found = self._direct.get(id(policy))
        if found is None:
            found = self._direct[id(policy)] = frozenset(achievements_of(policy.rule))
        return found

    def evaluate(
        self,
        policy: StackPolicy,
        held: Sequence[HeldCredential],
        at: datetime,
        approvals: ApprovalBook,
        memo: dict[str, Evaluation] | None = None,
    ) -> Evaluation:
        """`stack_rules.evaluate`, explained, with nested stacks resolved from the book and
        each evaluated once (`memo` may carry them across policies on the same credentials)."""
        policy = self.weighed.get(id(policy), policy)
        memo = {} if memo is None else memo
        present = {item.achievement_id for item in held}

        def nested(ref: str) -> Evaluation:
            if ref not in memo:
                if self._closure(ref).isdisjoint(present):
                    memo[ref] = Evaluation(met=False)  # nothing of it held: nothing to weigh
                else:
                    memo[ref] = evaluate(
                        self.nested[ref],
                        held,
                        at,
                        approved=approvals.approved,
                        nested=nested,
                        names=self.names,
                    )
            return memo[ref]

        return evaluate(
            policy, held, at, approved=approvals.approved, nested=nested, names=self.names
        )

    def met(
        self,
        policy: StackPolicy,
        holdings: Sequence[Holding],
        at: datetime,
        approvals: ApprovalBook,
        memo: dict[str, bool] | None = None,
    ) -> bool:
        """Whether `evaluate(...).met` would be true, without the explanation."""
        policy = self.weighed.get(id(policy), policy)
        present = {item.achievement_id for item in holdings}
        if self._names_twice(policy):
            # One MC counts once: which part it goes to is a search the set answer below
            # cannot make, so the engine's own walk and search answer (roles over
            # overlapping stacks), on the rule expanded once per policy.
            return self._met_once(policy, holdings, present, at, approvals)
        memo = {} if memo is None else memo
        # Nested stacks naming none of what she holds cannot be met: never evaluated.
        candidates: set[str] = set()
        for achievement in present:
            candidates |= self._refs_naming().get(achievement, frozenset())

        def one(rule_of: StackPolicy) -> bool:
            wanted = self._wanted(rule_of)
            eligible = {
                item.achievement_id
                for item in holdings
                if item.achievement_id in wanted and counts(rule_of, item, at, approvals)
            }
            return self._satisfied(rule_of.rule, eligible, candidates, nested)

        def nested(ref: str) -> bool:
            if ref not in candidates:
                return False
            if ref not in memo:
                memo[ref] = one(self.nested[ref])
            return memo[ref]

        return one(policy)

    def _met_once(
        self,
        policy: StackPolicy,
        holdings: Sequence[Holding],
        present: set[str],
        at: datetime,
        approvals: ApprovalBook,
    ) -> bool:
        """`evaluate(...).met` as `self.evaluate` answers it: a nested stack naming nothing
        she holds is unmet, a leaf counts when a credential of it counts for its stack."""
        shape = self._shapes.get(id(policy))
        if shape is None:
            shape = self._shapes[id(policy)] = rule_shape(policy, self.nested)
        eligible: dict[int, frozenset[str]] = {}

        def counted(leaf_policy: StackPolicy) -> frozenset[str]:
            found = eligible.get(id(leaf_policy))
            if found is None:
                wanted = self._wanted(leaf_policy)
                found = eligible[id(leaf_policy)] = frozenset(
                    item.achievement_id
                    for item in holdings
                    if item.achievement_id in wanted and counts(leaf_policy, item, at, approvals)
                )
            return found

        return met_once(
            shape,
            frozenset(present),
            counted,
            lambda ref: not self._closure(ref).isdisjoint(present),
        )

    def _names_twice(self, policy: StackPolicy) -> bool:
        """Whether the rule, through the stacks it nests, names some achievement twice."""
        if id(policy) not in self._repeating:
            found = self._occurrences(policy.rule, frozenset())
            self._repeating[id(policy)] = any(times > 1 for times in found.values())
        return self._repeating[id(policy)]

    def _occurrences(self, rule: Rule, path: frozenset[str]) -> Counter[str]:
        if isinstance(rule, AchievementLeaf):
            return Counter([rule.achievement_id])
        if isinstance(rule, StackLeaf):
            if rule.stack_id in path or rule.stack_id not in self.nested:
                return Counter()
            inner = self.nested[rule.stack_id].rule
            return self._occurrences(inner, path | {rule.stack_id})
        if not isinstance(rule, Group):
            return Counter()
        total: Counter[str] = Counter()
        for child in rule.children:
            total.update(self._occurrences(child, path))
        return total

    def _satisfied(
        self,
        rule: Rule,
        eligible: set[str],
        candidates: set[str],
        nested: Callable[[str], bool],
    ) -> bool:
        if isinstance(rule, AchievementLeaf):
            return rule.achievement_id in eligible
        if isinstance(rule, StackLeaf):
            return nested(rule.stack_id)
        if not isinstance(rule, Group):
            return False
        needed = rule.required
        leaves = self._leaves(rule)
        if leaves is not None:  # a flat group: count with sets
            achievements, refs = leaves
            found = len(achievements & eligible)
            for ref in refs & candidates if found < needed else ():
                found += nested(ref)
                if found >= needed:
                    break
            return found >= needed
        for child in rule.children:
            if self._satisfied(child, eligible, candidates, nested):
                needed -= 1
                if needed == 0:
                    return True
        return False

    def _leaves(self, group: Group) -> tuple[frozenset[str], frozenset[str]] | None:
        """A group's achievement and stack leaves, if it has no subgroups."""
        if id(group) not in self._flat:
            flat = all(not isinstance(child, Group) for child in group.children)
            self._flat[id(group)] = (
                (
                    frozenset(
                        c.achievement_id for c in group.children if isinstance(c, AchievementLeaf)
                    ),
                    frozenset(c.stack_id for c in group.children if isinstance(c, StackLeaf)),
                )
                if flat
                else None
            )
        return self._flat[id(group)]

    def _refs_naming(self) -> dict[str, frozenset[str]]:
        """Achievement -> the nested stacks counting it, directly or through their nesting."""
        if self._naming is None:
            naming: dict[str, set[str]] = defaultdict(set)
            for ref in self.nested:
                for achievement in self._closure(ref):
                    naming[achievement].add(ref)
            self._naming = {key: frozenset(refs) for key, refs in naming.items()}
        return self._naming


def nested_refs(policies: Iterable[StackPolicy]) -> set[str]:
    return {ref for policy in policies for ref in stacks_of(policy.rule)}
