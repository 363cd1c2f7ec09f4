"""Stack rules read as state policy: "3 approved literacy MCs within 5 years renews"."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from badges.errors import InvalidInput
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
    achievements_of,
    evaluate,
    find_cycle,
    parse_rule,
    rule_json,
    stacks_of,
)
from storage.models import Approval

LITERACY = [f"https://mc.example.org/achievements/literacy-{n}" for n in range(1, 6)]
TODAY = datetime(2026, 11, 1, tzinfo=UTC)
FIVE_YEARS = 5 * 365


def held(achievement: str, years_ago: float, problem: str | None = None) -> HeldCredential:
    return HeldCredential(
        credential_id=f"urn:uuid:{achievement[-1]}-{years_ago}",
        achievement_id=achievement,
        earned_at=TODAY - timedelta(days=365 * years_ago),
        problem=problem,
    )


def approved_always(achievement: str, purpose: str, at: datetime) -> bool:
    return True


def no_nested(stack_id: str) -> Evaluation:
    raise AssertionError("no nested stacks here")


RENEWAL = StackPolicy(
    rule=parse_rule({"atLeast": 3, "of": LITERACY}),
    window_days=FIVE_YEARS,
    purpose="license_renewal",
)


def test_three_approved_literacy_mcs_in_five_years_renew():
    credentials = [held(LITERACY[0], 1), held(LITERACY[1], 2), held(LITERACY[2], 4)]

    result = evaluate(RENEWAL, credentials, TODAY, approved=approved_always, nested=no_nested)

    assert result.met
    assert len(result.counted) == 3 and result.missing == []


def test_a_revoked_mc_does_not_count_and_says_why():
    credentials = [
        held(LITERACY[0], 1),
        held(LITERACY[1], 2),
        held(LITERACY[2], 1, problem="revoked on 2026-03-01"),
    ]

    result = evaluate(RENEWAL, credentials, TODAY, approved=approved_always, nested=no_nested)

    assert not result.met
    assert [item.reason for item in result.rejected] == ["revoked on 2026-03-01"]
    assert result.missing and result.missing[0].startswith("1 more of:")


def test_an_mc_older_than_the_window_does_not_count():
    credentials = [held(LITERACY[0], 1), held(LITERACY[1], 2), held(LITERACY[2], 6)]

    result = evaluate(RENEWAL, credentials, TODAY, approved=approved_always, nested=no_nested)

    assert not result.met
    assert result.rejected[0].reason == f"earned before the {FIVE_YEARS}-day window"


def test_an_mc_approved_after_it_was_earned_counts_from_its_approval_date():
    approval_date = TODAY - timedelta(days=30)

    def approved(achievement: str, purpose: str, at: datetime) -> bool:
        return achievement != LITERACY[2] or at >= approval_date

    credentials = [held(LITERACY[0], 1), held(LITERACY[1], 2), held(LITERACY[2], 1)]
    before = evaluate(
        RENEWAL, credentials, approval_date - timedelta(days=1), approved=approved, nested=no_nested
    )
    after = evaluate(RENEWAL, credentials, TODAY, approved=approved, nested=no_nested)

    assert not before.met
    assert before.rejected[0].reason.startswith("not approved for license_renewal")
    assert after.met


def test_the_same_achievement_twice_counts_once():
    credentials = [held(LITERACY[0], 1), held(LITERACY[0], 2), held(LITERACY[1], 2)]

    result = evaluate(RENEWAL, credentials, TODAY, approved=approved_always, nested=no_nested)

    assert not result.met and len(result.counted) == 2


def test_nested_groups_and_stacks():
    coaching = "https://state.example.gov/stacks/coaching"
    rule = parse_rule(
        {
            "all": [
                {"stack": coaching},
                {"any": [{"achievement": LITERACY[0]}, {"achievement": LITERACY[1]}], "count": 1},
            ]
        }
    )
    policy = StackPolicy(rule)

    def nested(stack_id: str) -> Evaluation:
        return Evaluation(met=stack_id == coaching)

    result = evaluate(
        policy, [held(LITERACY[1], 1)], TODAY, approved=approved_always, nested=nested
    )

    assert result.met
    assert rule_json(rule) == {
        "all": [
            {"stack": coaching},
            {"any": [{"achievement": LITERACY[0]}, {"achievement": LITERACY[1]}]},
        ]
    }


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"atLeast": 6, "of": LITERACY}, ("rule", "atLeast")),
        ({"atLeast": 0, "of": LITERACY}, ("rule", "atLeast")),
        ({"all": []}, ("rule", "all")),
        ({"any": [{"achievement": "not an iri"}]}, ("rule", "any", 0, "achievement")),
        ({"all": [{"achievement": LITERACY[0]}, {"achievement": LITERACY[0]}]}, ("rule",)),
        ({"sometimes": []}, ("rule",)),
    ],
)
def test_malformed_rules_name_the_offending_part(document, field):
    with pytest.raises(InvalidInput) as raised:
        parse_rule(document)

    assert raised.value.field == field


def test_a_stack_that_contains_itself_is_a_cycle():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": []}

    assert find_cycle("a", graph.__getitem__) == ["a", "b", "c", "a"]
    assert find_cycle("d", graph.__getitem__) is None


# --- the bulk "met?" answers as the explaining engine does, MCs counted once -------------

STACK_IRIS = [f"https://state.example.gov/stacks/{n}" for n in range(4)]


def _engine_met(
    book: RuleBook, policy: StackPolicy, holdings: list[Holding], approvals: ApprovalBook
) -> bool:
    return book.evaluate(policy, [item.at(TODAY) for item in holdings], TODAY, approvals).met


def _names_twice(rule: Rule, nested: dict[str, StackPolicy]) -> bool:
    named = list(achievements_of(rule))
    for ref in stacks_of(rule):
        named += achievements_of(nested[ref].rule)
    return len(named) != len(set(named))


def _random_group(pick: random.Random, leaves: list[Rule], all_odds: float = 0.5) -> Group:
    children = tuple(pick.sample(leaves, pick.randint(1, min(4, len(leaves)))))
    kind = "all" if pick.random() < all_odds else "any"
    count = pick.randint(1, len(children)) if kind == "any" else None
    return Group(kind, children, count, share=pick.random() < 0.2)


def _random_holding(pick: random.Random, n: int) -> Holding:
    earned = TODAY - timedelta(days=pick.randint(-30, 6 * 365))
    until = pick.choice((None, None, earned + timedelta(days=pick.randint(1, 1500))))
    problem = pick.choice((None, None, None, None, "revoked on 2026-01-01T00:00:00Z"))
    return Holding(f"urn:uuid:{n}", pick.choice(LITERACY), earned, earned, until, problem)


def test_roles_over_overlapping_stacks_answer_met_as_the_explaining_engine():
    pick = random.Random(13)
    approvals = ApprovalBook(
        [
            Approval(
                achievement_iri=iri,
                purpose="license_renewal",
                decision="approved",
                effective_from=TODAY - timedelta(days=pick.randint(0, 2000)),
                effective_until=pick.choice((None, TODAY - timedelta(days=100))),
            )
            for iri in LITERACY[:4]
        ]
    )
    achievements: list[Rule] = [AchievementLeaf(iri) for iri in LITERACY]
    answers = {True: 0, False: 0}
    repeating = 0
    for _ in range(300):
        # Stacks over the same five MCs, some nesting an earlier one; a role over them.
        nested: dict[str, StackPolicy] = {}
        for number, iri in enumerate(STACK_IRIS):
            inner = [*achievements, *(StackLeaf(ref) for ref in STACK_IRIS[:number])]
            nested[iri] = StackPolicy(
                _random_group(pick, inner, all_odds=0.2),
                window_days=pick.choice((None, 2 * 365, FIVE_YEARS)),
                purpose=pick.choice((None, "license_renewal")),
                approval_at=pick.choice(("earned", "evaluation")),
            )
        leaves: list[Rule] = [*(StackLeaf(iri) for iri in STACK_IRIS), *achievements[:2]]
        role = StackPolicy(_random_group(pick, [*leaves, _random_group(pick, leaves)], 0.7))
        book = RuleBook([role], nested)
        holdings = [_random_holding(pick, n) for n in range(pick.randint(0, 9))]

        expected = _engine_met(book, role, holdings, approvals)

        assert book.met(role, holdings, TODAY, approvals) == expected
        answers[expected] += 1
        repeating += _names_twice(role.rule, nested)

    assert min(answers.values()) > 30 and repeating > 100  # both answers, mostly overlapping


def test_an_mc_goes_to_the_stack_that_has_no_other():
    # The in-order walk gives MC 0 to the first stack; only the search meets the role.
    first, second = STACK_IRIS[:2]
    nested = {
        first: StackPolicy(parse_rule({"any": [{"achievement": iri} for iri in LITERACY[:2]]})),
        second: StackPolicy(parse_rule({"achievement": LITERACY[0]})),
    }
    role = StackPolicy(parse_rule({"all": [{"stack": first}, {"stack": second}]}))
    book = RuleBook([role], nested)
    approvals = ApprovalBook([])
    holdings = [
        Holding(f"urn:uuid:{n}", iri, TODAY - timedelta(days=30), None, None)
        for n, iri in enumerate(LITERACY[:2])
    ]

    assert _engine_met(book, role, holdings, approvals)
    assert book.met(role, holdings, TODAY, approvals)
    assert not book.met(role, holdings[:1], TODAY, approvals)
    assert not _engine_met(book, role, holdings[:1], approvals)


def test_a_search_too_long_is_not_met_either_way():
    # Nine parts each wanting one of eight MCs cannot be met with each MC once; proving it
    # takes more steps than the search may, and both answers stop at the same bound.
    mcs = [f"https://mc.example.org/achievements/{n}" for n in range(8)]
    parts = [{"any": [{"achievement": iri} for iri in mcs]} for _ in range(9)]
    role = StackPolicy(Group("all", tuple(parse_rule(part) for part in parts)))
    book = RuleBook([role])
    holdings = [
        Holding(f"urn:uuid:{n}", iri, TODAY - timedelta(days=30), None, None)
        for n, iri in enumerate(mcs)
    ]

    assert not _engine_met(book, role, holdings, ApprovalBook([]))
    assert not book.met(role, holdings, TODAY, ApprovalBook([]))
