"""W3C VC-API verifier over HTTP: `POST /credentials/verify` and `POST /presentations/verify`
answer 200 `{"verified": true, "checks", "warnings", "errors": []}`, or 400 with
`verified: false` and the errors; a request that cannot be read is a 422 problem."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.conftest import Provider
from tests.verification.support import DidKeyIssuer
from tests.verification.test_presentation import CHALLENGE, DOMAIN, presentation, sign_presentation

OPTIONS = {"challenge": CHALLENGE, "domain": DOMAIN}


async def _issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def enveloped(jwt: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/credentials/v2",
        "id": f"data:application/vc+jwt,{jwt}",
        "type": "EnvelopedVerifiableCredential",
    }


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["verified"] is False
    assert body["errors"][0]["field"] == field


# /credentials/verify


async def test_a_credential_in_each_form_is_verified(provider: Provider, public: httpx.AsyncClient):
    issued = await _issued(provider)

    for form in (issued["credential"], issued["jwt"], enveloped(issued["jwt"])):
        response = await public.post(
            "/credentials/verify", json={"verifiableCredential": form, "options": {}}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["verified"], result["errors"], result["verdict"]) == (True, [], "verified")
        assert {"proof", "key_binding", "status"} <= set(result["checks"])
        assert isinstance(result["warnings"], list)


def plain_credential(issuer: str, version: str) -> dict[str, Any]:
    """A credential that is not an Open Badge: a VC of either data model version."""
    if version == "2.0":
        return {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": issuer,
            "credentialSubject": {"id": "did:example:teacher-1", "name": "Licensed teacher"},
        }
    return {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:teacher-1"},
    }


@pytest.mark.parametrize("version", ["2.0", "1.1"])
async def test_a_plain_credential_signed_by_the_vc_api_issuer_is_verified(
    provider: Provider, public: httpx.AsyncClient, version: str
):
    """The service's own VC-API issuer and verifier agree on a VC that is no Open Badge."""
    did = (await public.get(f"/issuers/{provider.slug}")).json()["id"]
    response = await provider.http.post(
        "/credentials/issue", json={"credential": plain_credential(did, version), "options": {}}
    )
    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]

    verified = await public.post(
        "/credentials/verify", json={"verifiableCredential": signed, "options": {}}
    )
    assert verified.status_code == 200, verified.text
    assert (verified.json()["verified"], verified.json()["verdict"]) == (True, "verified")

    report = (await public.post("/v1/verify", json={"credential": signed})).json()
    assert report["verdict"] == "verified", report
    assert report["dimensions"]["authenticity"]["state"] == "authentic"
    assert "not an Open Badge" in report["dimensions"]["conformance"]["message"]


async def test_a_tampered_credential_is_400_naming_the_proof(
    provider: Provider, public: httpx.AsyncClient
):
    credential = copy.deepcopy((await _issued(provider))["credential"])
    credential["credentialSubject"]["achievement"]["name"] = "Something grander"

    response = await public.post("/credentials/verify", json={"verifiableCredential": credential})

    assert response.status_code == 400
    result = response.json()
    assert (result["verified"], result["verdict"]) == (False, "invalid")
    assert [error["check"] for error in result["errors"]] == ["proof"]
    assert result["errors"][0]["status"] == "failed" and result["errors"][0]["message"]
    assert "proof" not in result["checks"]


async def test_a_revoked_credential_is_400_revoked(provider: Provider, public: httpx.AsyncClient):
    issued = await _issued(provider)
    await provider.http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "error"})

    response = await public.post(
        "/credentials/verify", json={"verifiableCredential": issued["credential"]}
    )

    assert response.status_code == 400
    assert response.json()["verdict"] == "revoked"
    assert [error["check"] for error in response.json()["errors"]] == ["status"]


