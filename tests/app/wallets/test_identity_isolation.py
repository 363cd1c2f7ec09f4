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
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from formats.identity import EDUCATOR_ID_TYPE
from keys.data_integrity import sign_document
from keys.multikey import did_key_for, did_key_verification_method
from storage.session import transaction
from tests.app.wallets.test_ob_api import (
    _code_from,
    _consent,
    _held,
    _ready_app,
)
from tests.app.wallets.test_teachers import sign_in
from tests.builders import unsigned_open_badge
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


async def _add_the_id(browser: httpx.AsyncClient, tie: Tie) -> httpx.Response:
    return await browser.post(
        "/teacher/account/educator-id",
        data={"educator_id": tie.educator_id, "us_state": tie.state, "csrf": await _csrf(browser)},
    )


async def test_an_id_claimed_first_by_another_account_still_opens_for_its_owner(
    server: str, sessions: Any, tie: Tie, agency: AgencyClient
):
    squatter = await _teacher_with_the_id(server, sessions, tie)
    registered = await agency.http.post(
        "/v1/agency/educators",
        json={"email": tie.teacher2, "educatorId": tie.educator_id, "state": tie.state},
    )
    assert registered.status_code == 201, registered.text
    owner = httpx.AsyncClient(base_url=server, timeout=60)
    await sign_in(owner, sessions, tie.teacher2)

    added = await _add_the_id(owner, tie)
    owners = [await owner.get(f"/teacher/badges/{badge}") for badge in tie.theirs + tie.hers]
    squatters = [
        await squatter.get(f"/teacher/badges/{badge}") for badge in [*tie.theirs, tie.hers[1]]
    ]

    assert added.status_code == 303, added.text
    # The state ties the ID to her address: every provider's badge naming it is hers.
    assert [page.status_code for page in owners] == [200, 200, 200, 200]
    # The first claim opens no more than its own proof did: provider A's word, A's badges.
    assert [page.status_code for page in squatters] == [404, 404, 200]
    await owner.aclose()
    await squatter.aclose()


def _badge_naming_the_id(tie: Tie, achievement_iri: str) -> dict[str, Any]:
    """A badge from issuer B elsewhere (a did:key) naming the educator ID in the clear."""
    key = Ed25519PrivateKey.generate()
    document = unsigned_open_badge(did_key_for(key.public_key()), issuer_name="Other District")
    document["credentialSubject"]["achievement"]["id"] = achievement_iri
    document["credentialSubject"]["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": EDUCATOR_ID_TYPE,
            "hashed": False,
            "identityHash": f"{tie.state}:{tie.educator_id}",
        }
    ]
    document |= {"id": f"urn:uuid:{uuid.uuid4()}", "validFrom": "2025-03-01T00:00:00Z"}
    method = did_key_verification_method(key.public_key())
    signed = sign_document(document, key, method, datetime(2025, 3, 1, tzinfo=UTC))
    return signed | {"proof": [signed["proof"]]}  # the strict bundled schema wants an array


async def test_a_badge_from_another_issuer_naming_the_id_is_not_tied_to_her_when_pushed(
    server: str, sessions: Any, vault: KeyVault, tie: Tie, agency: AgencyClient
):
    achievement_iri = f"https://other.example/achievements/{uuid.uuid4()}"
    vetted = await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement_iri,
            "purpose": "advancement",
            "effectiveFrom": "2020-01-01T00:00:00Z",
        },
    )
    assert vetted.status_code == 201, vetted.text
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "SEL",
            "name": "Social-Emotional Learning",
            "rule": {"achievement": achievement_iri},
        },
    )
    assert stack.status_code == 201, stack.text
    browser = await _teacher_with_the_id(server, sessions, tie)
    app = await _ready_app(server)
    code, _ = _code_from(await _consent(browser, app.authorize_url()))
    assert (await app.exchange(code)).status_code == 200

    pushed = await app.http.post(
        app.api + "/credentials",
        json=_badge_naming_the_id(tie, achievement_iri),
        headers=app.bearer(),
    )
    progress = await browser.get("/teacher/progress")

    assert pushed.status_code == 201, pushed.text
    held = await _held(sessions, tie.teacher1, vault)
    # Provider A's word makes the ID hers for A's badges only; B's badge stays unclaimed.
    assert [row.lookup_key for row in held] == [None]
    assert "Social-Emotional Learning" not in progress.text
    await app.http.aclose()
    await browser.aclose()
