"""One identifier form everywhere (#13): every input that names an achievement or a stack
takes its UUID (as the API returns it in `id`) or its IRI alike, and answers the same.

Rules are stored naming IRIs whichever was sent. A UUID that names nothing is refused naming
the field: a 422 where the request would store or check it (an approval, a rule), a 404 where
it names what the request is about (the stack evaluated, the achievement whose holders are
listed, a path).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from tests.conftest import AgencyClient, Provider, make_agency

AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid_of(iri: str) -> str:
    return iri.rsplit("/", 1)[1]


@dataclass
class Agency:
    """An agency with two approved MCs its educator holds, and a stack of both."""

    provider: Provider
    agency: AgencyClient
    mcs: list[dict[str, Any]]  # each with `id` (its UUID) and `url` (its IRI)
    teacher: dict[str, str]
    stack: str  # its IRI

    @property
    def http(self) -> httpx.AsyncClient:
        return self.agency.http

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def stack_of(self, rule: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {"code": "S", "name": "Stack", "rule": rule, **extra}
        made: dict[str, Any] = await self.post("/v1/agency/stacks", body)
        return made


@pytest.fixture
async def world(provider: Provider, agency: AgencyClient) -> Agency:
    mcs = [await provider.create_achievement(name=f"Literacy MC {n}") for n in range(2)]
    teacher = {"educatorId": uuid.uuid4().hex[:12], "state": "TX"}
    made = Agency(provider, agency, mcs, teacher, "")
    for mc in mcs:
        await made.post(
            "/v1/agency/approvals",
            {"achievementId": mc["url"], "purpose": "license_renewal", "effectiveFrom": _ago(900)},
        )
        issued = await provider.issue(
            mc["id"], recipient=teacher, awardedDate=_ago(100), validFrom=_ago(100)
        )
        assert issued.status_code == 201, issued.text
    await made.post("/v1/agency/educators", teacher)
    rule = {"atLeast": 2, "of": [mc["url"] for mc in mcs]}
    made.stack = (await made.stack_of(rule, windowDays=365))["id"]
    return made


async def test_an_approval_names_its_achievement_by_uuid_or_iri(world: Agency) -> None:
    mc = world.mcs[0]
    body = {"purpose": "endorsement", "effectiveFrom": _ago(10)}

    by_uuid = await world.post("/v1/agency/approvals", body | {"achievementId": mc["id"]})
    by_iri = await world.post("/v1/agency/approvals", body | {"achievementId": mc["url"]})
    upper = await world.post("/v1/agency/approvals", body | {"achievementId": mc["id"].upper()})

    assert by_uuid["achievementId"] == by_iri["achievementId"] == upper["achievementId"]
    assert by_iri["achievementId"] == mc["url"]
    assert {**by_uuid, "id": ""} == {**by_iri, "id": ""}


async def test_a_stack_rule_names_achievements_and_stacks_by_uuid_or_iri(world: Agency) -> None:
    one, two = world.mcs
    by_uuid = await world.stack_of(
        {
            "all": [
                {"stack": _uuid_of(world.stack)},
                {"any": [{"achievement": one["id"]}, {"atLeast": 1, "of": [two["id"]]}]},
            ]
        }
    )
    by_iri = await world.stack_of(
        {
            "all": [
                {"stack": world.stack},
                {"any": [{"achievement": one["url"]}, {"atLeast": 1, "of": [two["url"]]}]},
            ]
        }
    )

    assert by_uuid["rule"] == by_iri["rule"]
    assert by_uuid["rule"]["all"][0] == {"stack": world.stack}
    assert by_uuid["achievements"] == by_iri["achievements"] == [one["url"], two["url"]]


async def test_one_achievement_named_both_ways_in_a_group_is_named_twice(world: Agency) -> None:
    mc = world.mcs[0]

    response = await world.http.post(
        "/v1/agency/stacks",
        json={"code": "D", "name": "D", "rule": {"atLeast": 1, "of": [mc["id"], mc["url"]]}},
    )

    assert response.status_code == 422, response.text
    assert "same item twice" in response.json()["detail"]


async def test_a_revision_names_them_either_way(world: Agency) -> None:
    stack_id = _uuid_of(world.stack)
    body = {"code": "S", "name": "Stack", "windowDays": 365}

    by_uuid = await world.http.put(
        f"/v1/agency/stacks/{stack_id}",
        json=body | {"rule": {"atLeast": 2, "of": [mc["id"] for mc in world.mcs]}},
    )
    latest = _uuid_of(by_uuid.json()["id"])
    by_iri = await world.http.put(
        f"/v1/agency/stacks/{latest}",
        json=body | {"rule": {"atLeast": 2, "of": [mc["url"] for mc in world.mcs]}},
    )

    assert (by_uuid.status_code, by_iri.status_code) == (201, 201), by_uuid.text
    assert by_uuid.json()["rule"] == by_iri.json()["rule"]
    assert by_iri.json()["rule"] == {"any": [{"achievement": mc["url"]} for mc in world.mcs]} | {
        "count": 2
    }


async def test_a_lattice_role_names_its_stacks_and_achievements_either_way(world: Agency) -> None:
    def lattice(stack: str, mc: str) -> dict[str, Any]:
        rule = {"all": [{"stack": stack}, {"achievement": mc}]}
        return {"name": "Career lattice", "roles": [{"key": "lead", "name": "Lead", "rule": rule}]}

    mc = world.mcs[0]
    by_uuid = await world.post("/v1/agency/lattices", lattice(_uuid_of(world.stack), mc["id"]))
    by_iri = await world.post("/v1/agency/lattices", lattice(world.stack, mc["url"]))

    assert by_uuid["roles"][0]["rule"] == by_iri["roles"][0]["rule"]
    assert by_iri["roles"][0]["rule"] == {
        "all": [{"stack": world.stack}, {"achievement": mc["url"]}]
    }


async def test_an_evaluation_names_its_stack_and_lattice_either_way(world: Agency) -> None:
    role = {"key": "lead", "name": "Lead", "rule": {"stack": world.stack}}
    lattice = (await world.post("/v1/agency/lattices", {"name": "L", "roles": [role]}))["id"]
    ask = {"educator": world.teacher, "at": AT}

    answers = {
        name: await world.post("/v1/agency/evaluations", ask | target, status=200)
        for name, target in {
            "stack by uuid": {"stackId": _uuid_of(world.stack)},
            "stack by iri": {"stackId": world.stack},
            "lattice by uuid": {"latticeId": _uuid_of(lattice)},
            "lattice by iri": {"latticeId": lattice, "role": "lead"},
        }.items()
    }

    assert answers["stack by uuid"] == answers["stack by iri"]
    assert answers["stack by iri"]["met"] is True
    assert answers["lattice by uuid"] == answers["lattice by iri"]
    assert answers["lattice by iri"]["roles"][0]["met"] is True


async def test_a_stack_credential_and_a_clr_name_their_stack_either_way(world: Agency) -> None:
    ask = {"educator": world.teacher}
    awarded = [
        await world.post("/v1/agency/stack-credentials", ask | {"stackId": stack})
        for stack in (_uuid_of(world.stack), world.stack)
    ]
    records = [
        await world.post("/v1/agency/clr", ask | {"stackId": stack})
        for stack in (_uuid_of(world.stack), world.stack)
    ]

    def evidence(issued: dict[str, Any]) -> list[str]:
        return sorted(item["id"] for item in issued["credential"]["evidence"])

    def constituents(issued: dict[str, Any]) -> int:
        return len(issued["credential"]["credentialSubject"]["verifiableCredential"])

    assert evidence(awarded[0]) == evidence(awarded[1]) and len(evidence(awarded[0])) == 2
    assert constituents(records[0]) == constituents(records[1]) == 2


async def test_holders_of_an_achievement_are_asked_either_way(world: Agency) -> None:
    mc = world.mcs[0]

    answers = [
        await world.http.get("/v1/agency/holders", params={"achievementId": named, "at": AT})
        for named in (mc["id"], mc["url"])
    ]

    assert [answer.status_code for answer in answers] == [200, 200], answers[0].text
    assert answers[0].json() == answers[1].json()
    assert len(answers[0].json()["items"]) == 1


async def test_expiring_completions_are_asked_of_a_stack_either_way(world: Agency) -> None:
    run = await world.http.post(f"/v1/agency/stacks/{_uuid_of(world.stack)}/evaluate-all")
    assert run.status_code == 200, run.text

    answers = [
        await world.http.get(
            "/v1/agency/expiring", params={"days": 400, "stackId": named, "at": AT}
        )
        for named in (_uuid_of(world.stack), world.stack)
    ]

    assert [answer.status_code for answer in answers] == [200, 200], answers[0].text
    assert answers[0].json() == answers[1].json()
    assert [item["target"] for item in answers[0].json()["items"]] == [world.stack]


async def test_a_uuid_that_names_nothing_is_refused_naming_the_field(world: Agency) -> None:
    nothing = str(uuid.uuid4())
    teacher = world.teacher
    http = world.http
    answers = {
        "approval": await http.post(
            "/v1/agency/approvals",
            json={"achievementId": nothing, "purpose": "endorsement", "effectiveFrom": AT},
        ),
        "stack rule": await http.post(
            "/v1/agency/stacks",
            json={"code": "N", "name": "N", "rule": {"all": [{"achievement": nothing}]}},
        ),
        "stack rule of": await http.post(
            "/v1/agency/stacks",
            json={"code": "N", "name": "N", "rule": {"atLeast": 1, "of": [nothing]}},
        ),
        "role rule": await http.post(
            "/v1/agency/lattices",
            json={"name": "L", "roles": [{"key": "a", "name": "A", "rule": {"stack": nothing}}]},
        ),
        "evaluation": await http.post(
            "/v1/agency/evaluations", json={"educator": teacher, "stackId": nothing}
        ),
        "evaluation lattice": await http.post(
            "/v1/agency/evaluations", json={"educator": teacher, "latticeId": nothing}
        ),
        "award": await http.post(
            "/v1/agency/stack-credentials", json={"educator": teacher, "stackId": nothing}
        ),
        "holders": await http.get("/v1/agency/holders", params={"achievementId": nothing}),
        "expiring": await http.get("/v1/agency/expiring", params={"days": 5, "stackId": nothing}),
        "revision path": await http.put(
            f"/v1/agency/stacks/{nothing}",
            json={"code": "N", "name": "N", "rule": {"achievement": world.mcs[0]["url"]}},
        ),
    }

    assert {name: (answer.status_code, _field(answer)) for name, answer in answers.items()} == {
        "approval": (422, "achievementId"),
        "stack rule": (422, "rule.all[0].achievement"),
        "stack rule of": (422, "rule.of[0]"),
        "role rule": (422, "roles[0].rule.stack"),
        "evaluation": (404, "stackId"),
        "evaluation lattice": (404, "latticeId"),
        "award": (404, "stackId"),
        "holders": (404, "achievementId"),
        "expiring": (404, "stackId"),
        "revision path": (404, "stackId"),
    }
    for answer in answers.values():
        assert answer.headers["content-type"] == "application/problem+json"


def _field(answer: httpx.Response) -> str | None:
    errors = answer.json().get("errors") or [{}]
    field: str | None = errors[0].get("field")
    return field


@pytest.mark.parametrize("value", ["literacy-mc-1", "6f1c7a52", "https://x.example/a b", "a\x00:b"])
async def test_neither_a_uuid_nor_an_iri_is_a_422_naming_the_field(
    world: Agency, value: str
) -> None:
    answers = {
        "achievementId": await world.http.post(
            "/v1/agency/approvals",
            json={"achievementId": value, "purpose": "endorsement", "effectiveFrom": AT},
        ),
        "rule.stack": await world.http.post(
            "/v1/agency/stacks", json={"code": "N", "name": "N", "rule": {"stack": value}}
        ),
        "stackId": await world.http.post(
            "/v1/agency/evaluations", json={"educator": world.teacher, "stackId": value}
        ),
    }

    for field, answer in answers.items():
        assert (answer.status_code, _field(answer)) == (422, field), answer.text


async def test_another_agencys_stack_is_unknown_by_uuid_as_by_iri(
    world: Agency, server: str, sessions: async_sessionmaker[AsyncSession], vault: KeyVault
) -> None:
    other = await make_agency(server, sessions, vault, "Another State")
    try:
        answers = [
            await other.http.post(
                "/v1/agency/stacks", json={"code": "O", "name": "O", "rule": {"stack": named}}
            )
            for named in (_uuid_of(world.stack), world.stack)
        ]
    finally:
        await other.http.aclose()

    assert [(answer.status_code, _field(answer)) for answer in answers] == [
        (422, "rule.stack"),
        (422, "rule.stack"),
    ]


async def test_an_award_names_its_achievement_by_uuid_or_iri_alike(provider: Provider) -> None:
    achievement = await provider.create_achievement(name="Questioning strategies")
    by_uuid = await provider.issue(achievement["id"])
    by_iri = await provider.issue(achievement["url"])
    assert by_uuid.status_code == by_iri.status_code == 201, by_iri.text
    named = [
        response.json()["credential"]["credentialSubject"]["achievement"]["id"]
        for response in (by_uuid, by_iri)
    ]
    assert named == [achievement["url"], achievement["url"]]

    elsewhere = await provider.issue("https://elsewhere.example/achievements/" + achievement["id"])
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["field"] == "achievementId"


async def test_a_retry_may_name_the_achievement_the_other_way(provider: Provider) -> None:
    """The same award, its achievement spelt as UUID then as IRI, is the same request."""
    achievement = await provider.create_achievement(name="Wait time")
    key = {"Idempotency-Key": f"retry-{achievement['id']}"}
    body = {"recipient": {"email": "teacher@example.org"}}
    first = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials",
        json=body | {"achievementId": achievement["id"]},
        headers=key,
    )
    again = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials",
        json=body | {"achievementId": achievement["url"]},
        headers=key,
    )
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
