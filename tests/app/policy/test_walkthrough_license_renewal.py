"""The README walkthrough "A state runs license renewal", step for step, as one test.

Texas lets each LEA choose how its teachers renew: option 1, any 5 vetted MCs in 5 years,
or option 2, any 3. A provider submits its MCs for vetting and a teacher asks for one she
earned elsewhere; reviewers score them and approve. North ISD follows option 1, South ISD
option 2. Ana (South) renews with two MCs and the outside one, until its issuer revokes it;
Ben (North) does not renew until he moves to South. A teacher-leader role asks for the
renewal stack and National Board certification, and Carla holds it under hold harmless.
Every answer for an earlier date stays what it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from badges.issuers.issuers import KeyVault
from tests.app.foreign_issuer import ForeignIssuer, foreign_issuer
from tests.app.wallets.wallet_holder import signed_in_teacher
from tests.conftest import AgencyClient, Provider

SINCE = "2020-01-01T00:00:00Z"
FIVE_YEARS = 5 * 365


def _ago(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def other_state() -> Iterator[ForeignIssuer]:
    """A PD provider elsewhere: its own did:key and its own status list server."""
    with foreign_issuer() as issuer:
        yield issuer


async def _sent(client: httpx.AsyncClient, path: str, body: Any, status: int = 201) -> Any:
    response = await client.post(path, json=body)
    assert response.status_code == status, (path, response.text)
    return response.json()


async def _read(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def _vet(agency: AgencyClient, request_id: str) -> None:
    """A reviewer scores every criterion of the agency's rubric, then the agency approves."""
    rubric = await _read(agency.http, "/v1/agency/vetting/rubric")
    scores = {item["key"]: item["passing"] for item in rubric["criteria"]}
    review = {"scores": scores, "recommendation": "approve", "comment": "Meets the standards."}
    await _sent(agency.http, f"/v1/agency/vetting/{request_id}/reviews", review)
    decision = {"decision": "approved", "effectiveFrom": SINCE}
    await _sent(agency.http, f"/v1/agency/vetting/{request_id}/decision", decision, 200)


async def _requirement(agency: AgencyClient, educator: str, at: datetime | None = None) -> Any:
    params = {"at": _text(at)} if at else {}
    return await _read(
        agency.http, f"/v1/agency/educators/{educator}/requirements/license_renewal", **params
    )


