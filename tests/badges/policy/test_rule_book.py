"""Bulk evaluation answers like the explaining engine, and dates completions as a state would:
completed when the last needed MC started to count, lapsing when too few are left."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from badges.policy.completion_rules import outcome
from badges.policy.rule_book import (
    ApprovalBook,
    Holding,
    RuleBook,
)
from badges.policy.stack_rules import (
    AchievementLeaf,
    Evaluation,
    Group,
    HeldCredential,
    Rule,
    StackLeaf,
    StackPolicy,
    evaluate,
)
from storage.models import Approval

TODAY = datetime(2026, 11, 1, tzinfo=UTC)
MCS = [f"https://mc.example.org/achievements/{n}" for n in range(6)]
STACKS = [f"https://lattice.example.org/stacks/{n}" for n in range(3)]


def _approval(achievement: str, starts: datetime, ends: datetime | None = None) -> Approval:
    return Approval(
        achievement_iri=achievement,
        purpose="license_renewal",
        decision="approved",
        effective_from=starts,
        effective_until=ends,
    )


def _group(pick: random.Random, leaves: list[Rule]) -> Rule:
    children = tuple(pick.sample(leaves, pick.randint(1, len(leaves))))
    kind = pick.choice(("all", "any"))
    count = pick.randint(1, len(children)) if kind == "any" else None
    return Group(kind, children, count)


def _policy(pick: random.Random, leaves: list[Rule]) -> StackPolicy:
    return StackPolicy(
        _group(pick, leaves),
        window_days=pick.choice((None, 365, 3 * 365)),
        purpose=pick.choice((None, "license_renewal")),
    )


def _holding(pick: random.Random, n: int) -> Holding:
    earned = TODAY - timedelta(days=pick.randint(-30, 5 * 365))
    return Holding(
        credential_id=f"urn:uuid:{n}",
        achievement_id=pick.choice(MCS),
        earned_at=earned,
        valid_from=earned + timedelta(days=pick.choice((0, 0, 40))),
        valid_until=pick.choice((None, None, earned + timedelta(days=pick.randint(1, 900)))),
        problem=pick.choice((None, None, None, "revoked on 2026-01-01T00:00:00Z")),
    )


def test_the_fast_answer_agrees_with_the_explaining_engine():
    pick = random.Random(2026)
    achievements: list[Rule] = [AchievementLeaf(iri) for iri in MCS]
    approvals = ApprovalBook(
        [_approval(iri, TODAY - timedelta(days=pick.randint(0, 900))) for iri in MCS[:4]]
    )
    met = 0
    for _ in range(400):
        nested = {iri: _policy(pick, achievements) for iri in STACKS}
        leaves = [*achievements, *(StackLeaf(iri) for iri in STACKS)]
        policy = _policy(pick, [*leaves, _group(pick, leaves)])
        holdings = [_holding(pick, n) for n in range(pick.randint(0, 12))]
        held = [item.at(TODAY) for item in holdings]

        def engine(ref: str, held=held, nested=nested) -> Evaluation:
            inner = nested[ref]
            return evaluate(inner, held, TODAY, approved=approvals.approved, nested=engine)

        expected = evaluate(policy, held, TODAY, approved=approvals.approved, nested=engine)
        book = RuleBook([policy], nested)

        assert book.met(policy, holdings, TODAY, approvals) == expected.met
        assert book.evaluate(policy, held, TODAY, approvals).met == expected.met
        met += expected.met

    assert 40 < met < 360  # both answers were exercised


def _renewal(window: int | None = 5 * 365) -> tuple[RuleBook, StackPolicy]:
    rule = Group("any", tuple(AchievementLeaf(iri) for iri in MCS[:4]), 3)
    policy = StackPolicy(rule, window, "license_renewal")
    return RuleBook([policy]), policy


def _earned(index: int, days_ago: int, until: datetime | None = None) -> Holding:
    earned = TODAY - timedelta(days=days_ago)
    return Holding(f"urn:uuid:{index}-{days_ago}", MCS[index], earned, earned, until)


def test_completed_when_the_third_mc_was_earned_and_lapsing_when_the_oldest_leaves_the_window():
    book, policy = _renewal()
    approvals = ApprovalBook([_approval(iri, TODAY - timedelta(days=4000)) for iri in MCS])
    holdings = [_earned(0, 1500), _earned(1, 400), _earned(2, 100)]

    result = outcome(book, policy, holdings, TODAY, approvals)

    assert result.met
    assert result.completed_at == TODAY - timedelta(days=100)
    assert result.expires_at == TODAY - timedelta(days=1500) + timedelta(days=5 * 365)


def test_a_spare_mc_keeps_the_stack_when_one_expires():
    book, policy = _renewal(window=None)
    approvals = ApprovalBook([_approval(iri, TODAY - timedelta(days=4000)) for iri in MCS])
    soon, later = TODAY + timedelta(days=10), TODAY + timedelta(days=90)
    holdings = [_earned(0, 50, soon), _earned(1, 50, later), _earned(2, 50), _earned(3, 50)]

    result = outcome(book, policy, holdings, TODAY, approvals)

    assert result.expires_at == later  # two gone: two left of the three needed


def test_an_mc_approved_after_it_was_earned_completes_the_stack_from_its_approval():
    book, policy = _renewal()
    approved_late = TODAY - timedelta(days=30)
    approvals = ApprovalBook(
        [
            _approval(MCS[0], TODAY - timedelta(days=4000)),
            _approval(MCS[1], TODAY - timedelta(days=4000)),
            _approval(MCS[2], approved_late, TODAY + timedelta(days=200)),
        ]
    )
    holdings = [_earned(0, 300), _earned(1, 200), _earned(2, 100)]

    result = outcome(book, policy, holdings, TODAY, approvals)

    assert result.completed_at == approved_late
    assert result.expires_at == TODAY + timedelta(days=200)  # when its approval ends


def test_a_nested_stack_the_book_does_not_hold_is_weighed_as_unmet_not_an_error():
    """A rule may name a stack by an IRI the book cannot resolve (written under another
    public URL of the service): the rule around it is still answered."""
    unknown = "https://old-host.example.org/stacks/0"
    policy = StackPolicy(Group("any", (StackLeaf(unknown), AchievementLeaf(MCS[0])), 1))
    book = RuleBook([policy])
    held = [HeldCredential("urn:uuid:1", MCS[0], TODAY - timedelta(days=10))]

    evaluation = book.evaluate(policy, held, TODAY, ApprovalBook([]))

    assert evaluation.met is True
    only_unknown = StackPolicy(Group("all", (StackLeaf(unknown),), None))
    assert book.evaluate(only_unknown, held, TODAY, ApprovalBook([])).met is False
