"""A credential counts only while its issuer stands by it, and each award counts once.

A foreign issuer (a did:key with its revocation list on its own HTTP server, as another
Lattice instance publishes one) revokes an MC an agency counted: evaluations, progress,
stack and achievement holders stop counting it from the moment this service saw the
revocation, and still count it for dates before. The same for an MC the teacher pushed
through the OB 3.0 API. A wallet copy carries its original's status entry, so revoking
the original revokes the copy, and a copy never counts beside its original.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.foreign_status import status_check
from badges.issuers.issuers import KeyVault
from badges.policy.foreign_status import StatusCache
from badges.status.status_changes import Standing
from tests.app.foreign_issuer import ForeignIssuer, foreign_issuer
from tests.app.wallets.teacher_apps import push_with_app, teacher_app_token
from tests.app.wallets.wallet_holder import (
    awarded,
    copy_to_wallet,
)
from tests.conftest import AgencyClient, Provider, node_verify
from verification.fetch import FetchSettings, SafeFetcher
from verification.pipeline import Verifier


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


@pytest.fixture
def foreign() -> Iterator[ForeignIssuer]:
    with foreign_issuer() as issuer:
        yield issuer


def _achievement() -> str:
    return f"https://district9.example/achievements/{uuid.uuid4()}"


async def _one_mc_stack(agency: AgencyClient, achievement: str) -> str:
    """A stack of one MC (vetted first: an agency's stacks name only MCs it knows of)."""
    approved = await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement,
            "purpose": "license_renewal",
            "effectiveFrom": "2015-01-01T00:00:00Z",
        },
    )
    assert approved.status_code == 201, approved.text
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={"code": "MC", "name": "One MC", "rule": {"achievement": achievement}},
    )
    assert stack.status_code == 201, stack.text
    stack_id: str = stack.json()["id"].rsplit("/", 1)[1]
    return stack_id


