"""Rules as states write them: "any 3 MCs approved for license renewal", roles that also ask
for National Board certification or an interview, and hold harmless for those who held a
role before the lattice. One evaluation and the bulk holders agree, and every answer for a
past date stays what it was after a record is withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import AgencyClient, Provider

TEACHER = {"educatorId": "7654321", "state": "TX"}


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def _approve(agency: AgencyClient, iri: str, purpose: str = "license_renewal") -> None:
    body = {"achievementId": iri, "purpose": purpose, "effectiveFrom": "2015-01-01T00:00:00Z"}
    await _created(agency.http, "/v1/agency/approvals", body)


async def _award(provider: Provider, achievement: dict[str, Any], days_ago: int) -> None:
    response = await provider.issue(
        achievement["id"], recipient=TEACHER, awardedDate=_ago(days_ago), validFrom=_ago(days_ago)
    )
    assert response.status_code == 201, response.text


async def _educator(agency: AgencyClient) -> str:
    educator = await _created(agency.http, "/v1/agency/educators", TEACHER)
    return str(educator["id"])


async def _pool_stack(agency: AgencyClient, count: int) -> str:
    stack = await _created(
        agency.http,
        "/v1/agency/stacks",
        {
            "code": "RENEW",
            "name": "License renewal",
            "rule": {"approvedFor": "license_renewal", "count": count},
            "windowDays": 5 * 365,
            "purpose": "license_renewal",
        },
    )
    return str(stack["id"])


async def _evaluate(agency: AgencyClient, **target: Any) -> dict[str, Any]:
    response = await agency.http.post(
        "/v1/agency/evaluations", json={"educator": TEACHER, **target}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_any_n_approved_counts_an_approval_made_after_the_stack(
    provider: Provider, agency: AgencyClient
) -> None:
    mcs = [await provider.create_achievement(name=f"Pool MC {n}") for n in range(3)]
    await _approve(agency, mcs[0]["url"])
    await _educator(agency)
    for item in mcs:
        await _award(provider, item, 100)
    stack = await _pool_stack(agency, 2)

    first = await _evaluate(agency, stackId=stack)
    assert first["met"] is False
    assert first["missing"] == ["1 more MCs approved for license_renewal"]

    # No revision of the stack: the new approval counts at once.
    await _approve(agency, mcs[2]["url"])
    second = await _evaluate(agency, stackId=stack)
    assert second["met"] is True
    counted = {item["achievementId"] for item in second["counted"]}
    assert counted == {mcs[0]["url"], mcs[2]["url"]}


async def test_a_pool_belongs_in_a_stack_of_its_purpose_and_criteria_in_roles(
    agency: AgencyClient,
) -> None:
    await _created(agency.http, "/v1/agency/criteria", {"key": "interview", "name": "Interview"})
    bad = [
        {"code": "X", "name": "X", "rule": {"approvedFor": "license_renewal", "count": 2}},
        {
            "code": "X",
            "name": "X",
            "purpose": "endorsement",
            "rule": {"approvedFor": "license_renewal", "count": 2},
        },
        {"code": "X", "name": "X", "rule": {"criterion": "interview"}},
        {"code": "X", "name": "X", "rule": {"approvedFor": "license_renewal", "count": 0}},
        {"code": "X", "name": "X", "rule": {"approvedFor": "no_such_purpose", "count": 1}},
    ]
    for body in bad:
        response = await agency.http.post("/v1/agency/stacks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for rule in ({"criterion": "no_such_criterion"}, {"approvedFor": "advancement", "count": 1}):
        response = await agency.http.post(
            "/v1/agency/lattices",
            json={"name": "L", "roles": [{"key": "coach", "name": "Coach", "rule": rule}]},
        )
        assert response.status_code == 422, (rule, response.text)


async def test_the_states_own_purpose_is_a_purpose_like_the_six(agency: AgencyClient) -> None:
    listed = (await agency.http.get("/v1/agency/purposes")).json()
    assert [item["key"] for item in listed if item["standard"]] == [
        "educator_preparation",
        "initial_certification",
        "professional_learning",
        "license_renewal",
        "endorsement",
        "advancement",
    ]
    own = {"key": "teacher_leader_stipend", "name": "Teacher leader stipend"}
    await _created(agency.http, "/v1/agency/purposes", own)
    again = await agency.http.post("/v1/agency/purposes", json=own)
    assert again.status_code == 409
    approval = {
        "achievementId": "https://provider.example/achievements/1",
        "purpose": "teacher_leader_stipend",
        "effectiveFrom": "2020-01-01T00:00:00Z",
    }
    await _created(agency.http, "/v1/agency/approvals", approval)
    unknown = await agency.http.post(
        "/v1/agency/approvals", json=approval | {"purpose": "teacher_leader_stipnd"}
    )
    assert unknown.status_code == 422
    assert "teacher_leader_stipend" in unknown.json()["detail"]


async def _coaching(provider: Provider, agency: AgencyClient) -> tuple[str, str]:
    """A coaching stack of one MC she holds, and a lattice whose coach role needs the stack
    and an interview."""
    mc = await provider.create_achievement(name="Coaching cycles")
    await _award(provider, mc, 60)
    stack = await _created(
        agency.http,
        "/v1/agency/stacks",
        {"code": "COACH", "name": "Coaching", "rule": {"achievement": mc["url"]}},
    )
    await _created(
        agency.http,
        "/v1/agency/criteria",
        {"key": "interview", "name": "Coaching interview", "description": "A panel interview."},
    )
    lattice = await _created(
        agency.http,
        "/v1/agency/lattices",
        {
            "name": "Career lattice",
            "roles": [
                {
                    "key": "coach",
                    "name": "Instructional coach",
                    "rule": {"all": [{"stack": stack["id"]}, {"criterion": "interview"}]},
                },
                {"key": "mentor", "name": "Mentor", "rule": {"criterion": "interview"}},
            ],
        },
    )
    return str(lattice["id"]), str(lattice["id"]).rsplit("/", 1)[1]


async def _role(agency: AgencyClient, lattice: str, key: str, at: str | None = None) -> Any:
    extra = {"at": at} if at else {}
    found = await _evaluate(agency, latticeId=lattice, role=key, **extra)
    return found["roles"][0]


async def _role_holders(agency: AgencyClient, lattice_id: str, key: str) -> list[str]:
    run = await agency.http.post(f"/v1/agency/lattices/{lattice_id}/evaluate-all")
    assert run.status_code == 200, run.text
    response = await agency.http.get(f"/v1/agency/lattices/{lattice_id}/roles/{key}/holders")
    assert response.status_code == 200, response.text
    return [item["educator"] for item in response.json()["items"]]


async def test_a_role_asks_for_a_recorded_criterion_beside_its_stacks(
    provider: Provider, agency: AgencyClient
) -> None:
    educator = await _educator(agency)
    lattice, lattice_id = await _coaching(provider, agency)

    before = await _role(agency, lattice, "coach")
    assert before["met"] is False
    assert before["missing"] == ["Coaching interview (recorded by the agency)"]
    assert await _role_holders(agency, lattice_id, "coach") == []

    recorded = await _created(
        agency.http,
        f"/v1/agency/educators/{educator}/criteria",
        {"criterion": "interview", "validFrom": _ago(30), "evidence": "Panel of three, passed."},
    )
    after = await _role(agency, lattice, "coach")
    assert after["met"] is True
    assert sorted(item["kind"] for item in after["counted"]) == ["credential", "criterion"]
    assert await _role_holders(agency, lattice_id, "coach") == [educator]

    # Withdrawn from now on: today she no longer holds the role; ten days ago she did.
    withdrawn = await agency.http.post(
        f"/v1/agency/educators/{educator}/criteria/{recorded['id']}/withdrawal",
        json={"reason": "recorded for the wrong educator"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await _role(agency, lattice, "coach"))["met"] is False
    assert (await _role(agency, lattice, "coach", at=_ago(10)))["met"] is True
    assert await _role_holders(agency, lattice_id, "coach") == []
    again = await agency.http.post(
        f"/v1/agency/educators/{educator}/criteria/{recorded['id']}/withdrawal",
        json={"reason": "twice"},
    )
    assert again.status_code == 409


async def test_hold_harmless_keeps_a_role_held_another_way(
    provider: Provider, agency: AgencyClient
) -> None:
    educator = await _educator(agency)
    lattice, lattice_id = await _coaching(provider, agency)
    assert (await _role(agency, lattice, "coach"))["met"] is False
    hold = await agency.http.post(
        f"/v1/agency/educators/{educator}/role-holds",
        json={
            "latticeId": lattice,
            "role": "coach",
            "basis": "District instructional coach since 2019",
            "validFrom": _ago(40),
        },
    )
    assert hold.status_code == 201, hold.text
    held = await _role(agency, lattice, "coach")
    assert held["met"] is True
    assert [item["kind"] for item in held["counted"]] == ["holdHarmless"]
    assert (await _role(agency, lattice, "coach", at=_ago(50)))["met"] is False
    assert await _role_holders(agency, lattice_id, "coach") == [educator]

    records = (await agency.http.get(f"/v1/agency/educators/{educator}/records")).json()
    assert [item["basis"] for item in records["roleHolds"]] == [
        "District instructional coach since 2019"
    ]
