"""Every kind of credential Lattice issues verifies with verifiers other people wrote.

The Node harness (../shared/interop) runs DCC's verifier-core and Digital Bazaar's `vc`
on Data Integrity credentials and `jose` on VC-JWTs; each resolves the issuer's key
itself (did:web from this service on loopback, or did:key). Tampered copies must fail
the signature check in each of them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import (
    KeyVault,
    get_issuer,
    rotate_keys,
)
from keys.multikey import did_key_for
from keys.vc_jwt import decode_unverified
from storage.session import transaction
from tests.builders import unsigned_open_badge
from tests.conftest import Provider, node_verify

pytestmark = pytest.mark.interop

RECIPIENT_DID = did_key_for(Ed25519PrivateKey.generate().public_key())
DATA_INTEGRITY_VERIFIERS = {"core", "vc"}


def assert_verified(reports: list[dict[str, Any]], verifiers: set[str]) -> None:
    assert {report["verifier"] for report in reports} == verifiers, reports
    for report in reports:
        assert report["verified"] is True, report
        assert report["checks"]["signature"] is True, report


def assert_signature_rejected(reports: list[dict[str, Any]], verifiers: set[str]) -> None:
    assert {report["verifier"] for report in reports} == verifiers, reports
    for report in reports:
        assert report["verified"] is False, report
        assert report["checks"]["signature"] is False, report


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


async def issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def rotate(sessions: async_sessionmaker[AsyncSession], vault: KeyVault, slug: str) -> None:
    async with transaction(sessions) as session:
        await rotate_keys(session, vault, await get_issuer(session, slug))


# Data Integrity (eddsa-rdfc-2022), fetched by URL the way a verifier would.

VARIANTS = {
    "default award": {},
    "evidence, results and validUntil": {
        "evidence": [
            {
                "url": "https://example.org/evidence/lesson-plan",
                "name": "Lesson plan",
                "narrative": "A close-reading lesson for grade 4.",
                "description": "Plan, student work and reflection.",
                "genre": "Lesson plan",
            }
        ],
        "results": [{"resultDescription": "lesson-plan", "achievedLevel": "proficient"}],
        "validUntil": "2035-06-30T00:00:00Z",
    },
    "hashed state educator id": {
        "recipient": {"email": "t@example.org", "educatorId": "123456", "state": "TX"}
    },
    "DID recipient": {"recipient": {"did": RECIPIENT_DID, "name": "Jane Doe"}},
    "did:key issuer": {"didMethod": "key", "jwtAlgorithm": "EdDSA"},
}


@pytest.mark.parametrize("fields", VARIANTS.values(), ids=VARIANTS.keys())
async def test_an_issued_credential_verifies_by_its_url_in_both_verifiers(
    provider: Provider, fields: dict[str, Any]
):
    credential = await issued(provider, **fields)

    assert_verified(node_verify(credential["url"], "--verifier", "all"), DATA_INTEGRITY_VERIFIERS)


async def test_credentials_signed_before_and_after_a_key_rotation_both_verify(
    provider: Provider, sessions, vault
):
    before = await issued(provider)
    await rotate(sessions, vault, provider.slug)
    after = await issued(provider)

    old_method = before["credential"]["proof"][0]["verificationMethod"]
    new_method = after["credential"]["proof"][0]["verificationMethod"]
    assert new_method != old_method
    assert old_method.split("#")[0] == new_method.split("#")[0]
    for credential in (before, after):
        reports = node_verify(credential["url"], "--verifier", "all")
        assert_verified(reports, DATA_INTEGRITY_VERIFIERS)


VC_API_CONTEXTS = {
    "vcdm-2.0": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "vcdm-1.1": [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://w3id.org/security/data-integrity/v2",
    ],
}


@pytest.mark.parametrize("contexts", VC_API_CONTEXTS.values(), ids=VC_API_CONTEXTS.keys())
async def test_a_vc_api_credential_verifies_in_both_verifiers(
    provider: Provider, public, tmp_path, contexts: list[str]
):
    profile = (await public.get(f"/issuers/{provider.slug}")).json()
    unsigned = unsigned_open_badge(
        profile["id"], *contexts, subject_id=RECIPIENT_DID, issuer_name=profile["name"]
    )
    response = await provider.http.post(
        "/credentials/issue", json={"credential": unsigned, "options": {}}
    )
    assert response.status_code == 201, response.text

    path = write(tmp_path, "vc-api.json", json.dumps(response.json()["verifiableCredential"]))

    assert_verified(node_verify(path, "--verifier", "all"), DATA_INTEGRITY_VERIFIERS)


# VC-JWT: jose checks the JWS against the key the kid names in the issuer's DID document.


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_the_vc_jwt_verifies_with_jose(provider: Provider, tmp_path, algorithm: str):
    credential = await issued(provider, jwtAlgorithm=algorithm)
    header, _ = decode_unverified(credential["jwt"])
    assert header["alg"] == algorithm

    reports = node_verify(write(tmp_path, "credential.jwt", credential["jwt"]), "--verifier", "all")

    assert_verified(reports, {"jose"})


# Tampering after signing.


def rename_credential(credential: dict[str, Any]) -> None:
    credential["name"] = "A Badge Never Awarded"


def rename_achievement(credential: dict[str, Any]) -> None:
    credential["credentialSubject"]["achievement"]["name"] = "A Badge Never Awarded"


@pytest.mark.parametrize("tamper", [rename_credential, rename_achievement])
async def test_a_credential_changed_after_signing_fails_the_signature_check(
    provider: Provider, tmp_path, tamper
):
    credential = (await issued(provider))["credential"]
    tamper(credential)

    reports = node_verify(
        write(tmp_path, "tampered.json", json.dumps(credential)), "--verifier", "all"
    )

    assert_signature_rejected(reports, DATA_INTEGRITY_VERIFIERS)


def flip_payload_character(token: str, old: str, new: str) -> str:
    """The token with one character of its payload JSON changed; header and signature kept."""
    header, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert old in text
    changed = base64.urlsafe_b64encode(text.replace(old, new, 1).encode()).rstrip(b"=")
    return f"{header}.{changed.decode()}.{signature}"


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_a_vc_jwt_with_a_changed_payload_fails_with_jose(
    provider: Provider, tmp_path, algorithm: str
):
    token = (await issued(provider, jwtAlgorithm=algorithm))["jwt"]
    tampered = flip_payload_character(token, "Close Reading", "Close Readinf")

    reports = node_verify(write(tmp_path, "tampered.jwt", tampered), "--verifier", "all")

    assert_signature_rejected(reports, {"jose"})