async def _evaluate(
    agency: AgencyClient, stack_id: str, address: str, at: datetime | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"educator": {"email": address}, "stackId": stack_id}
    if at is not None:
        body["at"] = at.isoformat()
    response = await agency.http.post("/v1/agency/evaluations", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _achievement_holders(
    agency: AgencyClient, achievement: str, at: datetime | None = None
) -> list[str]:
    params = {"achievementId": achievement} | ({"at": at.isoformat()} if at else {})
    response = await agency.http.get("/v1/agency/holders", params=params)
    assert response.status_code == 200, response.text
    return [item["educator"] for item in response.json()["items"]]


async def _stack_holders(agency: AgencyClient, stack_id: str) -> list[str]:
    run = await agency.http.post(f"/v1/agency/stacks/{stack_id}/evaluate-all")
    assert run.status_code == 200, run.text
    response = await agency.http.get(f"/v1/agency/stacks/{stack_id}/holders")
    assert response.status_code == 200, response.text
    return [item["educator"] for item in response.json()["items"]]


async def test_a_submitted_mc_its_issuer_revoked_stops_counting_from_when_it_was_seen(
    foreign: ForeignIssuer, agency: AgencyClient
):
    achievement, address = _achievement(), _email()
    stack_id = await _one_mc_stack(agency, achievement)
    credential = foreign.award(address, achievement, _days_ago(30))
    submitted = await agency.http.post(
        "/v1/agency/submissions",
        json={"educator": {"email": address}, "credentials": [credential]},
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["results"][0]["accepted"] is True
    educator = submitted.json()["educator"]
    before_seen = datetime.now(UTC)

    foreign.revoke(credential)

    now = await _evaluate(agency, stack_id, address)
    assert now["met"] is False
    [rejected] = now["rejected"]
    assert rejected["credentialId"] == credential["id"]
    assert rejected["reason"].startswith("revoked by its issuer")
    progress = await agency.http.post("/v1/agency/progress", json={"educator": {"email": address}})
    assert progress.json()["stacks"][0]["met"] is False
    assert await _achievement_holders(agency, achievement) == []
    assert await _stack_holders(agency, stack_id) == []
    # History stands: before the service saw the revocation, the MC counted.
    then = await _evaluate(agency, stack_id, address, at=before_seen)
    assert then["met"] is True
    assert [item["credentialId"] for item in then["counted"]] == [credential["id"]]
    assert await _achievement_holders(agency, achievement, at=before_seen) == [educator]


async def test_an_mc_she_pushed_that_its_issuer_revoked_stops_counting_too(
    foreign: ForeignIssuer, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
):
    achievement, address = _achievement(), _email()
    stack_id = await _one_mc_stack(agency, achievement)
    token = await teacher_app_token(sessions, vault, address)
    credential = foreign.award(address, achievement, _days_ago(30), hashed=False)
    pushed = await push_with_app(server, token, credential)
    assert pushed.status_code in (200, 201), pushed.text
    registered = await agency.http.post("/v1/agency/educators", json={"email": address})
    educator = registered.json()["id"]
    before_seen = datetime.now(UTC)

    foreign.revoke(credential)

    now = await _evaluate(agency, stack_id, address)
    assert now["met"] is False
    assert now["rejected"][0]["reason"].startswith("revoked by its issuer")
    assert await _achievement_holders(agency, achievement) == []
    assert await _stack_holders(agency, stack_id) == []
    # The bulk answers agree with the single one, for the earlier date too.
    assert (await _evaluate(agency, stack_id, address, at=before_seen))["met"] is True
    assert await _achievement_holders(agency, achievement, at=before_seen) == [educator]


async def test_a_status_reading_is_reused_for_five_minutes_then_read_again(
    foreign: ForeignIssuer,
):
    """The documented freshness: one reading per credential per 5 minutes, no more."""
    clock = [datetime(2026, 6, 1, tzinfo=UTC)]
    cache = StatusCache(clock=lambda: clock[0])
    credential = foreign.award(_email(), _achievement(), _days_ago(30))
    document = json.dumps(credential)
    settings = FetchSettings(allow_insecure_http=True, allow_private_networks=True)
    async with SafeFetcher(settings) as fetcher:
        check = status_check(Verifier(fetcher=fetcher))

        first, _ = await cache.read(document, check)
        foreign.revoke(credential)
        clock[0] += timedelta(minutes=4, seconds=59)
        cached, _ = await cache.read(document, check)
        clock[0] += timedelta(seconds=1)
        fresh, taken_at = await cache.read(document, check)

    assert first is not None and first.standing is Standing.ACTIVE
    assert cached == first
    assert fresh is not None and fresh.standing is Standing.REVOKED
    assert taken_at == clock[0]
    assert foreign.server.hits["/status/revocation"] == 2


# --- wallet copies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Copied:
    address: str
    original: dict[str, Any]
    copy: dict[str, Any]
    stack_id: str
    achievement: str


@pytest.fixture
async def copied(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any, vault: KeyVault
) -> AsyncIterator[Copied]:
    """Her badge (an MC her agency's stack names) and its copy in her wallet (VC-API)."""
    address = _email()
    original = await awarded(provider, address, awardedDate=_text(_days_ago(10)))
    achievement = original["credential"]["credentialSubject"]["achievement"]["id"]
    registered = await agency.http.post("/v1/agency/educators", json={"email": address})
    assert registered.status_code == 201, registered.text
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={"code": "CR", "name": "Close reading", "rule": {"achievement": achievement}},
    )
    assert stack.status_code == 201, stack.text
    answer = await copy_to_wallet(server, sessions, vault, address, original["id"])
    assert answer.status_code == 200, answer.text
    [copy] = answer.json()["verifiablePresentation"]["verifiableCredential"]
    yield Copied(address, original, copy, stack.json()["id"].rsplit("/", 1)[1], achievement)


async def _verdict(public: httpx.AsyncClient, credential: dict[str, Any]) -> str:
    report = await public.post("/v1/verify", json={"credential": credential})
    assert report.status_code == 200, report.text
    verdict: str = report.json()["verdict"]
    return verdict


async def test_a_wallet_copy_carries_its_originals_status_and_is_revoked_with_it(
    copied: Copied, provider: Provider, agency: AgencyClient, public: httpx.AsyncClient
):
    assert copied.copy["credentialStatus"] == copied.original["credential"]["credentialStatus"]
    assert await _verdict(public, copied.copy) == "verified"

    revoked = await provider.http.post(
        f"/v1/credentials/{copied.original['id']}/revoke", json={"reason": "awarded in error"}
    )

    assert revoked.status_code == 200, revoked.text
    assert await _verdict(public, copied.original["credential"]) == "revoked"
    assert await _verdict(public, copied.copy) == "revoked"
    assert (await _evaluate(agency, copied.stack_id, copied.address))["met"] is False
    assert await _achievement_holders(agency, copied.achievement) == []
    assert await _stack_holders(agency, copied.stack_id) == []


async def test_a_copy_is_revoked_through_its_original_only(copied: Copied, provider: Provider):
    copy_id = copied.copy["id"].rsplit("/", 1)[1]

    refused = await provider.http.post(
        f"/v1/credentials/{copy_id}/revoke", json={"reason": "lost phone"}
    )

    assert refused.status_code == 409, refused.text
    assert copied.original["id"] in refused.json()["detail"]


async def test_a_copy_never_counts_beside_its_original(copied: Copied, agency: AgencyClient):
    evaluation = await _evaluate(agency, copied.stack_id, copied.address)
    named = [item["credentialId"] for item in evaluation["counted"] + evaluation["rejected"]]
    earned = await agency.http.get(
        "/v1/agency/reports/earned", params={"period": "year", "from": "2000-01-01T00:00:00Z"}
    )
    progress = await agency.http.post(
        "/v1/agency/progress", json={"educator": {"email": copied.address}}
    )

    assert evaluation["met"] is True
    assert named == [copied.original["url"]]
    assert earned.status_code == 200, earned.text
    assert sum(int(row["count"] or 0) for row in earned.json()["rows"]) == 1
    counted = progress.json()["stacks"][0]["counted"]
    assert [item["credentialId"] for item in counted] == [copied.original["url"]]


@pytest.mark.interop
async def test_the_independent_verifiers_see_the_copy_revoked_with_its_original(
    copied: Copied, provider: Provider
):
    revoked = await provider.http.post(
        f"/v1/credentials/{copied.original['id']}/revoke", json={"reason": "awarded in error"}
    )
    assert revoked.status_code == 200, revoked.text

    reports = node_verify(copied.copy["id"], "--verifier", "all")

    assert {report["verifier"]: report["checks"]["status"] for report in reports} == {
        "core": "revoked",
        "vc": "revoked",
    }
