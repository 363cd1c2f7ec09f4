"""The verifier end to end, on credentials signed here with real keys (did:key unless the
test is about another key source); one failure per test, asserting the check that fired."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from badges.issuing.recipients import (
    Recipient,
    identities_for,
)
from keys.data_integrity import sign_document
from keys.did_web import PublishedKey, build_did_document, multikey_id
from keys.keypair import KeyAlgorithm
from tests.verification.support import (
    NOW,
    SIGNED_AT,
    DidKeyIssuer,
    LocalServer,
    credential,
    fixed_clock,
    tampered,
)
from verification import (
    CheckStatus,
    FetchError,
    InputError,
    RecipientQuery,
    SafeFetcher,
    Verdict,
    Verifier,
)
from verification.fetch import DEFAULT_ACCEPT, FetchedDocument, MappedFetcher
from verification.resolvers import default_resolver

STEP_ORDER = [
    "parse",
    "data_model",
    "jsonld",
    "schema",
    "proof",
    "key_binding",
    "refresh",
    "status",
    "validity",
    "recipient",
    "endorsements",
    "contained_credentials",
    "known_issuer",
]


class NoNetwork:
    """A fetcher that fails the test if anything is fetched."""

    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        raise AssertionError(f"unexpected fetch of {url}")


def offline_verifier(**kwargs: Any) -> Verifier:
    return Verifier(fetcher=NoNetwork(), clock=fixed_clock, **kwargs)


async def test_did_key_credential_verifies_with_every_check_reported() -> None:
    issuer = DidKeyIssuer()
    report = await offline_verifier().verify(issuer.issue())
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert [check.id for check in report.checks] == STEP_ORDER
    assert report.check("proof").status is CheckStatus.PASSED
    assert report.check("key_binding").status is CheckStatus.PASSED
    assert report.check("status").status is CheckStatus.NOT_APPLICABLE
    assert report.format == "ldp_vc"
    assert report.display.achievement_name == "Close Reading"
    assert report.display.issuer_name == "District 9 PD"
    assert report.display.issued_on == "2025-01-01T00:00:00Z"
    json.dumps(report.to_json())  # serialisable as is


async def test_tampered_credential_is_invalid_on_the_proof() -> None:
    report = await offline_verifier().verify(tampered(DidKeyIssuer().issue()))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"
    assert "signature does not match" in report.decided_by.message
    assert report.check("status").status is CheckStatus.NOT_APPLICABLE


async def test_expired_credential() -> None:
    report = await offline_verifier().verify(
        DidKeyIssuer().issue(validUntil="2026-01-01T00:00:00Z")
    )
    assert report.verdict is Verdict.EXPIRED
    assert report.check("validity").message == "expired on 2026-01-01T00:00:00Z"
    assert report.display.expires == "2026-01-01T00:00:00Z"


async def test_not_yet_valid_credential() -> None:
    report = await offline_verifier().verify(DidKeyIssuer().issue(validFrom="2027-01-01T00:00:00Z"))
    assert report.verdict is Verdict.NOT_YET_VALID
    assert report.decided_by is not None and report.decided_by.id == "validity"


async def test_unknown_context_cannot_be_verified_and_is_never_fetched() -> None:
    """Not knowing a context says nothing about forgery: "cannot verify", naming it."""
    issuer = DidKeyIssuer()
    document = issuer.sign(credential(issuer.did))
    document["@context"] = [*document["@context"], "https://evil.example/context.json"]
    report = await offline_verifier().verify(document)  # NoNetwork: any fetch would fail
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert report.decided_by is not None and report.decided_by.id == "jsonld"
    assert "https://evil.example/context.json is not known" in report.decided_by.message
    assert "never fetched" in report.decided_by.message
    assert report.check("proof").status is CheckStatus.ERROR
    assert "https://evil.example/context.json" in report.check("proof").message


async def test_signed_by_someone_else_fails_the_binding() -> None:
    issuer, impostor = DidKeyIssuer(), DidKeyIssuer()
    forged = impostor.sign(credential(issuer.did))
    report = await offline_verifier().verify(forged)
    assert report.check("proof").status is CheckStatus.PASSED
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "key_binding"
    assert impostor.did in report.decided_by.message


async def test_unreadable_credential_stops_the_run() -> None:
    report = await offline_verifier().verify({"hello": "world"})
    assert report.verdict is Verdict.INVALID
    assert report.check("parse").status is CheckStatus.FAILED
    rest = [check.status for check in report.checks[1:]]
    assert rest == [CheckStatus.NOT_APPLICABLE] * (len(STEP_ORDER) - 1)


async def test_missing_proof_is_invalid() -> None:
    report = await offline_verifier().verify(credential(DidKeyIssuer().did))
    assert report.decided_by is not None and report.decided_by.id == "proof"
    assert 'no "proof"' in report.decided_by.message


async def test_unsupported_cryptosuite_cannot_be_verified() -> None:
    signed = DidKeyIssuer().issue()
    signed["proof"]["cryptosuite"] = "ecdsa-sd-2023"
    report = await offline_verifier().verify(signed)
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "ecdsa-sd-2023" in report.check("proof").message


async def test_any_one_valid_proof_suffices() -> None:
    issuer = DidKeyIssuer()
    signed = issuer.issue()
    bogus = {**signed["proof"], "proofValue": "z" + "1" * 80}
    signed["proof"] = [bogus, signed["proof"]]
    report = await offline_verifier().verify(signed)
    assert report.verdict is Verdict.VERIFIED
    assert "1 other proof" in report.check("proof").message


async def test_recipient_email_is_compared_with_the_hashed_identifier() -> None:
    issuer = DidKeyIssuer()
    identities = identities_for(Recipient(email="teacher@example.org", name="Ana Diaz"))
    subject = credential(issuer.did)["credentialSubject"]
    del subject["id"]
    subject["identifier"] = [identity.as_json() for identity in identities]
    signed = issuer.sign(credential(issuer.did, credentialSubject=subject))
    verifier = offline_verifier()

    match = await verifier.verify(signed, recipient=RecipientQuery(email=" Teacher@Example.org"))
    assert match.verdict is Verdict.VERIFIED
    assert match.check("recipient").status is CheckStatus.PASSED
    assert match.display.recipient == "Ana Diaz"  # the unhashed name, never a hash

    other = await verifier.verify(signed, recipient=RecipientQuery(email="else@example.org"))
    assert other.verdict is Verdict.INVALID
    assert other.decided_by is not None and other.decided_by.id == "recipient"


async def test_educator_id_recipient() -> None:
    issuer = DidKeyIssuer()
    identities = identities_for(Recipient(educator_id="1234567", educator_state="TX"))
    subject = credential(issuer.did)["credentialSubject"]
    subject["identifier"] = [identity.as_json() for identity in identities]
    signed = issuer.sign(credential(issuer.did, credentialSubject=subject))
    report = await offline_verifier().verify(
        signed, recipient=RecipientQuery(educator_id="1234567", state="tx")
    )
    assert report.check("recipient").status is CheckStatus.PASSED


def endorsement(endorser: DidKeyIssuer, endorsed_id: str) -> dict[str, Any]:
    return endorser.sign(
        {
            "@context": credential("x")["@context"],
            "id": "urn:uuid:8c5f4e3a-5c1e-4a44-9e2e-1d5b5e7c9a11",
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "name": "State endorsement",
            "issuer": {"id": endorser.did, "type": ["Profile"], "name": "State Board"},
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {
                "id": endorsed_id,
                "type": ["EndorsementSubject"],
                "endorsementComment": "Meets state standards.",
            },
        }
    )


async def test_embedded_endorsements_are_verified_recursively() -> None:
    issuer, endorser = DidKeyIssuer(), DidKeyIssuer()
    good = endorsement(endorser, "https://district9.example/achievements/close-reading")
    signed = issuer.issue(endorsement=[good])
    report = await offline_verifier().verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("endorsements").message == "1 endorsement(s) verified"

    forged = copy.deepcopy(good)
    forged["credentialSubject"]["endorsementComment"] = "Exceeds every standard."
    report = await offline_verifier().verify(issuer.issue(endorsement=[forged]))
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "endorsements"
    assert "proof" in report.decided_by.message


async def test_an_endorsement_presented_alone_is_verified_as_one() -> None:
    report = await offline_verifier().verify(endorsement(DidKeyIssuer(), "urn:uuid:1"))
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("endorsements").status is CheckStatus.NOT_APPLICABLE


async def test_input_that_is_not_a_credential_raises_input_error() -> None:
    with pytest.raises(InputError, match="not a credential"):
        await offline_verifier().verify("hello")


async def test_did_web_issuer_resolved_over_http(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    issuer = DidKeyIssuer()
    did = f"{server.did_web_host}:issuers:dp"
    published = PublishedKey("key-1", KeyAlgorithm.ED25519, issuer.key.public_key())
    server.serve("/issuers/dp/did.json", build_did_document(did, [published]))
    signed = issuer.sign(credential(did), vm=multikey_id(did, published))
    verifier = Verifier(
        fetcher=loopback_fetcher,
        resolver=default_resolver(loopback_fetcher, did_web_scheme="http"),
        clock=fixed_clock,
    )
    report = await verifier.verify(signed)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("key_binding").message == f"{did}#key-1 is controlled by {did}"

    missing = f"{server.did_web_host}:issuers:gone"
    report = await verifier.verify(issuer.sign(credential(missing), vm=f"{missing}#key-1"))
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "404" in report.check("proof").message


async def test_local_resolver_answers_first_without_http() -> None:
    """The service injects a resolver for its own issuers: no round trip to itself."""
    from keys.resolution import ResolvedKey

    issuer = DidKeyIssuer()
    did = "did:web:lattice.example:issuers:dp"

    class OwnIssuers:
        async def resolve(self, key_ref: str, *, purpose: str = "assertionMethod") -> Any:
            if key_ref == f"{did}#key-1":
                return ResolvedKey(key_ref, did, issuer.key.public_key())
            return None

    verifier = Verifier(
        fetcher=NoNetwork(),
        resolver=default_resolver(NoNetwork(), local=OwnIssuers()),
        clock=fixed_clock,
    )
    report = await verifier.verify(issuer.sign(credential(did), vm=f"{did}#key-1"))
    assert report.verdict is Verdict.VERIFIED


async def test_verify_url_fetches_through_the_safe_fetcher(server: LocalServer) -> None:
    url = server.serve("/credentials/1", DidKeyIssuer().issue())
    async with SafeFetcher(
        __import__("verification").FetchSettings(
            allow_insecure_http=True, allow_private_networks=True
        )
    ) as fetcher:
        report = await Verifier(fetcher=fetcher, clock=fixed_clock).verify_url(url)
    assert report.verdict is Verdict.VERIFIED
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchError, match="not an https URL"):
            await Verifier(fetcher=fetcher).verify_url(url)


async def test_https_controller_document() -> None:
    issuer = DidKeyIssuer()
    issuer_id = "https://district9.example/issuers/1"
    vm = f"{issuer_id}#key-1"
    controller = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": issuer_id,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": issuer_id,
                "publicKeyMultibase": issuer.vm.split("#")[1],
            }
        ],
        "assertionMethod": [vm],
    }
    fetcher = MappedFetcher({issuer_id: json.dumps(controller)})
    verifier = Verifier(fetcher=fetcher, clock=fixed_clock)
    assert (await verifier.verify(issuer.sign(credential(issuer_id), vm=vm))).verified

    controller["assertionMethod"] = []
    fetcher = MappedFetcher({issuer_id: json.dumps(controller)})
    report = await Verifier(fetcher=fetcher, clock=fixed_clock).verify(
        issuer.sign(credential(issuer_id), vm=vm)
    )
    assert report.verdict is Verdict.INVALID
    assert "not listed for assertionMethod" in report.check("proof").message


async def test_report_clock_is_injected() -> None:
    signed = DidKeyIssuer().issue(validUntil="2026-05-31T00:00:00Z")
    early = Verifier(fetcher=NoNetwork(), clock=lambda: NOW.replace(month=5))
    assert (await early.verify(signed)).verified
    assert (await offline_verifier().verify(signed)).verdict is Verdict.EXPIRED
    assert SIGNED_AT < NOW


async def test_refresh_service_is_noted_not_followed() -> None:
    issuer = DidKeyIssuer()
    document = credential(
        issuer.did,
        refreshService={
            "id": "https://district9.example/refresh/1",
            "type": "1EdTechCredentialRefresh",
        },
    )
    document["@context"].append("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")
    report = await offline_verifier().verify(issuer.sign(document))
    assert report.verified, report.to_json()
    assert "not followed" in report.check("refresh").message


async def test_schema_failure_names_the_field() -> None:
    issuer = DidKeyIssuer()
    document = credential(issuer.did)
    del document["credentialSubject"]["achievement"]["description"]
    report = await offline_verifier().verify(
        sign_document(document, issuer.key, issuer.vm, SIGNED_AT)
    )
    assert report.decided_by is not None and report.decided_by.id == "schema"
    assert '$.credentialSubject.achievement: must have the property "description"' in (
        report.decided_by.message
    )


async def test_interop_reference_credentials() -> None:
    from tests.verification.support import INTEROP

    good = await offline_verifier().verify((INTEROP / "ref.json").read_bytes())
    assert good.verdict is Verdict.VERIFIED
    bad = await offline_verifier().verify((INTEROP / "ref.tampered.json").read_bytes())
    assert bad.verdict is Verdict.INVALID
    assert bad.decided_by is not None and bad.decided_by.id == "proof"
