"""Nobody sees another person's badges through an educator ID.

A state educator ID that one provider's credential ties to her e-mail address is that
provider's word alone: it opens that provider's credentials naming the ID, never another
provider's. Only a stronger proof (a state agency registering her with both the address
and the ID) opens credentials from every provider that name the ID.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from badges.issuers import IssuerDetails, KeyVault, create_issuer
from storage.session import transaction
from tests.app.test_ob_api import _code_from, _consent, _ready_app
from tests.app.test_teachers import sign_in
from tests.conftest import AgencyClient, Provider, make_provider

DOWNLOADS = ("json", "jwt", "png", "svg")


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture
async def provider_b(server: str, sessions: Any, vault: KeyVault) -> AsyncIterator[Provider]:
    slug = f"other-{uuid.uuid4().hex[:10]}"
    async with transaction(sessions) as session:
        issuer = await create_issuer(session, vault, IssuerDetails(slug, "Other Academy"))
    made = await make_provider(server, sessions, issuer)
    yield made
    await made.http.aclose()


@dataclass
class Tie:
    """Teacher 1 (provider A ties the ID to her address) and teacher 2's badge from B."""

    teacher1: str
    teacher2: str
    state: str
    educator_id: str
    hers: list[str]  # provider A's credentials: to her address, and to the ID alone
    theirs: list[str]  # provider B's credentials naming the ID
    theirs_name: str


async def _issue(provider: Provider, name: str, recipient: dict[str, str]) -> str:
    achievement = await provider.create_achievement(name=name)
    response = await provider.issue(achievement["id"], recipient=recipient)
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["id"]
    return credential_id


@pytest.fixture
async def tie(provider: Provider, provider_b: Provider) -> Tie:
    teacher1, teacher2 = _email(), _email()
    educator_id = str(uuid.uuid4().int)[:9]
    the_id = {"educatorId": educator_id, "state": "CA"}
    hers = [
        await _issue(provider, "Teacher One Inquiry Science", {"email": teacher1} | the_id),
        await _issue(provider, "Teacher One Number Talks", the_id),
    ]
    theirs = [
        await _issue(provider_b, "Teacher Two Restorative Circles", the_id),
        await _issue(provider_b, "Teacher Two Restorative Circles", {"email": teacher2} | the_id),
    ]
    return Tie(teacher1, teacher2, "CA", educator_id, hers, theirs, "Restorative Circles")


async def _csrf(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/teacher/account")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _teacher_with_the_id(server: str, sessions: Any, tie: Tie) -> httpx.AsyncClient:
    """Teacher 1 signs in and adds the educator ID; provider A's badge verifies it."""
    browser = httpx.AsyncClient(base_url=server, timeout=60)
    assert (await sign_in(browser, sessions, tie.teacher1)).status_code == 303
    added = await browser.post(
        "/teacher/account/educator-id",
        data={"educator_id": tie.educator_id, "us_state": tie.state, "csrf": await _csrf(browser)},
    )
    assert added.status_code == 303, added.text
    return browser


async def _ob_api_listing(server: str, browser: httpx.AsyncClient) -> dict[str, Any]:
    """What her OB 3.0 app reads with getCredentials, after she authorized it."""
    app = await _ready_app(server)
    code, _ = _code_from(await _consent(browser, app.authorize_url()))
    assert (await app.exchange(code)).status_code == 200
    response = await app.http.get(app.api + "/credentials", headers=app.bearer())
    await app.http.aclose()
    assert response.status_code == 200, response.text
    listing: dict[str, Any] = response.json()
    return listing


async def test_an_educator_id_proven_by_one_provider_opens_no_other_providers_badges(
    server: str, sessions: Any, tie: Tie
):
    browser = await _teacher_with_the_id(server, sessions, tie)
    csrf = await _csrf(browser)

    listing = await browser.get("/teacher")
    pages = [await browser.get(f"/teacher/badges/{theirs}") for theirs in tie.theirs]
    files = [
        await browser.get(f"/teacher/badges/{theirs}/download.{kind}")
        for theirs in tie.theirs
        for kind in DOWNLOADS
    ]
    pictures = [await browser.get(f"/teacher/badges/{theirs}/image") for theirs in tie.theirs]
    wallets = [await browser.get(f"/teacher/badges/{theirs}/wallet") for theirs in tie.theirs]
    offers = [
        await browser.post(f"/teacher/badges/{theirs}/wallet", data={"csrf": csrf})
        for theirs in tie.theirs
    ]
    api = await _ob_api_listing(server, browser)
    own = [await browser.get(f"/teacher/badges/{mine}/download.json") for mine in tie.hers]

    assert tie.theirs_name not in listing.text
    assert "Inquiry Science" in listing.text and "Number Talks" in listing.text
    for response in [*pages, *files, *pictures, *wallets, *offers]:
        assert response.status_code == 404, (response.request.url, response.status_code)
        assert tie.theirs_name not in response.text
    listed = {credential["id"] for credential in api["credential"]}
    assert not listed & {f"{server}/credentials/{theirs}" for theirs in tie.theirs}
    assert {f"{server}/credentials/{mine}" for mine in tie.hers} <= listed
    assert [response.status_code for response in own] == [200, 200]
    await browser.aclose()


async def test_her_progress_never_counts_another_providers_badge_naming_the_id(
    server: str, sessions: Any, tie: Tie, provider_b: Provider, agency: AgencyClient
):
    achievement = await provider_b.create_achievement(name="Trauma-Informed Practice")
    await provider_b.issue(
        achievement["id"], recipient={"educatorId": tie.educator_id, "state": tie.state}
    )
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "TIP",
            "name": "Trauma-Informed Classrooms",
            "rule": {"achievement": achievement["url"]},
        },
    )
    assert stack.status_code == 201, stack.text
    browser = await _teacher_with_the_id(server, sessions, tie)

    progress = await browser.get("/teacher/progress")

    assert progress.status_code == 200
    assert "Trauma-Informed Classrooms" not in progress.text
    await browser.aclose()


async def test_the_victim_still_sees_her_badge_by_her_address(server: str, sessions: Any, tie: Tie):
    browser = httpx.AsyncClient(base_url=server, timeout=60)
    await sign_in(browser, sessions, tie.teacher2)

    page = await browser.get(f"/teacher/badges/{tie.theirs[1]}")

    assert page.status_code == 200 and tie.theirs_name in page.text
    await browser.aclose()


async def test_an_agency_registering_her_with_address_and_id_opens_every_providers_badge(
    server: str, sessions: Any, tie: Tie, agency: AgencyClient
):
    registered = await agency.http.post(
        "/v1/agency/educators",
        json={"email": tie.teacher1, "educatorId": tie.educator_id, "state": tie.state},
    )
    assert registered.status_code == 201, registered.text
    browser = await _teacher_with_the_id(server, sessions, tie)

    by_id_alone = await browser.get(f"/teacher/badges/{tie.theirs[0]}")

    # The state says the ID is hers: a badge naming only the ID is hers, from anyone.
    assert by_id_alone.status_code == 200 and tie.theirs_name in by_id_alone.text
    await browser.aclose()