async def test_a_state_runs_license_renewal(
    provider: Provider,
    agency: AgencyClient,
    other_state: ForeignIssuer,
    public: httpx.AsyncClient,
    server: str,
    sessions: Any,
    vault: KeyVault,
) -> None:
    ana = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    ben = {"educatorId": uuid.uuid4().hex[:7], "state": "TX"}
    carla = f"carla-{uuid.uuid4().hex[:8]}@example.org"

    # 1. Vetting. The provider submits four of its MCs for license renewal; a fifth it
    #    never submits. Ana asks for the MC she earned from a provider in another state.
    mcs = [await provider.create_achievement(name=f"Literacy MC {n}") for n in range(1, 6)]
    for mc in mcs[:4]:
        asked = await _sent(
            provider.http,
            "/v1/vetting-requests",
            {"agency": agency.slug, "purpose": "license_renewal", "achievementId": mc["id"]},
        )
        await _vet(agency, asked["id"])
    outside_mc = "https://pd.other-state.example/achievements/family-engagement"
    outside = other_state.award(ana, outside_mc, _ago(200))
    teacher = await signed_in_teacher(server, sessions, vault, ana)
    try:
        asked = await _sent(
            teacher,
            "/teacher/vetting-requests",
            {"agency": agency.slug, "purpose": "license_renewal", "credential": outside},
        )
    finally:
        await teacher.aclose()
    await _vet(agency, asked["id"])

    # The curated list is public: the five vetted MCs, the outside one by its badge's name.
    curated = await _read(public, f"/agencies/{agency.slug}/curated.json")
    renewal = next(item for item in curated["purposes"] if item["purpose"] == "license_renewal")
    listed = {item["achievementId"] for item in renewal["microCredentials"]}
    assert listed == {mc["url"] for mc in mcs[:4]} | {outside_mc}

    # 2. The rules: any 5 (option 1) or any 3 (option 2) vetted MCs within 5 years.
    stacks = {}
    for key, count in (("option-1", 5), ("option-2", 3)):
        stack = await _sent(
            agency.http,
            "/v1/agency/stacks",
            {
                "code": key.upper(),
                "name": f"Any {count} in 5 years",
                "rule": {"approvedFor": "license_renewal", "count": count},
                "windowDays": FIVE_YEARS,
                "purpose": "license_renewal",
            },
        )
        stacks[key] = stack["id"]
        option = {"purpose": "license_renewal", "key": key, "name": stack["name"]}
        await _sent(agency.http, "/v1/agency/options", option | {"stack": stack["id"]})

    # 3. The LEAs and the option each chose.
    for code, key in (("NORTH", "option-1"), ("SOUTH", "option-2")):
        lea = await _sent(agency.http, "/v1/agency/districts", {"code": code, "name": code})
        choice = {"purpose": "license_renewal", "option": key, "validFrom": SINCE}
        await _sent(agency.http, f"/v1/agency/districts/{lea['id']}/choices", choice)

    # 4. Educators and what they earned. Ana: two vetted MCs and the outside one, which the
    #    agency takes as a submission. Ben: three vetted MCs and the one never vetted.
    ana_id = (
        await _sent(
            agency.http,
            "/v1/agency/educators",
            {"email": ana, "district": "SOUTH", "since": SINCE},
        )
    )["id"]
    ben_id = (
        await _sent(
            agency.http, "/v1/agency/educators", ben | {"district": "NORTH", "since": SINCE}
        )
    )["id"]
    anas = []
    for mc in mcs[:2]:
        awarded = await provider.issue(
            mc["id"], recipient={"email": ana}, awardedDate=_text(_ago(100))
        )
        assert awarded.status_code == 201, awarded.text
        anas.append(awarded.json()["credential"])
    for mc in [*mcs[:3], mcs[4]]:
        awarded = await provider.issue(mc["id"], recipient=ben, awardedDate=_text(_ago(100)))
        assert awarded.status_code == 201, awarded.text
    submitted = await _sent(
        agency.http,
        "/v1/agency/submissions",
        {"educator": {"email": ana}, "credentials": [outside]},
    )
    assert submitted["results"][0]["accepted"] is True

    ben_now = await _requirement(agency, ben_id)
    assert (ben_now["status"], ben_now["option"]["key"]) == ("not_met", "option-1")
    assert ben_now["missing"] == ["2 more MCs approved for license_renewal"]

    # 5. The other state's provider revokes Ana's outside MC. A status read is reused for 5
    #    minutes, so the first question after the revocation is when Lattice sees it: from
    #    then on she does not renew (2 of 3); for any date before, she did (option 2, 3 MCs).
    before_revocation = datetime.now(UTC)
    other_state.revoke(outside)
    ana_now = await _requirement(agency, ana_id)
    assert (ana_now["status"], ana_now["option"]["key"]) == ("not_met", "option-2")
    assert [item["reason"][:18] for item in ana_now["rejected"]] == ["revoked by its iss"]
    ana_then = await _requirement(agency, ana_id, before_revocation)
    assert (ana_then["status"], len(ana_then["counted"])) == ("met", 3)

    # 6. Ben moves to South: option 2 applies to him from the move on, not before.
    before_move = datetime.now(UTC)
    moved = await agency.http.patch(f"/v1/agency/educators/{ben_id}", json={"district": "SOUTH"})
    assert moved.status_code == 200, moved.text
    assert (await _requirement(agency, ben_id))["status"] == "met"
    earlier = await _requirement(agency, ben_id, before_move)
    assert (earlier["status"], earlier["district"]["code"]) == ("not_met", "NORTH")

    # 7. The career lattice: a teacher leader renews under option 2's rule and is National
    #    Board certified. Carla was a teacher leader before the lattice: hold harmless.
    await _sent(
        agency.http,
        "/v1/agency/criteria",
        {"key": "national_board", "name": "National Board certification"},
    )
    lattice = await _sent(
        agency.http,
        "/v1/agency/lattices",
        {
            "name": "Texas career lattice",
            "roles": [
                {
                    "key": "teacher_leader",
                    "name": "Teacher leader",
                    "rule": {
                        "all": [{"stack": stacks["option-2"]}, {"criterion": "national_board"}]
                    },
                }
            ],
        },
    )
    carla_id = (
        await _sent(agency.http, "/v1/agency/educators", {"email": carla, "district": "SOUTH"})
    )["id"]
    await _sent(
        agency.http,
        f"/v1/agency/educators/{ben_id}/criteria",
        {"criterion": "national_board", "validFrom": SINCE, "evidence": "NBCT, 2019"},
    )
    await _sent(
        agency.http,
        f"/v1/agency/educators/{carla_id}/role-holds",
        {
            "latticeId": lattice["id"],
            "role": "teacher_leader",
            "basis": "District teacher leader since 2018",
            "validFrom": SINCE,
        },
    )
    lattice_id = lattice["id"].rsplit("/", 1)[1]
    run = await agency.http.post(f"/v1/agency/lattices/{lattice_id}/evaluate-all")
    assert run.status_code == 200, run.text
    holders = await _read(
        agency.http, f"/v1/agency/lattices/{lattice_id}/roles/teacher_leader/holders"
    )
    assert sorted(item["educator"] for item in holders["items"]) == sorted([ben_id, carla_id])

    # 8. Research data: per option, how many of its educators renew.
    for stack in stacks.values():
        ran = await agency.http.post(f"/v1/agency/stacks/{stack.rsplit('/', 1)[1]}/evaluate-all")
        assert ran.status_code == 200, ran.text
    report = await _read(
        agency.http,
        "/v1/agency/reports/options",
        purpose="license_renewal",
        by="option",
        period="year",
    )
    latest = {
        row["option"]: row
        for row in report["rows"]
        if row["period"] == report["rows"][-1]["period"]
    }
    assert (latest["option-2"]["educators"], latest["option-2"]["met"]) == (3, 1)

    # 9. Texas approves the provider itself: anyone checking one of its badges is told so.
    issuer = anas[0]["issuer"]["id"]
    await _sent(agency.http, "/v1/agency/providers", {"issuerId": issuer, "name": "Provider"})
    verified = await _sent(public, "/v1/verify", {"credential": anas[0]}, 200)
    assert verified["verdict"] == "verified"
    assert "has approved since" in verified["dimensions"]["issuer"]["message"]
