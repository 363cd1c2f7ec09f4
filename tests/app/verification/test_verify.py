"""The public verifier over HTTP: a badge URL, a JSON credential, a JWT or a file."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from formats.baking import bake_png
from tests.builders import tiny_png
from tests.conftest import Provider
from tests.verification.support import DidKeyIssuer


async def _issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def test_an_own_badge_url_is_verified_from_the_store(provider: Provider, public: Any):
    issued = await _issued(provider, recipient={"email": "t@example.org", "name": "Ana Ruiz"})

    response = await public.post("/v1/verify", json={"url": issued["url"]})

    report = response.json()
    assert response.status_code == 200
    assert report["verdict"] == "verified", report
    assert report["display"]["achievementName"] == issued["credential"]["name"]
    assert report["display"]["recipient"] == "Ana Ruiz"
    assert {check["id"] for check in report["checks"]} >= {"proof", "status", "schema"}


async def test_a_json_credential_and_its_jwt_verify(provider: Provider, public: Any):
    issued = await _issued(provider)

    as_json = (await public.post("/v1/verify", json={"credential": issued["credential"]})).json()
    as_jwt = (await public.post("/v1/verify", json={"jwt": issued["jwt"]})).json()

    assert (as_json["verdict"], as_jwt["verdict"]) == ("verified", "verified")


async def test_a_tampered_credential_is_invalid_naming_the_proof(provider: Provider, public: Any):
    credential = copy.deepcopy((await _issued(provider))["credential"])
    credential["credentialSubject"]["achievement"]["name"] = "Something grander"

    report = (await public.post("/v1/verify", json={"credential": credential})).json()

    assert report["verdict"] == "invalid"
    assert next(c for c in report["checks"] if c["id"] == "proof")["status"] == "failed"


async def test_a_revoked_badge_is_reported_revoked(provider: Provider, public: Any):
    issued = await _issued(provider)
    await provider.http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "error"})

    report = (await public.post("/v1/verify", json={"url": issued["url"]})).json()

    assert report["verdict"] == "revoked"


async def test_an_expired_badge_is_reported_expired(provider: Provider, public: Any):
    issued = await _issued(
        provider, validFrom="2020-01-01T00:00:00Z", validUntil="2021-01-01T00:00:00Z"
    )

    report = (await public.post("/v1/verify", json={"url": issued["url"]})).json()

    assert report["verdict"] == "expired"


async def test_a_baked_png_upload_is_verified(provider: Provider, public: Any):
    issued = await _issued(provider)
    baked = bake_png(tiny_png(), issued["jwt"])

    response = await public.post("/v1/verify", files={"file": ("badge.png", baked, "image/png")})

    assert response.json()["verdict"] == "verified"


async def test_the_recipient_can_be_checked_against_the_hashed_email(
    provider: Provider, public: Any
):
    issued = await _issued(provider, recipient={"email": "Maria@Example.org"})

    right = (
        await public.post(
            "/v1/verify", json={"url": issued["url"], "recipient": {"email": "maria@example.org"}}
        )
    ).json()
    wrong = (
        await public.post(
            "/v1/verify", json={"url": issued["url"], "recipient": {"email": "someone@example.org"}}
        )
    ).json()

    assert next(c for c in right["checks"] if c["id"] == "recipient")["status"] == "passed"
    assert next(c for c in wrong["checks"] if c["id"] == "recipient")["status"] == "failed"


async def test_bad_input_is_a_clear_client_error(public: Any, settings: Any):
    cases = [
        ({"credential": {"a": 1}, "jwt": "x.y.z"}, None),
        ({"jwt": "not a jwt"}, "jwt"),
        ({"url": f"{settings.public_url}/v1/issuers/x/credentials"}, "url"),
        ({"url": "http://127.0.0.1:1/nothing-listens-here"}, "url"),
    ]
    for body, field in cases:
        response = await public.post("/v1/verify", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert response.json()["errors"][0]["field"] == field

    deep = {
        "credential": {
            "x": [
                [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        [
                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                                                                                        []
                                                                                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            ]
        }
    }
    response = await public.post("/v1/verify", json=deep)
    assert response.status_code == 422
    garbage = await public.post("/v1/verify", files={"file": ("x.png", b"\x89PNG" + b"\0" * 100)})
    assert garbage.status_code == 422


async def test_a_repeat_verification_still_sees_a_later_revocation(provider: Provider, public: Any):
    issued = await _issued(provider)
    first = (await public.post("/v1/verify", json={"credential": issued["credential"]})).json()
    await provider.http.post(f"/v1/credentials/{issued['id']}/revoke", json={"reason": "audit"})

    again = (await public.post("/v1/verify", json={"credential": issued["credential"]})).json()

    assert (first["verdict"], again["verdict"]) == ("verified", "revoked")
    assert [c["id"] for c in first["checks"]] == [c["id"] for c in again["checks"]]


UNKNOWN = "https://contexts.example/unknown/v1"


def _with_unknown_context(where: str) -> dict[str, Any]:
    """A signed badge naming a context this service does not bundle, in one place."""
    issuer = DidKeyIssuer()
    badge = issuer.issue()
    if where == "credential":
        badge["@context"] = [*badge["@context"], UNKNOWN]
    elif where == "nested":
        badge["credentialSubject"]["@context"] = UNKNOWN
    else:
        badge["proof"]["@context"] = [badge["@context"][0], UNKNOWN]
    return badge


@pytest.mark.parametrize("where", ["credential", "nested", "proof"])
async def test_an_unbundled_context_anywhere_is_cannot_verify_never_a_5xx(public: Any, where: str):
    badge = _with_unknown_context(where)

    report = await public.post("/v1/verify", json={"credential": badge})
    vc_api = await public.post(
        "/credentials/verify", json={"verifiableCredential": badge, "options": {}}
    )

    assert report.status_code == 200, report.text
    assert report.json()["verdict"] == "cannot_verify"
    assert UNKNOWN in report.json()["reason"]
    assert vc_api.status_code == 400, vc_api.text
    assert vc_api.json()["verdict"] == "cannot_verify"
