"""A CLR's contained credentials are each verified: its own proof only says the issuer
assembled them. A forged one makes the record invalid; a revoked one is told, not fatal."""

from __future__ import annotations

import json
from typing import Any

from keys.keypair import KeyAlgorithm, KeyPair
from keys.vc_jwt import encode_vc_jwt
from tests.verification.support import (
    V2,
    DidKeyIssuer,
    fixed_clock,
    signed_status_list,
    status_entry,
    tampered,
)
from verification import Dimension, Verdict, Verifier
from verification.fetch import MappedFetcher

CLR = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
LIST_URL = "https://status.example/lists/1"


def learner_record(issuer: DidKeyIssuer, *contained: Any) -> dict[str, Any]:
    """A ClrCredential from `issuer` carrying `contained` (signed badges or VC-JWTs)."""
    return issuer.sign(
        {
            "@context": [V2, CLR, OB],
            "id": "urn:uuid:7f1c2a4e-2b61-4d0c-9d6e-0e0b8f3c1a22",
            "type": ["VerifiableCredential", "ClrCredential"],
            "issuer": {"id": issuer.did, "type": ["Profile"], "name": "State agency"},
            "validFrom": "2025-02-01T00:00:00Z",
            "name": "Learner record",
            "credentialSubject": {
                "id": "did:example:teacher-1",
                "type": ["ClrSubject"],
                "verifiableCredential": list(contained),
            },
        }
    )


def verifier(documents: dict[str, Any] | None = None) -> Verifier:
    served = {url: json.dumps(body) for url, body in (documents or {}).items()}
    return Verifier(fetcher=MappedFetcher(served), clock=fixed_clock)


async def test_a_record_of_genuine_badges_is_verified_with_each_one() -> None:
    agency, provider = DidKeyIssuer(), DidKeyIssuer()
    badge = provider.issue()
    token = encode_vc_jwt(
        provider.issue(id="urn:uuid:00000000-0000-4000-8000-000000000002"),
        KeyPair(KeyAlgorithm.ED25519, provider.key),
        kid=provider.vm,
    )
    enveloped = {
        "@context": V2,
        "id": f"data:application/vc+jwt,{token}",
        "type": "EnvelopedVerifiableCredential",
    }
    report = await verifier().verify(learner_record(agency, badge, enveloped))
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.dimensions[Dimension.CONTENTS].state == "verified"
    assert "all 2 contained credential(s) verified" in report.check("contained_credentials").message


async def test_a_forged_badge_inside_makes_the_record_invalid() -> None:
    agency, provider = DidKeyIssuer(), DidKeyIssuer()
    report = await verifier().verify(learner_record(agency, tampered(provider.issue())))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "contained_credentials"
    assert report.dimensions[Dimension.AUTHENTICITY].state == "authentic"
    assert report.reason is not None and report.reason.startswith("signature valid; ")


async def test_a_revoked_badge_inside_is_told_and_the_record_stands() -> None:
    agency, provider = DidKeyIssuer(), DidKeyIssuer()
    revoked = provider.issue(credentialStatus=status_entry(LIST_URL, 3))
    lists = {LIST_URL: signed_status_list(provider, LIST_URL, "revocation", 3)}
    report = await verifier(lists).verify(learner_record(agency, revoked))
    assert report.verdict is Verdict.VERIFIED
    check = report.check("contained_credentials")
    assert check.status.value == "warning"
    assert "is revoked" in check.message
