"""The curated list is public: what an agency has approved, per purpose, as of a date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from badges.policy.agencies import agency_of
from storage.models import VettingRequest
from storage.session import transaction
from tests.conftest import AgencyClient, Provider
from tests.verification.support import DidKeyIssuer

LONG_AGO = "2015-01-01T00:00:00Z"
OUTSIDE_MC = "https://district9.example/achievements/close-reading"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _decide(
    agency: AgencyClient,
    achievement_id: str,
    purpose: str = "license_renewal",
    decision: str = "approved",
    since: str = LONG_AGO,
) -> None:
    response = await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement_id,
            "purpose": purpose,
            "decision": decision,
            "effectiveFrom": since,
        },
    )
    assert response.status_code == 201, response.text


async def _curated(public: httpx.AsyncClient, agency: AgencyClient, **params: str) -> Any:
    response = await public.get(f"/agencies/{agency.slug}/curated.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _mcs(listing: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    [found] = [item for item in listing["purposes"] if item["purpose"] == purpose]
    mcs: list[dict[str, Any]] = found["microCredentials"]
    return mcs


async def test_the_feed_lists_each_approved_mc_with_its_provider_per_purpose(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient, settings: Settings
):
    renewal = await provider.create_achievement(name="Close Reading")
    declined = await provider.create_achievement(name="Not Good Enough")
    await _decide(agency, renewal["url"])
    await _decide(agency, renewal["url"], purpose="endorsement", since="2025-02-01T00:00:00Z")
    await _decide(agency, declined["url"], decision="declined")
    await _decide(agency, declined["url"], purpose="endorsement", decision="proposed")

    listing = await _curated(public, agency)

    assert listing["agency"] == {
        "slug": agency.slug,
        "name": "Texas Education Agency",
        "state": "TX",
        "profile": f"{settings.public_url}/issuers/{agency.slug}",
    }
    names = {item["purpose"]: item["name"] for item in listing["purposes"]}
    assert names["professional_learning"] == "Curated professional development"
    assert _mcs(listing, "license_renewal") == [
        {
            "achievementId": renewal["url"],
            "name": "Close Reading",
            "provider": "Digital Promise",
            "approvedSince": "2015-01-01T00:00:00Z",
            "approvedUntil": None,
        }
    ]
    assert [mc["approvedSince"] for mc in _mcs(listing, "endorsement")] == ["2025-02-01T00:00:00Z"]
    assert _mcs(listing, "advancement") == []


async def test_one_purpose_and_the_approved_providers(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    mc = await provider.create_achievement(name="Close Reading")
    await _decide(agency, mc["url"])
    issuer = DidKeyIssuer()
    response = await agency.http.post(
        "/v1/agency/providers",
        json={"issuerId": issuer.did, "name": "District 9 PD", "url": "https://d9.example/"},
    )
    assert response.status_code == 201, response.text

    listing = await _curated(public, agency, purpose="license_renewal")

    assert [item["purpose"] for item in listing["purposes"]] == ["license_renewal"]
    assert listing["providers"] == [
        {
            "issuerId": issuer.did,
            "name": "District 9 PD",
            "url": "https://d9.example/",
            "approvedSince": response.json()["validFrom"],
        }
    ]


async def test_an_outside_mc_is_named_by_its_vetting_request_else_by_its_iri(
    agency: AgencyClient, public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
):
    unnamed = f"https://elsewhere.example/achievements/{uuid.uuid4()}"
    async with transaction(sessions) as session:
        found = await agency_of(session, agency.issuer)
        assert found is not None
        session.add(
            VettingRequest(
                agency_id=found.id,
                purpose="license_renewal",
                achievement_iri=OUTSIDE_MC,
                name="Close Reading (District 9)",
                provider="District 9 PD",
                requested_by_kind="teacher",
                requested_by="teacher-1",
                state="approved",
            )
        )
    await _decide(agency, OUTSIDE_MC)
    await _decide(agency, unnamed)

    listed = _mcs(await _curated(public, agency), "license_renewal")
    mcs = {mc["achievementId"]: mc for mc in listed}

    assert (mcs[OUTSIDE_MC]["name"], mcs[OUTSIDE_MC]["provider"]) == (
        "Close Reading (District 9)",
        "District 9 PD",
    )
    assert (mcs[unnamed]["name"], mcs[unnamed]["provider"]) == (unnamed, None)


async def test_the_list_of_a_past_date_keeps_its_answer_after_later_withdrawals(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    mc = await provider.create_achievement(name="Close Reading")
    await _decide(agency, mc["url"])
    issuer = DidKeyIssuer()
    approved = await agency.http.post(
        "/v1/agency/providers", json={"issuerId": issuer.did, "name": "District 9 PD"}
    )
    t1 = _stamp(datetime.now(UTC))
    before = await public.get(f"/agencies/{agency.slug}/curated.json", params={"at": t1})

    # Withdrawn from the very start, and the provider too: decisions recorded after T1.
    await _decide(agency, mc["url"], decision="declined")
    await agency.http.post(f"/v1/agency/providers/{approved.json()['id']}/withdraw")
    again = await public.get(f"/agencies/{agency.slug}/curated.json", params={"at": t1})
    now = await _curated(public, agency)

    assert [item["name"] for item in _mcs(before.json(), "license_renewal")] == ["Close Reading"]
    assert again.content == before.content
    assert again.headers["etag"] == before.headers["etag"]
    assert _mcs(now, "license_renewal") == [] and now["providers"] == []


async def test_an_unchanged_list_is_not_sent_again(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    mc = await provider.create_achievement(name="Close Reading")
    await _decide(agency, mc["url"])
    path = f"/agencies/{agency.slug}/curated.json"

    first = await public.get(path)
    unchanged = await public.get(path, headers={"If-None-Match": first.headers["etag"]})
    await _decide(agency, mc["url"], purpose="advancement")
    changed = await public.get(path, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "public, max-age=60"
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert changed.status_code == 200
    past = await public.get(path, params={"at": "2020-01-01T00:00:00Z"})
    assert past.headers["cache-control"] == "public, max-age=3600"


async def test_the_page_names_purposes_in_plain_words(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    mc = await provider.create_achievement(name="Close Reading <in> Grade 3")
    await _decide(agency, mc["url"], purpose="professional_learning")

    page = await public.get(f"/agencies/{agency.slug}/curated")
    one = await public.get(
        f"/agencies/{agency.slug}/curated", params={"purpose": "professional_learning"}
    )

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Micro-credentials approved by Texas Education Agency (TX)" in page.text
    assert "Curated professional development" in page.text
    assert "License renewal" in page.text
    assert "Close Reading &lt;in&gt; Grade 3" in page.text
    assert "Digital Promise" in page.text
    assert "License renewal" not in one.text.split("</nav>", 1)[1]


async def test_unknown_agencies_purposes_and_dates_are_problems(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    missing = await public.get("/agencies/no-such-agency/curated.json")
    a_provider = await public.get(f"/agencies/{provider.slug}/curated")
    purpose = await public.get(
        f"/agencies/{agency.slug}/curated.json", params={"purpose": "knitting"}
    )
    undated = await public.get(f"/agencies/{agency.slug}/curated.json", params={"at": "2025-01-01"})
    zoneless = await public.get(
        f"/agencies/{agency.slug}/curated", params={"at": "2025-01-01T00:00:00"}
    )

    for response, status in (
        (missing, 404),
        (a_provider, 404),
        (purpose, 422),
        (undated, 422),
        (zoneless, 422),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert purpose.json()["errors"][0]["field"] == "purpose"
    assert undated.json()["errors"][0]["field"] == "at"
