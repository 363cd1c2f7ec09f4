"""Revocation, suspension and expiry: the lists verifiers fetch and the history states ask."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from badges.issuers.issuers import (
    current_key,
    published_key,
)
from formats.bitstring import (
    LIST_SIZE,
    decode_list,
    get_bit,
)
from keys.did_web import jwk_id
from keys.keypair import KeyAlgorithm
from keys.vc_jwt import decode_unverified, verify_vc_jwt
from storage.models import Credential, CredentialStatusEntry, StatusList
from storage.session import transaction
from tests.conftest import Provider, make_provider, serve
from tests.processes import free_port


async def _issue(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _entries(credential: dict[str, Any]) -> list[dict[str, Any]]:
    status = credential["credentialStatus"]
    return status if isinstance(status, list) else [status]


def _entry(credential: dict[str, Any], purpose: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(
        item for item in _entries(credential) if item["statusPurpose"] == purpose
    )
    return entry


async def _bit(public: Any, entry: dict[str, Any]) -> bool:
    listed = (await public.get(entry["statusListCredential"])).json()
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_bit(bits, int(entry["statusListIndex"]))


async def _opt_in(provider: Provider, enabled: bool = True) -> None:
    response = await provider.http.patch(
        f"/v1/issuers/{provider.slug}", json={"suspensionEnabled": enabled}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def suspending(provider: Provider) -> Provider:
    """A provider whose issuer opted in to suspension."""
    await _opt_in(provider)
    return provider


async def test_a_credential_has_one_revocation_entry_as_one_object(provider: Provider):
    credential = (await _issue(provider))["credential"]

    entry = credential["credentialStatus"]
    # OB 3.0 (strict JSON schema before v1.3): credentialStatus is one object, 0..1.
    assert isinstance(entry, dict)
    assert entry["statusPurpose"] == "revocation"
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"
    assert entry["statusListIndex"].isdigit()
    assert "statusSize" not in entry


async def test_an_issuer_that_opted_in_issues_a_revocation_and_a_suspension_entry(
    suspending: Provider,
):
    credential = (await _issue(suspending))["credential"]

    entries = credential["credentialStatus"]
    assert [entry["statusPurpose"] for entry in entries] == ["revocation", "suspension"]
    assert entries[0]["statusListCredential"] != entries[1]["statusListCredential"]
    for entry in entries:
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"


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


VC_JWT = {"Accept": "application/vc+jwt"}


def _list_key(issuer: Any) -> Any:
    return published_key(current_key(issuer, KeyAlgorithm.ED25519))


async def test_the_list_is_also_served_as_a_vc_jwt_signed_by_the_same_key(
    provider: Provider, public: Any, issuer: Any
):
    credential = (await _issue(provider))["credential"]
    url = _entry(credential, "revocation")["statusListCredential"]

    as_json = await public.get(url)
    as_vc_jwt = await public.get(url, headers=VC_JWT)
    as_jwt = await public.get(url, headers={"Accept": "application/jwt"})

    assert as_vc_jwt.headers["content-type"].startswith("application/vc+jwt")
    assert as_jwt.headers["content-type"].startswith("application/jwt")
    assert as_vc_jwt.text == as_jwt.text
    header, payload = decode_unverified(as_jwt.text)
    did = credential["issuer"]["id"]
    assert header == {"alg": "EdDSA", "kid": jwk_id(did, _list_key(issuer)), "typ": "JWT"}
    listed = verify_vc_jwt(as_jwt.text, _list_key(issuer).public_key)
    document = as_json.json()
    assert listed == {name: value for name, value in document.items() if name != "proof"}
    assert document["proof"]["verificationMethod"].startswith(did + "#")
    # VCDM 2.0 VC-JWT: iss = issuer, nbf = validFrom, which for a list is when it was signed.
    signed_at = datetime.fromisoformat(document["validFrom"].replace("Z", "+00:00"))
    assert (payload["iss"], payload["nbf"]) == (did, int(signed_at.timestamp()))
    assert payload["jti"] == url


async def test_the_form_follows_accept_and_no_accept_at_all_gets_the_jwt(
    provider: Provider, public: Any
):
    """openbadgeslib (urllib) sends no Accept header and reads lists only as VC-JWTs."""
    url = _entry((await _issue(provider))["credential"], "revocation")["statusListCredential"]

    async def form(accept: str | None) -> str:
        request = public.build_request("GET", url)
        if accept is None:
            del request.headers["accept"]
        else:
            request.headers["accept"] = accept
        response = await public.send(request)
        assert response.status_code == 200
        media_type: str = response.headers["content-type"].split(";")[0]
        return media_type

    assert await form(None) == "application/jwt"
    assert await form("*/*") == "application/vc+ld+json"
    assert await form("text/html,application/xhtml+xml,*/*;q=0.8") == "application/vc+ld+json"
    assert await form("application/ld+json, application/json") == "application/vc+ld+json"
    assert await form("application/vc+ld+json, application/vc+jwt") == "application/vc+ld+json"
    assert await form("application/vc+jwt, application/vc+ld+json") == "application/vc+jwt"
    assert await form("application/json;q=0.5, application/jwt") == "application/jwt"


async def test_each_form_has_its_own_etag_and_answers_304_to_it(provider: Provider, public: Any):
    url = _entry((await _issue(provider))["credential"], "revocation")["statusListCredential"]
    as_json = await public.get(url)
    as_jwt = await public.get(url, headers=VC_JWT)
    json_tag, jwt_tag = as_json.headers["etag"], as_jwt.headers["etag"]

    jwt_again = await public.get(url, headers=VC_JWT | {"If-None-Match": jwt_tag})
    json_again = await public.get(url, headers={"If-None-Match": json_tag})
    jwt_with_json_tag = await public.get(url, headers=VC_JWT | {"If-None-Match": json_tag})
    json_with_jwt_tag = await public.get(url, headers={"If-None-Match": jwt_tag})

    assert json_tag != jwt_tag
    assert (jwt_again.status_code, jwt_again.headers["etag"]) == (304, jwt_tag)
    assert (json_again.status_code, json_again.headers["etag"]) == (304, json_tag)
    assert (jwt_with_json_tag.status_code, jwt_with_json_tag.text) == (200, as_jwt.text)
    assert (json_with_jwt_tag.status_code, json_with_jwt_tag.text) == (200, as_json.text)
    for response in (as_json, as_jwt, jwt_again, json_again):
        assert response.headers["vary"] == "Accept"


async def test_revoking_re_signs_the_jwt_form_with_the_new_bit(
    provider: Provider, public: Any, issuer: Any
):
    issued = await _issue(provider)
    entry = _entry(issued["credential"], "revocation")
    before = await public.get(entry["statusListCredential"], headers=VC_JWT)

    await provider.http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "error"})
    after = await public.get(
        entry["statusListCredential"], headers=VC_JWT | {"If-None-Match": before.headers["etag"]}
    )

    assert after.status_code == 200
    listed = verify_vc_jwt(after.text, _list_key(issuer).public_key)
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    assert get_bit(bits, int(entry["statusListIndex"])) is True


async def test_a_list_signed_before_lists_had_a_jwt_gets_one_when_first_asked(
    provider: Provider, public: Any, sessions: Any, issuer: Any
):
    url = _entry((await _issue(provider))["credential"], "revocation")["statusListCredential"]
    list_id = uuid.UUID(url.rsplit("/", 1)[1])
    async with transaction(sessions) as session:
        await session.execute(update(StatusList).where(StatusList.id == list_id).values(jwt=None))

    response = await public.get(url, headers=VC_JWT)

    assert response.status_code == 200
    assert verify_vc_jwt(response.text, _list_key(issuer).public_key)["id"] == url
    async with sessions() as session:
        stored = await session.get(StatusList, list_id)
        assert stored is not None and stored.jwt == response.text


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


async def test_suspension_is_lifted_by_unsuspend(suspending: Provider, public: Any):
    issued = await _issue(suspending)
    entry = _entry(issued["credential"], "suspension")
    revocation = _entry(issued["credential"], "revocation")

    suspended = await suspending.http.post(
        f"/v1/credentials/{issued['id']}/suspend", json={"reason": "under review"}
    )
    assert suspended.json()["status"] == "suspended" and await _bit(public, entry)
    lifted = await suspending.http.post(
        f"/v1/credentials/{issued['id']}/unsuspend", json={"reason": "review closed"}
    )

    assert lifted.json()["status"] == "active"
    assert await _bit(public, entry) is False
    assert await _bit(public, revocation) is False


async def test_a_credential_without_a_suspension_entry_cannot_be_suspended(
    provider: Provider, public: Any
):
    """Its bits live only in the lists it has entries in: no verifier could see a suspension."""
    before_opt_in = await _issue(provider)
    entry = _entry(before_opt_in["credential"], "revocation")
    etag = (await public.get(entry["statusListCredential"])).headers["etag"]
    await _opt_in(provider)  # opting in later does not give earlier credentials an entry
    base = f"/v1/credentials/{before_opt_in['id']}"

    refused = await provider.http.post(f"{base}/suspend", json={"reason": "under review"})

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cannot be suspended" in refused.json()["detail"]
    assert "suspension status entry" in refused.json()["detail"]
    unchanged = await public.get(entry["statusListCredential"], headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    events = (await provider.http.get(f"{base}/status")).json()["events"]
    assert [event["eventType"] for event in events] == ["issued"]
    revoked = await provider.http.post(f"{base}/revoke", json={"reason": "awarded in error"})
    assert revoked.status_code == 200 and await _bit(public, entry) is True


async def test_opting_out_keeps_earlier_suspension_entries_usable(
    suspending: Provider, public: Any
):
    issued = await _issue(suspending)
    await _opt_in(suspending, enabled=False)
    later = (await _issue(suspending))["credential"]

    suspended = await suspending.http.post(
        f"/v1/credentials/{issued['id']}/suspend", json={"reason": "under review"}
    )

    assert isinstance(later["credentialStatus"], dict)
    assert suspended.status_code == 200, suspended.text
    assert await _bit(public, _entry(issued["credential"], "suspension")) is True


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
    from badges.issuers.issuers import (
        IssuerDetails,
        create_issuer,
    )
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


async def test_parallel_single_issues_and_batches_never_share_a_status_position(
    suspending: Provider, sessions: Any
):
    """Positions are reserved ahead in blocks and handed out from memory: under 60 parallel
    single issues (each with a revocation and a suspension entry) and two batches at once,
    every entry still names its own position, and the stored rows agree with the documents."""
    achievement = await suspending.create_achievement()
    award = {"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}}
    singles = [
        suspending.http.post(f"/v1/issuers/{suspending.slug}/credentials", json=award)
        for _ in range(60)
    ]
    batches = [
        suspending.http.post(
            f"/v1/issuers/{suspending.slug}/credentials:batch", json={"items": [award] * 20}
        )
        for _ in range(2)
    ]

    responses = await asyncio.gather(*singles, *batches)

    assert [response.status_code for response in responses] == [201] * 60 + [200] * 2
    credentials = [response.json()["credential"] for response in responses[:60]]
    credentials += [item["credential"] for r in responses[60:] for item in r.json()["results"]]
    positions = [
        (entry["statusListCredential"], int(entry["statusListIndex"]))
        for credential in credentials
        for entry in _entries(credential)
    ]
    assert len(positions) == len(set(positions)) == 200
    async with sessions() as session:
        stored = (
            await session.execute(
                select(CredentialStatusEntry.status_list_id, CredentialStatusEntry.list_index)
                .join(Credential)
                .where(Credential.issuer_id == suspending.issuer.id)
            )
        ).all()
    assert len(stored) == len(set(stored)) == 200
    assert {(str(list_id), index) for list_id, index in stored} == {
        (url.rsplit("/", 1)[1], index) for url, index in positions
    }


@pytest.fixture
def moved_server(settings: Any) -> Iterator[str]:
    """The same service over the same database, after its public URL changed (another host:
    here another port, so its did:web DIDs differ from the first server's)."""
    port = free_port()
    yield from serve(
        settings.model_copy(update={"port": port, "public_url": f"http://127.0.0.1:{port}"})
    )


async def test_a_service_whose_public_url_changed_still_revokes_what_it_issued_before(
    provider: Provider, sessions: Any, issuer: Any, moved_server: str
):
    issued = await _issue(provider)
    entry = _entry(issued["credential"], "revocation")
    old_did = issued["credential"]["issuer"]["id"]
    list_path = entry["statusListCredential"].removeprefix(str(provider.http.base_url))
    moved = await make_provider(moved_server, sessions, issuer, ("credentials:revoke",))
    async with moved.http:
        response = await moved.http.post(
            f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
        )
        listed = await moved.http.get(list_path, headers=VC_JWT)
        did_document = (await moved.http.get(f"/issuers/{issuer.slug}/did.json")).json()

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"
    # Re-signed by the issuer's current key under the DID this service now publishes (the
    # old host's DID no longer resolves here); verifiers only warn that the signer differs.
    document = verify_vc_jwt(listed.text, _list_key(issuer).public_key)
    new_did = did_document["id"]
    assert new_did != old_did
    assert document["issuer"] == new_did
    assert decode_unverified(listed.text)[0]["kid"] in {
        method["id"] for method in did_document["verificationMethod"]
    }
    bits = decode_list(document["credentialSubject"]["encodedList"])
    assert get_bit(bits, int(entry["statusListIndex"])) is True


async def test_parallel_revocations_all_reach_the_list(provider: Provider, public: Any):
    """Each revocation re-signs the list from the bits it read: on SQLite (where FOR UPDATE
    locks nothing) two at once once published only the later one's bit."""
    achievement = await provider.create_achievement()
    issued = []
    for _ in range(12):
        response = await provider.issue(achievement["id"])
        assert response.status_code == 201, response.text
        issued.append(response.json())

    answers = await asyncio.gather(
        *(
            provider.http.post(f"/v1/credentials/{item['id']}/revoke", json={"reason": "error"})
            for item in issued
        )
    )

    assert [answer.status_code for answer in answers] == [200] * len(issued)
    entries = [_entry(item["credential"], "revocation") for item in issued]
    assert [await _bit(public, entry) for entry in entries] == [True] * len(issued)


async def test_one_credential_revoked_twice_at_once_is_revoked_once(provider: Provider):
    issued = await _issue(provider)
    path = f"/v1/credentials/{issued['id']}/revoke"

    answers = await asyncio.gather(
        *(provider.http.post(path, json={"reason": f"reason {n}"}) for n in range(4))
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409]
    events = answers[[a.status_code for a in answers].index(200)].json()["events"]
    assert len(events) == 2, events  # issued, then revoked once
