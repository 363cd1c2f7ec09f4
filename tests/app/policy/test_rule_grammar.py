"""The rule grammar, as the OpenAPI document shows it and as the engine reads it (#13).

The document describes a rule (`StackRule`, one of seven forms); the engine decides
(`parse_rule`). Every example the document gives is a rule the engine reads, the bounds it
states are the engine's, and a rule the document would not allow still gets the engine's
answer (a 201, or a 422 naming the part at fault), never a 500.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from badges.errors import InvalidInput
from badges.policy.stack_rules import (
    MAX_POOL_COUNT,
    MAX_RULE_DEPTH,
    parse_rule,
    rule_json,
)
from schemas.api import rules
from tests.conftest import AgencyClient, Provider

FORMS = {
    "AchievementRule": "achievement",
    "NestedStackRule": "stack",
    "AllRule": "all",
    "AnyRule": "any",
    "AtLeastRule": "atLeast",
    "ApprovedForRule": "approvedFor",
    "CriterionRule": "criterion",
}
REF = "#/components/schemas/"


@pytest.fixture
async def schemas(public: httpx.AsyncClient) -> dict[str, Any]:
    response = await public.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()["components"]["schemas"]
    return found


def _examples(schema: Any) -> list[Any]:
    if isinstance(schema, dict):
        own = list(schema.get("examples", []))
        return own + [item for value in schema.values() for item in _examples(value)]
    if isinstance(schema, list):
        return [item for value in schema for item in _examples(value)]
    return []


async def test_the_document_describes_the_rule_grammar_as_one_of_seven_forms(
    schemas: dict[str, Any],
) -> None:
    rule = schemas["StackRule"]

    assert sorted(item["$ref"] for item in rule["oneOf"]) == sorted(REF + name for name in FORMS)
    for name, key in FORMS.items():
        form = schemas[name]
        assert key in form["required"] and form["additionalProperties"] is False, name
        assert form["description"], name
    assert schemas["AllRule"]["properties"]["all"]["items"] == {"$ref": REF + "StackRule"}
    assert schemas["AnyRule"]["properties"]["any"]["items"] == {"$ref": REF + "StackRule"}


async def test_stack_and_lattice_bodies_refer_to_it(schemas: dict[str, Any]) -> None:
    assert schemas["StackIn"]["properties"]["rule"]["$ref"] == REF + "StackRule"
    assert schemas["RoleIn"]["properties"]["rule"]["$ref"] == REF + "StackRule"
    assert "UUID" in schemas["StackRule"]["description"]


async def test_every_example_in_the_document_is_a_rule_the_engine_reads(
    schemas: dict[str, Any],
) -> None:
    examples = _examples([schemas["StackRule"], *(schemas[name] for name in FORMS)])

    assert len(examples) >= len(FORMS) + 3
    for example in examples:
        stored = rule_json(parse_rule(example))
        assert rule_json(parse_rule(stored)) == stored, example


async def test_the_bounds_the_document_states_are_the_engines(schemas: dict[str, Any]) -> None:
    pool = schemas["ApprovedForRule"]["properties"]["count"]

    assert (pool["minimum"], pool["maximum"]) == (1, MAX_POOL_COUNT) == (1, rules.MAX_POOL_COUNT)
    assert f"{MAX_RULE_DEPTH} deep" in schemas["StackRule"]["description"]
    too_many = {"approvedFor": "license_renewal", "count": MAX_POOL_COUNT + 1}
    long_key = {"criterion": "k" * (rules.MAX_KEY_LENGTH + 1)}
    for refused in (too_many, long_key):
        with pytest.raises(InvalidInput):
            parse_rule(refused)
    parse_rule({"criterion": "k" * rules.MAX_KEY_LENGTH})


# --- the README's two examples, through the API ------------------------------------------------


async def _stack(agency: AgencyClient, body: dict[str, Any]) -> httpx.Response:
    return await agency.http.post("/v1/agency/stacks", json={"code": "S", "name": "S"} | body)


async def test_a_renewal_stack_is_any_three_mcs_approved_for_license_renewal(
    agency: AgencyClient,
) -> None:
    rule = {"approvedFor": "license_renewal", "count": 3}

    response = await _stack(
        agency, {"rule": rule, "purpose": "license_renewal", "windowDays": 5 * 365}
    )

    assert response.status_code == 201, response.text
    assert response.json()["rule"] == rule


async def test_a_coaching_role_is_two_stacks_and_an_interview(
    provider: Provider, agency: AgencyClient
) -> None:
    literacy, coaching = [
        (
            await _stack(
                agency, {"rule": {"achievement": (await provider.create_achievement())["id"]}}
            )
        ).json()
        for _ in range(2)
    ]
    defined = await agency.http.post(
        "/v1/agency/criteria", json={"key": "interview", "name": "Interview with the district"}
    )
    assert defined.status_code == 201, defined.text
    rule = {
        "all": [
            {"stack": literacy["id"].rsplit("/", 1)[1]},
            {"stack": coaching["id"]},
            {"criterion": "interview"},
        ]
    }

    response = await agency.http.post(
        "/v1/agency/lattices",
        json={"name": "Career lattice", "roles": [{"key": "coach", "name": "Coach", "rule": rule}]},
    )

    assert response.status_code == 201, response.text
    assert response.json()["roles"][0]["rule"] == {
        "all": [{"stack": literacy["id"]}, {"stack": coaching["id"]}, {"criterion": "interview"}]
    }


async def test_leaves_stand_where_they_mean_something(agency: AgencyClient) -> None:
    other_purpose = await _stack(
        agency, {"rule": {"approvedFor": "endorsement"}, "purpose": "license_renewal"}
    )
    criterion_in_a_stack = await _stack(agency, {"rule": {"criterion": "interview"}})
    unknown_criterion = await agency.http.post(
        "/v1/agency/lattices",
        json={
            "name": "L",
            "roles": [{"key": "a", "name": "A", "rule": {"all": [{"criterion": "nope"}]}}],
        },
    )

    assert [
        (answer.status_code, answer.json()["errors"][0]["field"])
        for answer in (other_purpose, criterion_in_a_stack, unknown_criterion)
    ] == [(422, "rule"), (422, "rule"), (422, "roles[0].rule")]


# --- the document describes, the engine decides ------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"achievement": 7}, "rule.achievement"),
        ({"all": []}, "rule.all"),
        ({"any": [{"achievement": "urn:x:1"}], "count": 2}, "rule.count"),
        ({"atLeast": 0, "of": ["urn:x:1"]}, "rule.atLeast"),
        ({"approvedFor": "license_renewal", "count": True}, "rule.count"),
        ({"approvedFor": "license_renewal", "count": 0}, "rule.count"),
        ({"neither": 1}, "rule"),
        ({"all": [{"all": [{"all": [{"achievement": None}]}]}]}, "rule.all[0].all[0].all[0]"),
    ],
)
async def test_a_rule_the_engine_refuses_is_a_422_naming_the_part(
    agency: AgencyClient, rule: dict[str, Any], field: str
) -> None:
    response = await _stack(agency, {"rule": rule})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith(field), response.text


async def test_what_the_engine_reads_the_document_does_not_refuse(agency: AgencyClient) -> None:
    # Keys the engine does not read are not part of the grammar, but no request fails on them
    # before the engine has read the rule: the schema describes, it does not validate.
    rule = {"approvedFor": "license_renewal", "note": "a renewal option"}

    response = await _stack(agency, {"rule": rule, "purpose": "license_renewal"})

    assert response.status_code == 201, response.text
    assert response.json()["rule"] == {"approvedFor": "license_renewal", "count": 1}


async def test_a_rule_nested_deeper_than_the_engine_reads_is_a_422(agency: AgencyClient) -> None:
    rule: dict[str, Any] = {"achievement": "urn:x:1"}
    for _ in range(MAX_RULE_DEPTH + 1):
        rule = {"all": [rule]}

    response = await _stack(agency, {"rule": rule})

    assert response.status_code == 422, response.text
    assert f"{MAX_RULE_DEPTH} levels" in response.json()["detail"]
