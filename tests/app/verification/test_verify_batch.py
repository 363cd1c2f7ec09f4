"""`POST /v1/verify:batch`: up to 500 credentials, each with its own report or problem, and a
receipt signed by the service that third-party verifiers accept."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.errors import InvalidInput
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from keys.data_integrity import verify_document
from keys.multikey import decode_ed25519_public_key
from storage.session import transaction
from tests.conftest import Provider, node_verify
from tests.verification.support import DidKeyIssuer, LocalServer


async def _issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def sha256_sri(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, separators=(",", ":"))
    )
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


async def test_each_item_gets_its_own_report_or_problem(
    provider: Provider, public: httpx.AsyncClient, settings: Any
):
    issued, revoked = await _issued(provider), await _issued(provider)
    await provider.http.post(f"/v1/credentials/{revoked['id']}/revoke", json={"reason": "error"})
    tampered = copy.deepcopy(issued["credential"])
    tampered["credentialSubject"]["achievement"]["name"] = "Something grander"
    items: list[Any] = [
        {"url": issued["url"]},
        {"jwt": issued["jwt"]},
        {"credential": tampered},
        {"url": revoked["url"]},
        {"credential": DidKeyIssuer().issue()},
        "not an object",
        {"jwt": "not a jwt"},
        {"url": f"{settings.public_url}/credentials/00000000-0000-4000-8000-000000000000"},
        {"url": f"{settings.public_url}/v1/issuers/x/credentials"},
        {"credential": {"a": 1}, "jwt": "x.y.z"},
    ]

    response = await public.post("/v1/verify:batch", json={"items": items})

    assert response.status_code == 200, response.text
    answer = response.json()
    results = answer["results"]
    assert [result["index"] for result in results] == list(range(len(items)))
    assert [result["status"] for result in results] == [200] * 5 + [422] * 5
    verdicts = [result["report"]["verdict"] for result in results[:5]]
    assert verdicts == ["verified", "verified", "invalid", "revoked", "verified"]
    problems = [result["problem"] for result in results[5:]]
    assert [problem.get("errors", [{}])[0].get("field") for problem in problems] == [
        None,
        "jwt",
        "url",
        "url",
        None,
    ]
    assert answer["summary"] == {
        "total": 10,
        "verdicts": {"verified": 3, "invalid": 1, "revoked": 1, "rejected": 5},
    }
    assert "receipt" not in answer


async def test_the_receipt_is_signed_by_the_service_and_names_each_item(
    provider: Provider, public: httpx.AsyncClient, tmp_path: Path
):
    issued = await _issued(provider)
    foreign = DidKeyIssuer().issue()
    anonymous = DidKeyIssuer().issue()
    del anonymous["id"]
    items: list[Any] = [
        {"url": issued["url"]},
        {"credential": foreign},
        {"jwt": issued["jwt"]},
        {"credential": anonymous},
        42,
    ]

    response = await public.post("/v1/verify:batch", json={"items": items, "receipt": True})

    assert response.status_code == 200, response.text
    receipt = response.json()["receipt"]
    assert receipt["type"] == ["VerifiableCredential"]
    assert receipt["issuer"]["id"].endswith(":issuers:lattice")
    subjects = receipt["credentialSubject"]
    assert [subject["description"] for subject in subjects] == [
        "verified",
        "verified",
        "verified",
        "invalid",  # an OB credential needs an id
        "rejected",
    ]
    assert [subject["id"] for subject in subjects[:3]] == [
        issued["credential"]["id"],
        foreign["id"],
        issued["credential"]["id"],
    ]
    assert subjects[1]["digestSRI"] == sha256_sri(foreign)
    assert subjects[2]["digestSRI"] == sha256_sri(issued["jwt"])
    assert subjects[3]["id"].startswith("ni:///sha-256;")
    assert subjects[4]["digestSRI"] == sha256_sri(42)
    assert "digestSRI" not in subjects[0]

    # Its proof holds with the key the lattice issuer publishes ...
    did_document = (await public.get("/issuers/lattice/did.json")).json()
    method = next(
        item
        for item in did_document["verificationMethod"]
        if item["id"] == receipt["proof"]["verificationMethod"]
    )
    key = decode_ed25519_public_key(method["publicKeyMultibase"])
    assert verify_document(receipt, key).verified
    # ... and both independent verifiers accept it (JSON-LD safe mode: no undefined term).
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    reports = node_verify(path, "--verifier", "all")
    assert [(report["verifier"], report["verified"]) for report in reports] == [
        ("core", True),
        ("vc", True),
    ], reports


async def test_500_items_are_accepted_and_501_are_not(public: httpx.AsyncClient):
    item = {"jwt": "not a jwt"}

    full = await public.post("/v1/verify:batch", json={"items": [item] * 500})
    over = await public.post("/v1/verify:batch", json={"items": [item] * 501})

    assert full.status_code == 200
    assert full.json()["summary"] == {"total": 500, "verdicts": {"rejected": 500}}
    assert over.status_code == 413
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["errors"] == [{"field": "items", "detail": "501 > 500"}]


async def test_a_malformed_batch_is_a_clear_client_error(public: httpx.AsyncClient):
    cases: list[tuple[Any, str]] = [
        ({"items": []}, "items"),
        ({"items": {"url": "https://example.org"}}, "items"),
        ({"items": [{"jwt": "a.b.c"}], "extra": 1}, "extra"),
        ({"items": [{"jwt": "a.b.c"}], "receipt": "please"}, "receipt"),
        ([], ""),
    ]
    for body, field in cases:
        response = await public.post("/v1/verify:batch", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field

    for content in (b"{nope", b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        response = await public.post(
            "/v1/verify:batch", content=content, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text
    nan = await public.post(
        "/v1/verify:batch",
        content=b'{"items": [{"credential": {"a": NaN}}]}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 200
    assert nan.json()["results"][0]["problem"]["errors"][0]["field"] == "credential"


async def test_a_fetched_credential_with_nan_is_reported_not_a_500(public: httpx.AsyncClient):
    with LocalServer() as elsewhere:
        url = elsewhere.serve("/badge.json", b'{"@context": [], "type": [], "x": NaN}')
        response = await public.post("/v1/verify:batch", json={"items": [{"url": url}]})

    assert response.status_code == 200, response.text
    item = response.json()["results"][0]
    assert item["status"] == 422
    assert "NaN" in item["problem"]["detail"]


async def test_providers_cannot_take_the_service_issuer_slug(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault
):
    with pytest.raises(InvalidInput, match="reserved"):
        async with transaction(sessions) as session:
            await create_issuer(session, vault, IssuerDetails(slug="lattice", name="Imposter"))