async def test_unreadable_requests_are_422_problems(public: httpx.AsyncClient):
    cases = [
        ({}, "verifiableCredential"),
        ({"verifiableCredential": 3}, "verifiableCredential"),
        ({"verifiableCredential": "not a jwt"}, "verifiableCredential"),
        (
            {
                "verifiableCredential": {
                    "id": "data:text/plain,hi",
                    "type": "EnvelopedVerifiableCredential",
                }
            },
            "verifiableCredential",
        ),
        ({"verifiableCredential": {"a": 1}, "extra": True}, "extra"),
    ]
    for body, field in cases:
        assert_refused(await public.post("/credentials/verify", json=body), field)

    not_finite = await public.post(
        "/credentials/verify",
        content=b'{"verifiableCredential": {"a": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert_refused(not_finite, "verifiableCredential")
    garbage = await public.post("/credentials/verify", content=b"{nope")
    assert garbage.status_code == 422 and garbage.json()["verified"] is False
    deep = b'{"verifiableCredential": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    too_deep = await public.post(
        "/credentials/verify", content=deep, headers={"content-type": "application/json"}
    )
    assert_refused(too_deep, "verifiableCredential")  # nested past 64 levels (app.limits)


# /presentations/verify


async def test_an_unsigned_presentation_is_verified_by_its_credentials(
    provider: Provider, public: httpx.AsyncClient
):
    issued = await _issued(provider)
    foreign = DidKeyIssuer().issue()
    vp = presentation(issued["credential"], enveloped(issued["jwt"]), foreign)

    as_vp = await public.post("/presentations/verify", json={"verifiablePresentation": vp})
    proofless = await public.post("/presentations/verify", json={"presentation": vp})

    for response in (as_vp, proofless):
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["verified"], result["errors"]) == (True, [])
        assert result["checks"] == ["presentation", "credentials"]
        assert [item["verdict"] for item in result["credentialResults"]] == ["verified"] * 3


async def test_a_signed_presentation_is_checked_against_the_challenge_and_domain(
    provider: Provider, public: httpx.AsyncClient
):
    holder = DidKeyIssuer()
    issued = await _issued(provider, recipient={"did": holder.did})
    signed = sign_presentation(presentation(issued["credential"], holder=holder.did), holder)

    right = await public.post(
        "/presentations/verify", json={"verifiablePresentation": signed, "options": OPTIONS}
    )
    replayed = await public.post(
        "/presentations/verify",
        json={"verifiablePresentation": signed, "options": {**OPTIONS, "challenge": "new"}},
    )

    assert right.status_code == 200, right.text
    assert right.json()["checks"] == [
        "presentation",
        "presentation_proof",
        "holder_binding",
        "credentials",
    ]
    assert replayed.status_code == 400
    assert [error["check"] for error in replayed.json()["errors"]] == ["presentation_proof"]


async def test_a_presentation_with_a_revoked_credential_is_400(
    provider: Provider, public: httpx.AsyncClient
):
    holder = DidKeyIssuer()
    good, revoked = await _issued(provider), await _issued(provider)
    await provider.http.post(f"/v1/credentials/{revoked['id']}/revoke", json={"reason": "error"})
    vp = presentation(good["credential"], revoked["credential"], holder=holder.did)

    response = await public.post(
        "/presentations/verify",
        json={"verifiablePresentation": sign_presentation(vp, holder), "options": OPTIONS},
    )

    assert response.status_code == 400
    result = response.json()
    assert [error["check"] for error in result["errors"]] == ["credentials"]
    assert "revoked" in result["errors"][0]["message"]
    assert [item["verdict"] for item in result["credentialResults"]] == ["verified", "revoked"]


async def test_unreadable_presentation_requests_are_422_problems(public: httpx.AsyncClient):
    vp = presentation()
    cases = [
        ({}, ""),
        ({"verifiablePresentation": vp, "presentation": vp}, ""),
        ({"verifiablePresentation": []}, "verifiablePresentation"),
        ({"verifiablePresentation": vp, "options": {"challenge": 7}}, "options.challenge"),
        ({"verifiablePresentation": presentation(*[{}] * 51)}, "verifiablePresentation"),
    ]
    for body, field in cases:
        response = await public.post("/presentations/verify", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["verified"] is False
        assert response.json()["errors"][0]["field"] == field, response.json()
