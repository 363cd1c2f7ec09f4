"""An agency sees only its own educators: those it registered or submitted credentials for.

Agency A registers a teacher and has a stack she has completed. Agency B never registered
her: asking about her (evaluation, progress, CLR, stack credential) is a 404 problem that
names none of her credentials, exactly as for someone who does not exist. Agency A still
gets its answers, and registering one identifier does not let it ask by another.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from badges.issuers.issuers import KeyVault
from tests.conftest import AgencyClient, Provider, make_agency

PROBLEM = "application/problem+json"


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture
async def agency_b(server: str, sessions: Any, vault: KeyVault) -> AsyncIterator[AgencyClient]:
    made = await make_agency(server, sessions, vault, "Another State Board")
    yield made
    await made.http.aclose()


@dataclass
class Completed:
    """Agency A's educator, who completed its one-MC stack with a badge issued here."""

    email: str
    educator_id: str
    stack_id: str
    achievement_url: str
    credential_id: str
    credential_url: str
    credential: dict[str, Any]

    @property
    def by_email(self) -> dict[str, str]:
        return {"email": self.email}

    @property
    def by_id(self) -> dict[str, str]:
        return {"educatorId": self.educator_id, "state": "TX"}


@pytest.fixture
async def completed(provider: Provider, agency: AgencyClient) -> Completed:
    email, educator_id = _email(), str(uuid.uuid4().int)[:9]
    achievement = await provider.create_achievement(name="Family Engagement")
    issued = await provider.issue(
        achievement["id"], recipient={"email": email, "educatorId": educator_id, "state": "TX"}
    )
    assert issued.status_code == 201, issued.text
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "FE",
            "name": "Family Engagement",
            "rule": {"achievement": achievement["url"]},
        },
    )
    assert stack.status_code == 201, stack.text
    registered = await agency.http.post("/v1/agency/educators", json={"email": email})
    assert registered.status_code == 201, registered.text
    return Completed(
        email,
        educator_id,
        stack.json()["id"].rsplit("/", 1)[1],
        achievement["url"],
        issued.json()["id"],
        issued.json()["url"],
        issued.json()["credential"],
    )


async def _ask(client: httpx.AsyncClient, stack_id: str, educator: dict[str, str]) -> list[Any]:
    """Every question an agency can ask about one educator."""
    body = {"educator": educator, "stackId": stack_id}
    return [
        await client.post("/v1/agency/evaluations", json=body),
        await client.post("/v1/agency/progress", json={"educator": educator}),
        await client.post("/v1/agency/clr", json=body),
        await client.post("/v1/agency/stack-credentials", json=body),
    ]


def _not_found_and_silent(responses: list[httpx.Response], completed: Completed) -> None:
    for response in responses:
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert completed.credential_id not in response.text
        assert "/credentials/" not in response.text


async def test_another_agency_cannot_evaluate_her_or_see_her_credentials(
    completed: Completed, agency_b: AgencyClient
):
    # B even has a stack of its own; it is still not B's business who earned what.
    stack = await agency_b.http.post(
        "/v1/agency/stacks",
        json={"code": "X", "name": "X", "rule": {"achievement": completed.achievement_url}},
    )
    assert stack.status_code == 201, stack.text
    stack_id = stack.json()["id"].rsplit("/", 1)[1]

    by_email = await _ask(agency_b.http, stack_id, completed.by_email)
    by_id = await _ask(agency_b.http, stack_id, completed.by_id)
    nobody = await _ask(agency_b.http, stack_id, {"email": _email()})

    _not_found_and_silent(by_email + by_id, completed)
    # The same answer as for someone who exists nowhere: nothing tells B she does.
    assert [r.json()["detail"] for r in by_email + by_id] == [
        r.json()["detail"] for r in nobody + nobody
    ]


async def test_her_own_agency_still_evaluates_her_and_exports_her_clr(
    completed: Completed, agency: AgencyClient
):
    answers = await _ask(agency.http, completed.stack_id, completed.by_email)

    evaluation, progress, clr, stack_credential = answers
    assert [r.status_code for r in answers] == [200, 200, 201, 201], [r.text for r in answers]
    assert evaluation.json()["met"] is True
    assert evaluation.json()["counted"][0]["credentialId"] == completed.credential_url
    assert progress.json()["stacks"][0]["met"] is True
    assert len(clr.json()["credential"]["credentialSubject"]["verifiableCredential"]) == 1
    assert stack_credential.json()["credential"]["evidence"][0]["id"] == completed.credential_url


async def test_an_identifier_the_agency_did_not_register_is_not_found(
    completed: Completed, agency: AgencyClient
):
    # A registered her e-mail only; her educator ID (even beside the e-mail) is not its to use.
    by_id = await _ask(agency.http, completed.stack_id, completed.by_id)
    both = await _ask(agency.http, completed.stack_id, completed.by_email | completed.by_id)

    _not_found_and_silent(by_id + both, completed)


async def test_submitting_a_credential_for_her_makes_her_the_agencys_educator(
    completed: Completed, agency_b: AgencyClient
):
    submitted = await agency_b.http.post(
        "/v1/agency/submissions",
        json={"educator": completed.by_email, "credentials": [completed.credential]},
    )
    assert submitted.status_code == 201, submitted.text

    progress = await agency_b.http.post(
        "/v1/agency/progress", json={"educator": completed.by_email}
    )

    assert progress.status_code == 200, progress.text
