"""Stack rules read as state policy: "3 approved literacy MCs within 5 years renews"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from badges.errors import InvalidInput
from badges.stack_rules import (
    Evaluation,
    HeldCredential,
    StackPolicy,
    evaluate,
    find_cycle,
    parse_rule,
    rule_json,
)

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
