"""The verdict model: each dimension answers for itself, and the verdict shows the most
useful truth first (authenticity, then the issuer's word on status and dates, then
conformance). One credential per rule, signed here with real keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.verification.support import (
    V2,
    DidKeyIssuer,
    credential,
    fixed_clock,
    signed_status_list,
    status_entry,
    tampered,
)
from verification import Dimension, Verdict, Verifier
from verification.fetch import MappedFetcher
from verification.issuer_registry import RegistryFileError, StaticIssuerRegistry

LIST_URL = "https://status.example/lists/1"
VC1 = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"


def verifier(documents: dict[str, Any] | None = None) -> Verifier:
    served = {url: json.dumps(body) for url, body in (documents or {}).items()}
    return Verifier(fetcher=MappedFetcher(served), clock=fixed_clock)


def anonymous_badge(issuer: DidKeyIssuer, **extra: Any) -> dict[str, Any]:
    """A badge whose subject has neither `id` nor `identifier` (OB 3.0 requires one)."""
    document = credential(issuer.did, **extra)
    del document["credentialSubject"]["id"]
    return document


def states(report: Any) -> dict[str, str]:
    return {dimension.value: result.state for dimension, result in report.dimensions.items()}


async def test_a_verified_badge_is_authentic_active_current_and_conforming() -> None:
    issuer = DidKeyIssuer()
    report = await verifier().verify(issuer.issue())
    assert report.verdict is Verdict.VERIFIED
    assert report.reason is None
    assert states(report) == {
        "authenticity": "authentic",
        "status": "not_checked",
        "validity": "current",
        "conformance": "conforms",
        "recipient": "not_checked",
        "endorsements": "not_checked",
        "issuer": "not_checked",
        "contents": "not_checked",
    }


async def test_conformance_problem_does_not_hide_a_valid_signature() -> None:
    issuer = DidKeyIssuer()
    report = await verifier().verify(issuer.sign(anonymous_badge(issuer)))
    assert report.verdict is Verdict.INVALID  # OB 3.0 §9.1 step 1 fails the badge
    assert report.decided_by is not None and report.decided_by.id == "data_model"
    assert report.dimensions[Dimension.AUTHENTICITY].state == "authentic"
    assert report.dimensions[Dimension.CONFORMANCE].state == "does_not_conform"
    assert report.reason is not None
    assert report.reason.startswith(
        "signature valid; the credential does not conform to Open Badges 3.0 because"
    )
    assert '"id" or at least one "identifier"' in report.reason


async def test_expired_badge_is_expired_even_when_it_does_not_conform() -> None:
    issuer = DidKeyIssuer()
    expired = anonymous_badge(issuer, validUntil="2025-06-01T00:00:00Z")
    report = await verifier().verify(issuer.sign(expired))
    assert report.verdict is Verdict.EXPIRED
    assert report.dimensions[Dimension.VALIDITY].state == "expired"
    assert report.dimensions[Dimension.CONFORMANCE].state == "does_not_conform"
    assert report.reason == "signature valid; expired on 2025-06-01T00:00:00Z"


async def test_revoked_badge_is_revoked_even_when_it_does_not_conform() -> None:
    issuer = DidKeyIssuer()
    revoked = issuer.sign(anonymous_badge(issuer, credentialStatus=status_entry(LIST_URL, 7)))
    lists = {LIST_URL: signed_status_list(issuer, LIST_URL, "revocation", 7)}
    report = await verifier(lists).verify(revoked)
    assert report.verdict is Verdict.REVOKED
    assert report.dimensions[Dimension.STATUS].state == "revoked"
    assert report.dimensions[Dimension.AUTHENTICITY].state == "authentic"
    assert report.dimensions[Dimension.CONFORMANCE].state == "does_not_conform"


async def test_unreachable_status_list_leaves_status_unknown_not_the_signature() -> None:
    issuer = DidKeyIssuer()
    badge = issuer.issue(credentialStatus=status_entry(LIST_URL, 7))
    report = await verifier().verify(badge)  # the list is not served
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert report.dimensions[Dimension.AUTHENTICITY].state == "authentic"
    assert report.dimensions[Dimension.STATUS].state == "unknown"
    assert report.reason is not None and report.reason.startswith("signature valid; ")


async def test_a_tampered_badge_is_not_authentic_whatever_else_holds() -> None:
    issuer = DidKeyIssuer()
    forged = tampered(issuer.sign(anonymous_badge(issuer, validUntil="2025-06-01T00:00:00Z")))
    report = await verifier().verify(forged)
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"
    assert report.dimensions[Dimension.AUTHENTICITY].state == "not_authentic"
    assert report.reason is not None and "signature valid" not in report.reason


async def test_a_plain_vcdm_2_credential_is_verified_as_a_credential() -> None:
    """Not an Open Badge: the VC checks apply, the Open Badges rules and schema do not."""
    issuer = DidKeyIssuer()
    plain = issuer.sign(
        {
            "@context": [V2],
            "id": "urn:uuid:5b0f8c1e-2f7c-4a51-9a55-0c1c7d7e2f10",
            "type": ["VerifiableCredential"],
            "issuer": issuer.did,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:teacher-1", "name": "Licensed teacher"},
        }
    )
    report = await verifier().verify(plain)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert "not an Open Badge" in report.check("data_model").message
    assert report.check("schema").status.value == "not_applicable"


async def test_a_plain_vcdm_1_1_credential_is_verified_as_a_credential() -> None:
    issuer = DidKeyIssuer()
    plain = issuer.sign(
        {
            "@context": [VC1, DATA_INTEGRITY_V2],
            "id": "urn:uuid:0d7c2b7e-8f0c-4f53-a0a8-73c8d8a3b1c2",
            "type": ["VerifiableCredential"],
            "issuer": issuer.did,
            "issuanceDate": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:teacher-1"},
        }
    )
    report = await verifier().verify(plain)
    assert report.verdict is Verdict.VERIFIED, report.to_json()


async def test_a_vcdm_1_1_credential_without_issuance_date_does_not_conform() -> None:
    issuer = DidKeyIssuer()
    undated = issuer.sign(
        {
            "@context": [VC1, DATA_INTEGRITY_V2],
            "type": ["VerifiableCredential"],
            "issuer": issuer.did,
            "credentialSubject": {"id": "did:example:teacher-1"},
        }
    )
    report = await verifier().verify(undated)
    assert report.verdict is Verdict.INVALID
    assert report.reason == (
        "signature valid; the credential does not conform to the Verifiable Credentials data "
        'model because "issuanceDate" is required by VCDM 1.1'
    )


async def test_the_report_carries_each_dimension_with_its_checks() -> None:
    issuer = DidKeyIssuer()
    report = (await verifier().verify(issuer.sign(anonymous_badge(issuer)))).to_json()
    assert set(report["dimensions"]) == {d.value for d in Dimension}
    authenticity = report["dimensions"]["authenticity"]
    assert authenticity["state"] == "authentic"
    assert authenticity["checks"] == ["parse", "jsonld", "proof", "key_binding"]
    assert report["dimensions"]["issuer"]["checks"] == ["known_issuer"]
    assert report["dimensions"]["conformance"]["checks"] == ["data_model", "schema", "refresh"]
    assert all("dimension" in check for check in report["checks"])
    assert report["reason"].startswith("signature valid;")


async def test_a_registry_names_an_authentic_issuer_and_never_a_forger() -> None:
    issuer, impostor = DidKeyIssuer(), DidKeyIssuer()
    registry = StaticIssuerRegistry.from_document(
        {"registry": {issuer.did: {"name": "District 9 PD", "url": "https://d9.example"}}},
        "registry states.json",
    )
    checking = Verifier(fetcher=MappedFetcher({}), clock=fixed_clock, issuer_registry=registry)

    listed = await checking.verify(issuer.issue())
    assert listed.verdict is Verdict.VERIFIED
    assert listed.dimensions[Dimension.ISSUER].state == "known"
    assert "listed by registry states.json as District 9 PD" in listed.check("known_issuer").message

    unlisted = await checking.verify(impostor.issue())
    assert unlisted.verdict is Verdict.VERIFIED  # most genuine issuers are in no registry
    assert unlisted.dimensions[Dimension.ISSUER].state == "not_listed"

    # Signed by the impostor in the listed issuer's name: the name is never lent to it.
    forged = await checking.verify(impostor.sign(credential(issuer.did)))
    assert forged.verdict is Verdict.INVALID
    assert forged.dimensions[Dimension.ISSUER].state == "not_checked"


def test_a_registry_file_that_is_not_a_registry_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"issuers": []}', encoding="utf-8")
    with pytest.raises(RegistryFileError, match=r"broken\.json"):
        StaticIssuerRegistry.from_file(broken)


async def test_a_list_of_status_entries_is_a_conformance_warning_and_every_entry_is_read() -> None:
    """OB 3.0 allows one `credentialStatus`; VCDM 2.0 a list. Both entries still count."""
    issuer = DidKeyIssuer()
    suspended_url = "https://status.example/lists/suspension"
    entries = [status_entry(LIST_URL, 7), status_entry(suspended_url, 7, "suspension")]
    badge = issuer.issue(credentialStatus=entries)
    lists = {
        LIST_URL: signed_status_list(issuer, LIST_URL, "revocation"),
        suspended_url: signed_status_list(issuer, suspended_url, "suspension", 7),
    }
    report = await verifier(lists).verify(badge)
    assert report.verdict is Verdict.SUSPENDED
    schema = report.check("schema")
    assert schema.status.value == "warning"
    assert '"credentialStatus" is a list of 2' in schema.message
    assert report.dimensions[Dimension.CONFORMANCE].state == "conforms"
