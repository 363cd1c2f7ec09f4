"""A state agency with real work on its desk, for the agency console's tests: three MCs
vetted and approved for license renewal through the API, one still waiting for review, an
LEA following a renewal option, and an educator who completed the renewal stack with the
three MCs (evaluate-all run), so that every console page has something true to show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from badges.issuers.issuers import KeyVault
from badges.policy.agencies import agency_of
from storage.models import Agency
from tests.app.console.staff import add_staff_member
from tests.conftest import AgencyClient, Provider

SINCE = "2020-01-01T00:00:00Z"
FIVE_YEARS = 1826  # the README's renewal stack: 5 years


def ago(days: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def sent(client: httpx.AsyncClient, path: str, body: Any, status: int = 201) -> Any:
    response = await client.post(path, json=body)
    assert response.status_code == status, (path, response.text)
    return response.json()


async def read(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


@dataclass
class Desk:
    agency: AgencyClient
    row: Agency
    admin: str  # addresses of its console members
    staff: str
    mcs: list[dict[str, Any]]  # four of the provider's achievements; the first three approved
    waiting: str  # the open vetting request (the fourth MC)
    stack: str  # the renewal stack's IRI (made through the API)
    educator: str  # her id
    email: str

    @property
    def home(self) -> str:
        return f"/console/agencies/{self.row.id}"


async def vet(agency: AgencyClient, request_id: str) -> None:
    """A review passing every criterion of the rubric, then an approval, via the API."""
    rubric = await read(agency.http, "/v1/agency/vetting/rubric")
    scores = {item["key"]: item["passing"] for item in rubric["criteria"]}
    review = {"scores": scores, "recommendation": "approve"}
    await sent(agency.http, f"/v1/agency/vetting/{request_id}/reviews", review)
    decision = {"decision": "approved", "effectiveFrom": SINCE}
    await sent(agency.http, f"/v1/agency/vetting/{request_id}/decision", decision, 200)


async def make_desk(
    sessions: Any, vault: KeyVault, provider: Provider, agency: AgencyClient
) -> Desk:
    async with sessions() as session:
        row = await agency_of(session, agency.issuer)
    assert row is not None
    admin = await add_staff_member(sessions, vault, agency=row, role="admin")
    staff = await add_staff_member(sessions, vault, agency=row, role="staff")
    names = ("Close Reading", "Number Talks", "Family Engagement", "Restorative Circles")
    mcs = [await provider.create_achievement(name=name) for name in names]
    requests = [
        await sent(
            provider.http,
            "/v1/vetting-requests",
            {"agency": agency.slug, "purpose": "license_renewal", "achievementId": mc["id"]},
        )
        for mc in mcs
    ]
    for asked in requests[:3]:
        await vet(agency, asked["id"])
    stack = await sent(
        agency.http,
        "/v1/agency/stacks",
        {
            "code": "RENEW",
            "name": "License renewal",
            "purpose": "license_renewal",
            "windowDays": FIVE_YEARS,
            "rule": {"approvedFor": "license_renewal", "count": 3},
        },
    )
    option = {"purpose": "license_renewal", "key": "option-2", "name": "Any 3 in 5 years"}
    await sent(agency.http, "/v1/agency/options", option | {"stack": stack["id"]})
    lea = await sent(agency.http, "/v1/agency/districts", {"code": "SOUTH", "name": "South ISD"})
    choice = {"purpose": "license_renewal", "option": "option-2", "validFrom": SINCE}
    await sent(agency.http, f"/v1/agency/districts/{lea['id']}/choices", choice)
    email = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    educator = await sent(
        agency.http, "/v1/agency/educators", {"email": email, "district": "SOUTH", "since": SINCE}
    )
    for mc in mcs[:3]:
        awarded = await provider.issue(mc["id"], recipient={"email": email}, awardedDate=ago(100))
        assert awarded.status_code == 201, awarded.text
    stack_id = stack["id"].rsplit("/", 1)[-1]
    await sent(agency.http, f"/v1/agency/stacks/{stack_id}/evaluate-all", None, 200)
    return Desk(
        agency, row, admin, staff, mcs, requests[3]["id"], stack["id"], educator["id"], email
    )
