"""Revocation, suspension and expiry: the lists verifiers fetch and the history states ask."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from badges.bitstring import LIST_SIZE, decode_list, get_bit
from tests.conftest import Provider, make_provider


async def _issue(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _entry(credential: dict[str, Any], purpose: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(
        item for item in credential["credentialStatus"] if item["statusPurpose"] == purpose
    )
    return entry


async def _bit(public: Any, entry: dict[str, Any]) -> bool:
    listed = (await public.get(entry["statusListCredential"])).json()
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_bit(bits, int(entry["statusListIndex"]))


async def test_every_credential_has_a_revocation_and_a_suspension_entry(provider: Provider):
    credential = (await _issue(provider))["credential"]

    entries = credential["credentialStatus"]
    assert [entry["statusPurpose"] for entry in entries] == ["revocation", "suspension"]
    for entry in entries:
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"
        assert entry["statusListIndex"].isdigit()
        assert "statusSize" not in entry


async def test_the_status_list_is_a_signed_bitstring_status_list_credential(
    provider: Provider, public: Any
):
    credential = (await _issue(provider))["credential"]
    entry = _entry(credential, "revocation")

    response = await public.get(entry["statusListCredential"])

    listed = response.json()
    assert response.headers["content-type"].startswith("application/vc+ld+json")
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["issuer"] == credential["issuer"]["id"]
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
    assert listed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert len(decode_list(listed["credentialSubject"]["encodedList"])) * 8 == LIST_SIZE


async def test_an_unchanged_list_is_answered_with_304(provider: Provider, public: Any):
    entry = _entry((await _issue(provider))["credential"], "revocation")
    first = await public.get(entry["statusListCredential"])

    again = await public.get(
        entry["statusListCredential"], headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert "max-age" in first.headers["cache-control"]


async def test_indices_are_spread_over_the_list_and_never_repeat(provider: Provider):
    achievement = await provider.create_achievement()
    award = {"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}}
    responses = await asyncio.gather(
        *(
            provider.http.post(
                f"/v1/issuers/{provider.slug}/credentials:batch", json={"items": [award] * 25}
            )
            for _ in range(4)
        )
    )

    indices = [
        int(_entry(result["credential"], "revocation")["statusListIndex"])
        for response in responses
        for result in response.json()["results"]
    ]
    assert len(indices) == len(set(indices)) == 100
    assert sorted(indices) != list(range(min(indices), min(indices) + 100))
    assert max(indices) - min(indices) > 10_000


async def test_revoke_sets_the_bit_and_records_who_when_and_why(provider: Provider, public: Any):
    issued = await _issue(provider)
    entry = _entry(issued["credential"], "revocation")
    etag = (await public.get(entry["statusListCredential"])).headers["etag"]

    response = await provider.http.post(
        f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["inGoodStanding"]) == ("revoked", False)
    assert body["events"][-1]["reason"] == "awarded in error"
    assert body["events"][-1]["actor"] == provider.client_id
    assert await _bit(public, entry) is True
    refetched = await public.get(entry["statusListCredential"], headers={"If-None-Match": etag})
    assert refetched.status_code == 200


async def test_suspension_is_lifted_by_unsuspend(provider: Provider, public: Any):
    issued = await _issue(provider)
    entry = _entry(issued["credential"], "suspension")

    suspended = await provider.http.post(
        f"/v1/credentials/{issued['id']}/suspend", json={"reason": "under review"}
    )
    assert suspended.json()["status"] == "suspended" and await _bit(public, entry)
    lifted = await provider.http.post(
        f"/v1/credentials/{issued['id']}/unsuspend", json={"reason": "review closed"}
    )

    assert lifted.json()["status"] == "active"
    assert await _bit(public, entry) is False


async def test_status_at_a_past_moment_comes_from_the_event_log(provider: Provider):
    issued = await _issue(
        provider, validUntil=(datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    before_revocation = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await provider.http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "error"})
    url = f"/v1/credentials/{issued['id']}/status"

    then = (await provider.http.get(url, params={"at": before_revocation.isoformat()})).json()
    now = (await provider.http.get(url)).json()
    later = (
        await provider.http.get(
            url, params={"at": (datetime.now(UTC) + timedelta(days=60)).isoformat()}
        )
    ).json()
    earlier = (await provider.http.get(url, params={"at": "2000-01-01T00:00:00Z"})).json()

    assert (then["status"], then["validity"], then["inGoodStanding"]) == ("active", "valid", True)
    assert (now["status"], now["inGoodStanding"]) == ("revoked", False)
    assert later["validity"] == "expired"
    assert earlier["validity"] == "not_issued"


async def test_bad_status_changes_are_refused_and_change_nothing(
    provider: Provider, public: Any, server: str, sessions: Any, issuer: Any, vault: Any
):
    from badges.issuers import IssuerDetails, create_issuer
    from storage.session import transaction

    issued = await _issue(provider)
    base = f"/v1/credentials/{issued['id']}"
    async with transaction(sessions) as session:
        other_issuer = await create_issuer(
            session, vault, IssuerDetails("rival-" + issuer.slug, "Rival")
        )
    rival = await make_provider(server, sessions, other_issuer)
    reader = await make_provider(server, sessions, issuer, scopes=("credentials:read",))

    assert (await rival.http.post(f"{base}/revoke", json={"reason": "x"})).status_code == 404
    assert (await reader.http.post(f"{base}/revoke", json={"reason": "x"})).status_code == 403
    assert (
        await provider.http.post(
            "/v1/credentials/8c0f7a1e-1111-4111-8111-111111111111/revoke", json={"reason": "x"}
        )
    ).status_code == 404
    assert (await provider.http.post(f"{base}/revoke", json={})).status_code == 422
    assert (await provider.http.post(f"{base}/unsuspend", json={"reason": "x"})).status_code == 409
    assert (await provider.http.get(f"{base}/status")).json()["events"] == [
        (await provider.http.get(f"{base}/status")).json()["events"][0]
    ]

    assert (await provider.http.post(f"{base}/revoke", json={"reason": "x"})).status_code == 200
    second = await provider.http.post(f"{base}/revoke", json={"reason": "again"})
    unsuspend = await provider.http.post(f"{base}/unsuspend", json={"reason": "x"})
    suspend = await provider.http.post(f"{base}/suspend", json={"reason": "x"})

    assert (second.status_code, unsuspend.status_code, suspend.status_code) == (409, 409, 409)
    assert second.headers["content-type"] == "application/problem+json"
    events = (await provider.http.get(f"{base}/status")).json()["events"]
    assert [event["eventType"] for event in events] == ["issued", "revoked"]
    await rival.http.aclose()
    await reader.http.aclose()
