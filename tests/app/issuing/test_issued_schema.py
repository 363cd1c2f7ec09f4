"""Every credential the issue API can emit validates, whole, against the official OB 3.0 JSON
schema (1EdTech, Draft 2019-09), as a strict third-party backpack checks it.

The schema files are read straight from `schemas/spec/ob3/schemas` and applied with
`jsonschema` to the whole document: nothing is split or adjusted first, so a document that
breaks the schema anywhere (one `credentialStatus` object at most, 0..1) fails here.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft201909Validator, ValidationError

from badges.wallets.ob_clients import OB_SCOPES
from keys.multikey import did_key_for
from keys.vc_jwt import decode_unverified
from tests.app.wallets.test_ob_api import _authorized
from tests.conftest import AgencyClient, Provider

SCHEMA_DIR = Path(__file__).parents[3] / "schemas" / "spec" / "ob3" / "schemas"
CREDENTIAL = "ob_v3p0_achievementcredential-jsonschema1.json"
CREDENTIALS_RESPONSE = "ob_v3p0_getopenbadgecredentialsresponse-jsonschema1.json"
HOLDER = did_key_for(Ed25519PrivateKey.generate().public_key())


@cache
def _validator(name: str) -> Draft201909Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def _errors(document: Any, schema: str = CREDENTIAL) -> list[ValidationError]:
    return sorted(_validator(schema).iter_errors(document), key=lambda error: error.json_path)


def _readable(errors: list[ValidationError]) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in errors]


def _jwt_credential(token: str) -> dict[str, Any]:
    """VCDM 2.0 VC-JWT: the payload is the credential (plus the registered claims)."""
    _, payload = decode_unverified(token)
    return payload


def _both_forms(issued: dict[str, Any]) -> list[dict[str, Any]]:
    return [issued["credential"], _jwt_credential(issued["jwt"])]


async def _issue(provider: Provider, achievement: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


VARIANTS: dict[str, dict[str, Any]] = {
    "did:web, RS256 VC-JWT, e-mail recipient": {},
    "did:web, EdDSA VC-JWT": {"jwtAlgorithm": "EdDSA"},
    "did:key issuer": {"didMethod": "key", "jwtAlgorithm": "EdDSA"},
    "validFrom and validUntil": {
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2031-06-30T00:00:00Z",
    },
    "evidence, results, awardedDate": {
        "evidence": [
            {"url": "https://example.org/evidence/1", "name": "Lesson plan", "genre": "Plan"},
            {"narrative": "Observed teaching a close reading lesson.", "description": "Visit"},
        ],
        "results": [{"resultDescription": "lesson-plan", "achievedLevel": "proficient"}],
        "awardedDate": "2025-05-01T12:00:00Z",
    },
    "recipient by state educator id": {
        "recipient": {"educatorId": "1234567", "state": "TX", "name": "Ada Teacher"}
    },
    "recipient by DID": {"recipient": {"did": HOLDER}},
    "did:key issuer, DID recipient, everything": {
        "didMethod": "key",
        "jwtAlgorithm": "EdDSA",
        "recipient": {"did": HOLDER, "email": "ada@example.org", "educatorId": "77", "state": "CA"},
        "evidence": [{"url": "https://example.org/evidence/2"}],
        "results": [{"resultDescription": "lesson-plan", "achievedLevel": "developing"}],
        "awardedDate": "2025-05-01T12:00:00Z",
        "validUntil": "2030-01-01T00:00:00Z",
    },
}


@pytest.mark.parametrize("fields", VARIANTS.values(), ids=VARIANTS.keys())
async def test_each_award_variant_validates_whole_as_json_and_as_vc_jwt(
    provider: Provider, fields: dict[str, Any]
):
    issued = await _issue(provider, await provider.create_achievement(), **fields)

    for document in _both_forms(issued):
        assert _readable(_errors(document)) == []
    assert isinstance(issued["credential"]["credentialStatus"], dict)


async def test_batch_awards_validate_whole(provider: Provider):
    achievement = await provider.create_achievement()
    items = [
        {"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}},
        {
            "achievementId": achievement["id"],
            "recipient": {"did": HOLDER},
            "didMethod": "key",
            "jwtAlgorithm": "EdDSA",
        },
    ]

    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials:batch", json={"items": items}
    )

    results = response.json()["results"]
    assert len(results) == 2
    for result in results:
        for document in _both_forms(result):
            assert _readable(_errors(document)) == []


async def test_a_badge_aligned_to_stacks_and_lattice_roles_validates_whole(
    provider: Provider, agency: AgencyClient
):
    achievement = await provider.create_achievement(name="Phonics Instruction")
    approval = {
        "achievementId": achievement["url"],
        "purpose": "endorsement",
        "effectiveFrom": "2020-01-01T00:00:00Z",
    }
    assert (await agency.http.post("/v1/agency/approvals", json=approval)).status_code == 201
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "LIT-1",
            "name": "Literacy",
            "rule": {"atLeast": 1, "of": [achievement["url"]]},
        },
    )
    role = {"key": "reading-coach", "name": "Reading Coach", "rule": {"stack": stack.json()["id"]}}
    lattice = await agency.http.post(
        "/v1/agency/lattices", json={"name": "Career lattice", "roles": [role]}
    )
    assert (stack.status_code, lattice.status_code) == (201, 201)

    issued = await _issue(provider, achievement)

    alignment = issued["credential"]["credentialSubject"]["achievement"]["alignment"]
    assert {item["targetType"] for item in alignment} >= {
        "ext:MicroCredentialStack",
        "ext:CareerLatticeRole",
    }
    for document in _both_forms(issued):
        assert _readable(_errors(document)) == []


async def test_the_ob_api_credentials_page_validates_whole(
    provider: Provider, server: str, sessions: Any, vault: Any
):
    address = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    achievement = await provider.create_achievement()
    await _issue(provider, achievement, recipient={"email": address})
    await _issue(provider, achievement, recipient={"email": address}, didMethod="key")
    app = await _authorized(server, sessions, vault, address, " ".join(OB_SCOPES))

    page: httpx.Response = await app.http.get(app.api + "/credentials", headers=app.bearer())
    await app.http.aclose()

    assert page.status_code == 200, page.text
    body = page.json()
    assert len(body["credential"]) == 2
    assert _readable(_errors(body, CREDENTIALS_RESPONSE)) == []


async def test_an_issuer_with_suspension_breaks_only_the_status_multiplicity(provider: Provider):
    """The documented trade-off: two entries are VCDM 2.0, but the strict pre-v1.3 schema
    allows one `credentialStatus` object. Nothing else about the credential may fail."""
    opted_in = await provider.http.patch(
        f"/v1/issuers/{provider.slug}", json={"suspensionEnabled": True}
    )
    assert opted_in.status_code == 200, opted_in.text

    issued = await _issue(
        provider, await provider.create_achievement(), **VARIANTS["evidence, results, awardedDate"]
    )

    for document in _both_forms(issued):
        errors = _errors(document)
        assert [(error.json_path, error.validator) for error in errors] == [
            ("$.credentialStatus", "type")
        ], _readable(errors)
        assert len(document["credentialStatus"]) == 2
