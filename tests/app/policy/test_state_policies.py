"""State policy, as a state would write it: "3 approved literacy MCs within 5 years renews"."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.identity import hash_identity
from keys.data_integrity import sign_document
from keys.multikey import did_key_for, did_key_verification_method
from tests.builders import unsigned_open_badge
from tests.conftest import AgencyClient, Provider

TEACHER = {"educatorId": "1234567", "state": "TX"}
LONG_AGO = "2015-01-01T00:00:00Z"


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _literacy_mcs(provider: Provider, count: int) -> list[dict[str, Any]]:
    return [await provider.create_achievement(name=f"Literacy MC {n}") for n in range(count)]


async def _approve(agency: AgencyClient, achievement_id: str, since: str = LONG_AGO) -> None:
    response = await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement_id,
            "purpose": "license_renewal",
            "effectiveFrom": since,
        },
    )
    assert response.status_code == 201, response.text


async def _award(provider: Provider, achievement: dict[str, Any], days_ago: int) -> dict[str, Any]:
    # validFrom in the past too: the badge existed then, as if issued on the day it was earned.
    response = await provider.issue(
        achievement["id"], recipient=TEACHER, awardedDate=_ago(days_ago), validFrom=_ago(days_ago)
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def _renewal_stack(agency: AgencyClient, achievements: list[dict[str, Any]]) -> str:
    response = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "LIT-RENEW",
            "name": "Literacy renewal",
            "rule": {"atLeast": 3, "of": [item["url"] for item in achievements]},
            "windowDays": 5 * 365,
            "purpose": "license_renewal",
        },
    )
    assert response.status_code == 201, response.text
    stack_id: str = response.json()["id"].rsplit("/", 1)[1]
    return stack_id


async def _evaluate(agency: AgencyClient, stack_id: str, **extra: Any) -> dict[str, Any]:
    response = await agency.http.post(
        "/v1/agency/evaluations", json={"educator": TEACHER, "stackId": stack_id, **extra}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _setup(provider: Provider, agency: AgencyClient, count: int = 4):
    mcs = await _literacy_mcs(provider, count)
    for item in mcs:
        await _approve(agency, item["url"])
    await agency.http.post("/v1/agency/educators", json=TEACHER | {"district": "Austin ISD"})
    return mcs, await _renewal_stack(agency, mcs)


async def test_three_approved_literacy_mcs_in_five_years_renew(
    provider: Provider, agency: AgencyClient
):
    mcs, stack = await _setup(provider, agency)
    for item, days in zip(mcs[:3], (100, 400, 1500), strict=True):
        await _award(provider, item, days)

    result = await _evaluate(agency, stack)

    assert result["met"] is True
    assert len(result["counted"]) == 3 and result["missing"] == []


async def test_a_revoked_mc_fails_the_renewal_with_the_reason(
    provider: Provider, agency: AgencyClient
):
    mcs, stack = await _setup(provider, agency)
    issued = [await _award(provider, item, 100) for item in mcs[:3]]
    await provider.http.post(
        f"/v1/credentials/{issued[0]['id']}/revoke", json={"reason": "plagiarised evidence"}
    )

    result = await _evaluate(agency, stack)

    assert result["met"] is False
    assert result["rejected"][0]["reason"].startswith("revoked on")
    assert result["missing"][0].startswith("1 more of:")


async def test_an_mc_older_than_the_window_does_not_count(provider: Provider, agency: AgencyClient):
    mcs, stack = await _setup(provider, agency)
    await _award(provider, mcs[0], 100)
    await _award(provider, mcs[1], 200)
    await _award(provider, mcs[2], 6 * 365)

    result = await _evaluate(agency, stack)

    assert result["met"] is False
    assert "window" in result["rejected"][0]["reason"]


async def test_an_mc_approved_after_it_was_earned_counts_from_its_approval(
    provider: Provider, agency: AgencyClient
):
    mcs = await _literacy_mcs(provider, 3)
    for item in mcs[:2]:
        await _approve(agency, item["url"])
    await _approve(agency, mcs[2]["url"], since=_ago(30))
    stack = await _renewal_stack(agency, mcs)
    # Only its own educators: an agency evaluates no one it has not registered.
    await agency.http.post("/v1/agency/educators", json=TEACHER)
    for item in mcs:
        await _award(provider, item, 200)

    before = await _evaluate(agency, stack, at=_ago(60))
    after = await _evaluate(agency, stack)

    assert before["met"] is False
    assert before["rejected"][0]["reason"].startswith("not approved for license_renewal")
    assert after["met"] is True


def _foreign_credential(
    achievement_id: str, email: str, types: list[str] | None = None
) -> dict[str, Any]:
    """An OB 3.0 credential from another issuer (a did:key), naming the teacher by e-mail."""
    key = Ed25519PrivateKey.generate()
    issuer = did_key_for(key.public_key())
    credential = unsigned_open_badge(issuer)
    if types is not None:
        credential["type"] = types
    credential["id"] = "urn:uuid:5b0e7f2a-0d6c-4f55-8d3e-7c1d2a9b0001"
    credential["validFrom"] = _ago(300)
    subject = credential["credentialSubject"]
    subject["achievement"]["id"] = achievement_id
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "salt": "pepper",
            "identityHash": hash_identity(email, "pepper"),
        }
    ]
    return sign_document(
        credential,
        key,
        did_key_verification_method(key.public_key()),
        datetime.now(UTC).replace(microsecond=0),
    )


async def test_another_issuers_credential_counts_once_verified_and_a_tampered_one_never(
    provider: Provider, agency: AgencyClient
):
    mcs = await _literacy_mcs(provider, 2)
    for item in mcs:
        await _approve(agency, item["url"])
    foreign_achievement = "https://provider.example.org/achievements/family-literacy"
    await _approve(agency, foreign_achievement)
    stack = await _renewal_stack(agency, [*mcs, {"url": foreign_achievement}])
    for item in mcs:
        await _award(provider, item, 100)
    good = _foreign_credential(foreign_achievement, "teacher@example.org")
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["achievement"]["name"] = "Changed after signing"
    educator = {"email": "teacher@example.org"} | TEACHER

    bad = await agency.http.post(
        "/v1/agency/submissions", json={"educator": educator, "credentials": [tampered]}
    )
    assert bad.json()["results"][0]["accepted"] is False
    assert (await _evaluate(agency, stack))["met"] is False
    ok = await agency.http.post(
        "/v1/agency/submissions", json={"educator": educator, "credentials": [good]}
    )

    assert ok.status_code == 201, ok.text
    assert ok.json()["results"][0] | {"id": None} == {
        "id": None,
        "accepted": True,
        "verdict": "verified",
        "namesEducator": True,
        "achievementId": foreign_achievement,
    }
    result = await _evaluate(agency, stack)
    assert result["met"] is True
    assert any("failed verification" in item["reason"] for item in result["rejected"])


async def test_a_verified_credential_that_is_no_open_badge_never_counts(
    provider: Provider, agency: AgencyClient
):
    """Any VC is verified, but only an Open Badge awarding an achievement is a submission."""
    mcs = await _literacy_mcs(provider, 2)
    for item in mcs:
        await _approve(agency, item["url"])
        await _award(provider, item, 100)
    foreign_achievement = "https://provider.example.org/achievements/family-literacy"
    await _approve(agency, foreign_achievement)
    stack = await _renewal_stack(agency, [*mcs, {"url": foreign_achievement}])
    plain = _foreign_credential(
        foreign_achievement, "teacher@example.org", types=["VerifiableCredential"]
    )
    educator = {"email": "teacher@example.org"} | TEACHER

    response = await agency.http.post(
        "/v1/agency/submissions", json={"educator": educator, "credentials": [plain]}
    )

    assert response.status_code == 201, response.text
    result = response.json()["results"][0]
    assert (result["verdict"], result["namesEducator"]) == ("verified", True)
    assert result["accepted"] is False
    assert (await _evaluate(agency, stack))["met"] is False


async def test_bad_stack_definitions_are_refused(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: Any
):
    from tests.conftest import make_agency

    mcs = await _literacy_mcs(provider, 2)
    for item in mcs:
        await _approve(agency, item["url"])
    url = "/v1/agency/stacks"
    unknown = await agency.http.post(
        url, json={"code": "X", "name": "X", "rule": {"achievement": "https://nowhere.example/a/1"}}
    )
    negative = await agency.http.post(
        url,
        json={"code": "X", "name": "X", "rule": {"achievement": mcs[0]["url"]}, "windowDays": -365},
    )
    first = (
        await agency.http.post(
            url, json={"code": "A", "name": "A", "rule": {"achievement": mcs[0]["url"]}}
        )
    ).json()
    second = (
        await agency.http.post(
            url,
            json={
                "code": "B",
                "name": "B",
                "rule": {"all": [{"stack": first["id"]}, {"achievement": mcs[1]["url"]}]},
            },
        )
    ).json()
    cycle = await agency.http.put(
        f"{url}/{first['id'].rsplit('/', 1)[1]}",
        json={"code": "A", "name": "A", "rule": {"stack": second["id"]}},
    )
    other = await make_agency(server, sessions, vault, "Another State")
    foreign_query = await other.http.post(
        "/v1/agency/evaluations",
        json={"educator": TEACHER, "stackId": first["id"].rsplit("/", 1)[1]},
    )

    assert (unknown.status_code, negative.status_code, cycle.status_code) == (422, 422, 422)
    assert "unknown achievement" in unknown.json()["detail"]
    assert negative.json()["errors"][0]["field"] == "windowDays"
    assert "cycle" in cycle.json()["detail"]
    assert foreign_query.status_code == 404
    await other.http.aclose()


async def test_stacks_and_lattices_are_public_documents(
    provider: Provider, agency: AgencyClient, public: Any
):
    mcs, stack_id = await _setup(provider, agency, 3)
    stack_url = f"/stacks/{stack_id}"
    lattice = await agency.http.post(
        "/v1/agency/lattices",
        json={
            "name": "Texas educator career lattice",
            "roles": [
                {
                    "key": "teacher-leader",
                    "name": "Teacher Leader",
                    "rule": {"stack": f"{public.base_url}{stack_url}"},
                    "precedes": ["coach"],
                },
                {
                    "key": "coach",
                    "name": "Instructional Coach",
                    "rule": {"all": [{"stack": f"{public.base_url}{stack_url}"}]},
                },
            ],
        },
    )

    document = (await public.get(stack_url)).json()
    page = await public.get(stack_url, headers={"Accept": "text/html"})
    role = await public.get(lattice.json()["roles"][1]["id"])

    assert lattice.status_code == 201, lattice.text
    assert document["achievements"] == [item["url"] for item in mcs]
    assert page.headers["content-type"].startswith("text/html")
    assert role.json()["name"] == "Instructional Coach"
