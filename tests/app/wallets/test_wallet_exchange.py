"""The VC-API exchange end to end: the teacher's page hands out the Learner Credential Wallet
link, a wallet with its own did:key proves it (DIDAuth) and gets the badge re-issued to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from storage.models import WalletExchange
from tests.app.wallets.wallet_holder import (
    Holder,
    awarded,
    credentials_of,
    email,
    eventually,
    signed_in_teacher,
    wallet_page,
)
from tests.conftest import Provider, node_verify


async def _exchange(
    provider: Provider, server: str, sessions: Any, vault: Any
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A badge for a new teacher, and the query of the LCW link her wallet page shows."""
    address = email()
    issued = await awarded(provider, address)
    browser = await signed_in_teacher(server, sessions, vault, address)
    page = await wallet_page(browser, issued["id"])
    await browser.aclose()
    link = urlsplit(page.lcw)
    assert (link.scheme, link.netloc, link.path) == ("https", "lcw.app", "/request.html")
    return issued, parse_qs(link.query)


async def test_a_wallet_proves_its_did_and_gets_the_badge_bound_to_it(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    issued, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url, challenge = link["vc_request_url"][0], link["challenge"][0]

    request = (await public.post(url, json={})).json()["verifiablePresentationRequest"]
    vp = holder.did_auth(request["challenge"], request["domain"])
    answer = await public.post(url, json={"verifiablePresentation": vp})

    assert link["auth_type"] == ["bearer"] and request["challenge"] == challenge
    assert request["query"][0]["type"] == "DIDAuthentication"
    assert request["interact"]["service"][0]["serviceEndpoint"] == url
    assert answer.status_code == 200, answer.text
    [credential] = answer.json()["verifiablePresentation"]["verifiableCredential"]
    original = issued["credential"]
    assert credential["credentialSubject"]["id"] == holder.did
    assert credential["id"] != original["id"]
    for same in ("validFrom", "name"):
        assert credential[same] == original[same]
    subject, awarded_to = credential["credentialSubject"], original["credentialSubject"]
    assert subject["achievement"] == awarded_to["achievement"]
    assert subject["identifier"] == awarded_to["identifier"]
    # The same award, so the same status: the copy points at the original's entry.
    assert credential["credentialStatus"] == original["credentialStatus"]
    report = (await public.post("/v1/verify", json={"credential": credential})).json()
    assert report["verdict"] == "verified", report
    stored = await public.get(credential["id"])
    assert stored.json() == credential


@pytest.mark.interop
async def test_the_wallet_copy_verifies_in_the_independent_verifiers(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url = link["vc_request_url"][0]
    vp = holder.did_auth(link["challenge"][0], server)

    answer = await public.post(url, json={"verifiablePresentation": vp})

    [credential] = answer.json()["verifiablePresentation"]["verifiableCredential"]
    reports = node_verify(credential["id"], "--verifier", "all")
    assert {report["verifier"] for report in reports} == {"core", "vc"}, reports
    assert all(report["verified"] for report in reports), reports


async def test_the_learner_credential_wallet_posts_a_bare_ed25519signature2020_vp(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    """LCW's link flow: no VPR round trip, a VCDM 1.1 DIDAuth without domain, a bare VP back."""
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()

    answer = await public.post(
        link["vc_request_url"][0], json=holder.did_auth(link["challenge"][0], legacy=True)
    )

    assert answer.status_code == 200, answer.text
    [credential] = answer.json()["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == holder.did


async def test_a_replayed_presentation_is_refused_and_nothing_more_is_issued(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url = link["vc_request_url"][0]
    vp = {"verifiablePresentation": holder.did_auth(link["challenge"][0], server)}
    first = await public.post(url, json=vp)

    replayed = await public.post(url, json=vp)

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert "already complete" in replayed.json()["detail"]
    assert await credentials_of(sessions, holder.did) == 1


WRONG = {
    "another challenge": lambda holder, challenge, domain: holder.did_auth("guessed", domain),
    "another domain": lambda holder, challenge, domain: holder.did_auth(
        challenge, "https://evil.example"
    ),
    "assertion, not authentication": lambda holder, challenge, domain: holder.did_auth(
        challenge, domain, purpose="assertionMethod"
    ),
    "signed for another holder": lambda holder, challenge, domain: holder.did_auth(
        challenge, domain, holder=Holder().did
    ),
    "unsigned": lambda holder, challenge, domain: {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
    },
}


@pytest.mark.parametrize("make", WRONG.values(), ids=WRONG.keys())
async def test_a_presentation_that_proves_nothing_is_refused_and_the_exchange_stays_open(
    provider: Provider,
    server: str,
    sessions: Any,
    vault: Any,
    public: httpx.AsyncClient,
    make: Any,
):
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url, challenge = link["vc_request_url"][0], link["challenge"][0]

    refused = await public.post(
        url, json={"verifiablePresentation": make(holder, challenge, server)}
    )
    honest = await public.post(
        url, json={"verifiablePresentation": holder.did_auth(challenge, server)}
    )

    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert honest.status_code == 200, honest.text
    assert await credentials_of(sessions, holder.did) == 1


async def test_an_expired_exchange_is_refused(
    provider: Provider, server: str, sessions: Any, vault: Any, public: httpx.AsyncClient
):
    _, link = await _exchange(provider, server, sessions, vault)
    holder = Holder()
    url = link["vc_request_url"][0]
    async with sessions() as session, session.begin():
        await session.execute(
            update(WalletExchange)
            .where(WalletExchange.id == uuid.UUID(url.rsplit("/", 1)[1]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    late = await public.post(
        url, json={"verifiablePresentation": holder.did_auth(link["challenge"][0], server)}
    )

    assert late.status_code == 400
    assert "expired" in late.json()["detail"]
    assert await credentials_of(sessions, holder.did) == 0


async def test_an_unknown_exchange_is_not_found(public: httpx.AsyncClient):
    response = await public.post("/exchanges/00000000-0000-4000-8000-000000000000", json={})

    assert response.status_code == 404


async def test_a_revoked_badge_cannot_go_to_a_wallet(
    provider: Provider, server: str, sessions: Any, vault: Any
):
    address = email()
    issued = await awarded(provider, address)
    revoked = await eventually(
        lambda: provider.http.post(
            f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
        ),
        200,
    )
    assert revoked.status_code == 200, revoked.text
    browser = await signed_in_teacher(server, sessions, vault, address)

    page = await eventually(lambda: browser.get(f"/teacher/badges/{issued['id']}/wallet"), 200)

    assert "cannot go to a wallet" in page.text and "revoked" in page.text
    assert f'/teacher/badges/{issued["id"]}/wallet"' not in page.text  # no form to post
    await browser.aclose()
