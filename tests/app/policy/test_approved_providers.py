"""Known issuers: an agency's approved providers, and the verifier that names them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from badges.policy.agencies import agency_of
from badges.policy.approved_providers import ApprovedProviders
from storage.models import ApprovedProvider
from storage.session import transaction
from tests.conftest import AgencyClient, Provider, make_agency
from tests.verification.support import DidKeyIssuer

APPROVED_BY_TEXAS = "issued by a provider the Texas Education Agency (TX) has approved since"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _approve(agency: AgencyClient, issuer_id: str, **fields: Any) -> dict[str, Any]:
    body = {"issuerId": issuer_id, "name": "Digital Promise", **fields}
    response = await agency.http.post("/v1/agency/providers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _issued(provider: Provider) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"])
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["credential"]
    return credential


async def _issuer_dimension(public: httpx.AsyncClient, credential: dict[str, Any]) -> Any:
    response = await public.post("/v1/verify", json={"credential": credential})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["verdict"] == "verified", report["reason"]
    return report["dimensions"]["issuer"]


async def test_the_verifier_names_the_agency_that_approved_the_provider_until_it_withdraws(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    credential = await _issued(provider)
    did = credential["issuer"]["id"]
    assert APPROVED_BY_TEXAS not in (await _issuer_dimension(public, credential))["message"]

    approved = await _approve(agency, did, validFrom="2025-01-01T00:00:00Z")
    known = await _issuer_dimension(public, credential)

    assert known["state"] == "known"
    assert f"{APPROVED_BY_TEXAS} 2025-01-01" in known["message"]
    assert "listed by this Lattice service" in known["message"]  # both are told

    before = _stamp(datetime.now(UTC))
    withdrawn = await agency.http.post(f"/v1/agency/providers/{approved['id']}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    after = await _issuer_dimension(public, credential)

    assert APPROVED_BY_TEXAS not in after["message"]
    assert after["state"] == "known"  # still this service's own issuer, as before
    today = await agency.http.get("/v1/agency/providers")
    then = await agency.http.get("/v1/agency/providers", params={"at": before})
    assert did not in {item["issuerId"] for item in today.json()}
    [period] = [item for item in then.json() if item["issuerId"] == did]
    assert period["validFrom"].startswith("2025-01-01")
    assert period["validUntil"] == withdrawn.json()["validUntil"] is not None


async def test_a_foreign_issuer_is_known_only_while_an_agency_approves_it(
    agency: AgencyClient, public: httpx.AsyncClient
):
    issuer = DidKeyIssuer()
    credential = issuer.issue()

    unlisted = await _issuer_dimension(public, credential)
    await _approve(agency, issuer.did, name="District 9 PD")
    listed = await _issuer_dimension(public, credential)

    # Unlisted stays as it always was: neither known nor suspect.
    assert unlisted["state"] == "not_checked"
    assert "no issuer registry is configured" in unlisted["message"]
    assert listed["state"] == "known"
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert listed["message"] == f"{issuer.did} is {APPROVED_BY_TEXAS} {today}"


async def test_every_agency_that_approves_the_issuer_is_named(
    agency: AgencyClient,
    public: httpx.AsyncClient,
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    vault: KeyVault,
):
    other = await make_agency(server, sessions, vault, "Oklahoma State Department of Education")
    issuer = DidKeyIssuer()
    try:
        await _approve(agency, issuer.did, validFrom="2025-03-01T00:00:00Z")
        await _approve(other, issuer.did, validFrom="2024-08-01T00:00:00Z")
        message = (await _issuer_dimension(public, issuer.issue()))["message"]
    finally:
        await other.http.aclose()

    assert f"{APPROVED_BY_TEXAS} 2025-03-01" in message
    # make_agency registers every agency in TX; the name is what tells them apart.
    assert "the Oklahoma State Department of Education (TX) has approved since 2024-08-01" in (
        message
    )


async def test_a_provider_approved_later_is_not_known_yet(
    agency: AgencyClient, public: httpx.AsyncClient
):
    issuer = DidKeyIssuer()
    await _approve(agency, issuer.did, validFrom=_stamp(datetime.now(UTC) + timedelta(days=30)))

    assert (await _issuer_dimension(public, issuer.issue()))["state"] == "not_checked"


async def test_the_verify_page_says_it_too(agency: AgencyClient, public: httpx.AsyncClient):
    issuer = DidKeyIssuer()
    await _approve(agency, issuer.did)

    page = await public.post("/verify", data={"credential": json.dumps(issuer.issue())})

    assert page.status_code == 200
    assert APPROVED_BY_TEXAS in page.text


async def test_one_period_at_a_time_per_issuer(agency: AgencyClient):
    issuer = DidKeyIssuer()
    first = await _approve(
        agency, issuer.did, validFrom="2024-01-01T00:00:00Z", validUntil="2025-01-01T00:00:00Z"
    )

    overlapping = await agency.http.post(
        "/v1/agency/providers",
        json={"issuerId": issuer.did, "name": "D9", "validFrom": "2024-06-01T00:00:00Z"},
    )
    after = await _approve(agency, issuer.did, validFrom="2025-01-01T00:00:00Z")

    assert overlapping.status_code == 409
    assert first["id"] in overlapping.json()["detail"]
    assert after["validUntil"] is None


async def test_a_withdrawal_never_reaches_back(agency: AgencyClient):
    approved = await _approve(agency, DidKeyIssuer().did, validFrom="2024-01-01T00:00:00Z")
    path = f"/v1/agency/providers/{approved['id']}/withdraw"

    past = await agency.http.post(path, json={"at": "2025-01-01T00:00:00Z"})
    later = await agency.http.post(path, json={"at": "2999-01-01T00:00:00Z"})
    sooner = await agency.http.post(path)
    again = await agency.http.post(path)

    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "at"
    assert later.json()["validUntil"].startswith("2999-01-01")
    assert sooner.status_code == 200  # a planned end may be brought forward to now
    assert again.status_code == 409


async def test_a_provider_withdrawn_before_it_began_was_never_approved(agency: AgencyClient):
    issuer = DidKeyIssuer()
    starts = datetime.now(UTC) + timedelta(days=10)
    approved = await _approve(agency, issuer.did, validFrom=_stamp(starts))

    withdrawn = await agency.http.post(f"/v1/agency/providers/{approved['id']}/withdraw")
    listed = await agency.http.get("/v1/agency/providers", params={"at": _stamp(starts)})

    assert withdrawn.json()["validUntil"] == withdrawn.json()["validFrom"]
    assert issuer.did not in {item["issuerId"] for item in listed.json()}


async def test_bad_input_is_a_4xx_naming_the_field(agency: AgencyClient, provider: Provider):
    async def post(body: dict[str, Any]) -> httpx.Response:
        return await agency.http.post("/v1/agency/providers", json=body)

    not_an_iri = await post({"issuerId": "Digital Promise", "name": "DP"})
    reversed_dates = await post(
        {
            "issuerId": DidKeyIssuer().did,
            "name": "DP",
            "validFrom": "2025-01-01T00:00:00Z",
            "validUntil": "2024-01-01T00:00:00Z",
        }
    )
    naive = await post({"issuerId": "https://dp.example", "name": "DP", "validFrom": "2025-01-01"})
    unknown = await agency.http.post(f"/v1/agency/providers/{uuid.uuid4()}/withdraw")
    bad_at = await agency.http.get("/v1/agency/providers", params={"at": "yesterday"})
    not_an_agency = await provider.http.get("/v1/agency/providers")

    assert not_an_iri.status_code == 422
    assert not_an_iri.json()["errors"][0]["field"] == "issuerId"
    assert reversed_dates.json()["errors"][0]["field"] == "validUntil"
    assert naive.status_code == 422
    assert unknown.status_code == 404
    assert bad_at.status_code == 422
    assert bad_at.headers["content-type"] == "application/problem+json"
    assert not_an_agency.status_code == 403


async def test_another_agencys_provider_cannot_be_withdrawn(
    agency: AgencyClient, server: str, sessions: async_sessionmaker[AsyncSession], vault: KeyVault
):
    approved = await _approve(agency, DidKeyIssuer().did)
    other = await make_agency(server, sessions, vault, "Another Agency")
    try:
        response = await other.http.post(f"/v1/agency/providers/{approved['id']}/withdraw")
    finally:
        await other.http.aclose()

    assert response.status_code == 404


async def test_the_verifier_reloads_providers_once_its_copy_is_due(
    agency: AgencyClient, sessions: async_sessionmaker[AsyncSession]
):
    """A change made elsewhere (another worker process) is seen once the copy is due."""
    seconds = [0.0]
    registry = ApprovedProviders(sessions, fresh_for=10.0, clock=lambda: seconds[0])
    issuer = DidKeyIssuer()
    now = datetime.now(UTC)

    assert await registry.approval(issuer.did, now) is None  # loads: none yet
    async with transaction(sessions) as session:
        session.add(
            ApprovedProvider(
                agency_id=await _agency_id(session, agency),
                issuer_iri=issuer.did,
                name="District 9 PD",
                valid_from=now - timedelta(days=1),
                recorded_at=now - timedelta(days=1),
            )
        )
    seconds[0] = 9.9
    stale = await registry.approval(issuer.did, now)
    seconds[0] = 10.0
    fresh = await registry.approval(issuer.did, now)

    assert stale is None
    assert fresh is not None and fresh.statement is not None
    assert fresh.statement.startswith(APPROVED_BY_TEXAS)


async def test_a_change_in_this_process_is_seen_at_once(
    agency: AgencyClient, sessions: async_sessionmaker[AsyncSession]
):
    registry = ApprovedProviders(sessions, clock=lambda: 0.0)  # never due by time
    issuer = DidKeyIssuer()
    now = datetime.now(UTC)
    assert await registry.approval(issuer.did, now) is None
    async with transaction(sessions) as session:
        session.add(
            ApprovedProvider(
                agency_id=await _agency_id(session, agency),
                issuer_iri=issuer.did,
                name="District 9 PD",
                valid_from=now - timedelta(days=1),
                recorded_at=now - timedelta(days=1),
            )
        )

    registry.changed()

    assert await registry.approval(issuer.did, now) is not None


async def _agency_id(session: AsyncSession, agency: AgencyClient) -> uuid.UUID:
    found = await agency_of(session, agency.issuer)
    assert found is not None
    return found.id
