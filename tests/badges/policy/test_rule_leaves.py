"""The agency-dependent leaves of a rule: a pool of approved MCs and a recorded criterion,
made concrete before they are weighed, and weighed alike by the explaining engine and the
bulk one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from badges.errors import InvalidInput
from badges.policy.rule_book import (
    ApprovalBook,
    Holding,
    RuleBook,
    approved_pools,
)
from badges.policy.stack_rules import (
    AchievementLeaf,
    ApprovedPool,
    CriterionLeaf,
    Group,
    StackPolicy,
    concrete,
    concrete_policy,
    criterion_iri,
    evaluate,
    parse_rule,
    rule_json,
    with_hold_harmless,
)
from storage.models import Approval

TODAY = datetime(2026, 11, 1, tzinfo=UTC)
MCS = [f"https://mc.example.org/achievements/{n}" for n in range(6)]


def _approval(iri: str, purpose: str, starts: datetime, ends: datetime | None = None) -> Approval:
    return Approval(
        achievement_iri=iri,
        purpose=purpose,
        decision="approved",
        effective_from=starts,
        effective_until=ends,
    )


def test_the_new_leaves_read_and_write_as_written() -> None:
    for document in (
        {"approvedFor": "license_renewal", "count": 3},
        {"criterion": "national_board"},
        {"all": [{"criterion": "interview"}, {"approvedFor": "endorsement", "count": 1}]},
    ):
        assert rule_json(parse_rule(document)) == document
    assert parse_rule({"approvedFor": "license_renewal"}) == ApprovedPool("license_renewal", 1)
    for bad in (
        {"approvedFor": "license_renewal", "count": 0},
        {"approvedFor": "license_renewal", "count": True},
        {"approvedFor": 7},
        {"criterion": ""},
    ):
        with pytest.raises(InvalidInput):
            parse_rule(bad)


def test_a_pool_stands_for_every_achievement_ever_approved_for_its_purpose() -> None:
    approvals = [
        _approval(MCS[0], "license_renewal", TODAY - timedelta(days=900)),
        _approval(
            MCS[1], "license_renewal", TODAY - timedelta(days=900), TODAY - timedelta(days=1)
        ),
        _approval(MCS[0], "license_renewal", TODAY - timedelta(days=10)),  # a renewal: once
        _approval(MCS[2], "endorsement", TODAY - timedelta(days=900)),
    ]
    pools = approved_pools(approvals)
    assert pools == {"license_renewal": [MCS[0], MCS[1]], "endorsement": [MCS[2]]}
    made = concrete(parse_rule({"approvedFor": "license_renewal", "count": 2}), pools)
    assert made == Group(
        "any",
        (AchievementLeaf(MCS[0]), AchievementLeaf(MCS[1])),
        2,
        label="MCs approved for license_renewal",
    )
    assert concrete(CriterionLeaf("interview"), pools) == AchievementLeaf(
        criterion_iri("interview")
    )
    # Nothing approved yet: a pool no one can meet, said plainly.
    policy = concrete_policy(
        StackPolicy(parse_rule({"approvedFor": "advancement", "count": 2}), purpose="advancement"),
        pools,
    )
    result = evaluate(policy, [], TODAY, approved=ApprovalBook(approvals).approved, nested={}.get)  # type: ignore[arg-type]
    assert not result.met
    assert result.missing == ["2 more MCs approved for advancement"]


def test_an_mc_earned_while_approved_keeps_counting_in_a_pool() -> None:
    """The pool asks each MC's approval as the stack says (here: on the day it was earned)."""
    approvals = [
        _approval(
            MCS[1], "license_renewal", TODAY - timedelta(days=900), TODAY - timedelta(days=30)
        )
    ]
    policy = concrete_policy(
        StackPolicy(
            parse_rule({"approvedFor": "license_renewal", "count": 1}),
            5 * 365,
            "license_renewal",
        ),
        approved_pools(approvals),
    )
    book = ApprovalBook(approvals)
    held = [
        Holding("urn:uuid:a", MCS[1], TODAY - timedelta(days=100), None, None).at(TODAY),
    ]
    assert evaluate(policy, held, TODAY, approved=book.approved, nested={}.get).met  # type: ignore[arg-type]
    late = [Holding("urn:uuid:b", MCS[1], TODAY - timedelta(days=10), None, None).at(TODAY)]
    assert not evaluate(policy, late, TODAY, approved=book.approved, nested={}.get).met  # type: ignore[arg-type]


def test_the_bulk_engine_agrees_on_pools_criteria_and_hold_harmless() -> None:
    pick = random.Random(7)
    for _ in range(300):
        approvals = [
            _approval(
                iri,
                "license_renewal",
                TODAY - timedelta(days=pick.randint(0, 2000)),
                pick.choice((None, TODAY - timedelta(days=pick.randint(-50, 500)))),
            )
            for iri in pick.sample(MCS, pick.randint(0, len(MCS)))
        ]
        pools = approved_pools(approvals)
        parts = [
            {"approvedFor": "license_renewal", "count": pick.randint(1, 4)},
            {"criterion": "interview"},
            {"achievement": pick.choice(MCS)},
        ]
        rule = parse_rule({"any": pick.sample(parts, pick.randint(1, 3)), "count": 1})
        original = StackPolicy(rule, pick.choice((None, 3 * 365)), "license_renewal")
        weighed = concrete_policy(original, pools)
        if pick.random() < 0.3:
            weighed = with_hold_harmless(weighed, "role-1")
        holdings = [
            Holding(
                f"urn:uuid:{n}",
                pick.choice([*MCS, criterion_iri("interview")]),
                TODAY - timedelta(days=pick.randint(0, 2500)),
                None,
                pick.choice((None, TODAY - timedelta(days=pick.randint(-100, 100)))),
            )
            for n in range(pick.randint(0, 6))
        ]
        book = ApprovalBook(approvals)
        rules = RuleBook([weighed], {}, {id(original): weighed})
        explained = rules.evaluate(original, [item.at(TODAY) for item in holdings], TODAY, book)
        assert rules.met(original, holdings, TODAY, book) == explained.met
