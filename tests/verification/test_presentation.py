"""Presentations: unsigned ones (only the credentials count), and ones the holder signed for
`authentication` with the verifier's challenge and domain. One failure per test, asserting
the check that fired; one presentation signed by the digitalbazaar `vc` library."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from datetime import datetime, timedelta
from typing import Any

import pytest

from keys.data_integrity import EDDSA_RDFC_2022, format_created
from keys.multikey import encode_multibase
from tests.conftest import INTEROP_DIR
from tests.verification.support import NOW, SIGNED_AT, DidKeyIssuer, fixed_clock, tampered
from verification import CheckStatus, InputError, Verdict, Verifier
from verification.fetch import DEFAULT_ACCEPT, FetchedDocument
from verification.presentation import PresentationOptions, PresentationVerifier
from verification.resolvers import default_resolver

V2 = "https://www.w3.org/ns/credentials/v2"
CHALLENGE = "6e62f66e-67de-11eb-b490-ef3eeefa55f2"
DOMAIN = "employer.example"


class NoNetwork:
    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        raise AssertionError(f"unexpected fetch of {url}")


def presentations(**kwargs: Any) -> PresentationVerifier:
    fetcher = NoNetwork()
    verifier = Verifier(fetcher=fetcher, clock=fixed_clock)
    return PresentationVerifier(verifier, default_resolver(fetcher), clock=fixed_clock, **kwargs)


def presentation(*credentials: Any, holder: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": [V2], "type": ["VerifiablePresentation"]}
    if holder is not None:
        document["holder"] = holder
    if credentials:
        document["verifiableCredential"] = list(credentials)
    return document


def sign_presentation(
    document: dict[str, Any],
    holder: DidKeyIssuer,
    *,
    challenge: str | None = CHALLENGE,
    domain: str | None = DOMAIN,
    purpose: str = "authentication",
    created: datetime = SIGNED_AT,
    **extra: str,
) -> dict[str, Any]:
    """A DataIntegrityProof eddsa-rdfc-2022 over `document` with challenge and domain: the
    VC-DI-EdDSA algorithm (hash of the proof configuration, then of the document)."""
    options: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": format_created(created),
        "verificationMethod": holder.vm,
        "proofPurpose": purpose,
        **({"challenge": challenge} if challenge is not None else {}),
        **({"domain": domain} if domain is not None else {}),
        **extra,
    }
    suite = EDDSA_RDFC_2022
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    data = suite.hash(suite.canonicalize({"@context": document["@context"], **options}))
    data += suite.hash(suite.canonicalize(unsecured))
    return {**document, "proof": {**options, "proofValue": encode_multibase(holder.key.sign(data))}}


ASKED = PresentationOptions(challenge=CHALLENGE, domain=DOMAIN)


async def test_an_unsigned_presentation_is_verified_by_its_credentials() -> None:
    report = await presentations().verify(presentation(DidKeyIssuer().issue()))

    assert report.verified, report.checks
    assert report.check("presentation_proof").status is CheckStatus.NOT_APPLICABLE
    assert report.check("credentials").status is CheckStatus.PASSED
    assert [entry.report.verdict for entry in report.credentials if entry.report] == [
        Verdict.VERIFIED
    ]


async def test_a_presentation_signed_by_its_holder_with_the_challenge_is_verified() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(DidKeyIssuer().issue(), holder=holder.did), holder)

    report = await presentations().verify(signed, ASKED)

    assert report.verified, report.checks
    assert [check.status for check in report.checks] == [CheckStatus.PASSED] * 4


async def test_another_challenge_fails_the_proof() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=holder.did), holder, challenge="replayed")

    report = await presentations().verify(signed, ASKED)

    assert not report.verified
    assert report.check("presentation_proof").status is CheckStatus.FAILED
    assert "challenge" in report.check("presentation_proof").message


async def test_another_domain_fails_the_proof() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=holder.did), holder, domain="other.example")

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.FAILED
    assert "domain" in report.check("presentation_proof").message


async def test_an_assertion_proof_is_not_an_authentication() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=holder.did), holder, purpose="assertionMethod")

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.FAILED
    assert "authentication" in report.check("presentation_proof").message


async def test_a_proof_of_another_suite_cannot_be_checked() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=holder.did), holder)
    signed["proof"] = {**signed["proof"], "type": "Ed25519Signature2020"}
    del signed["proof"]["cryptosuite"]

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.ERROR
    assert "not supported" in report.check("presentation_proof").message


async def test_a_presentation_changed_after_signing_fails_the_proof() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(DidKeyIssuer().issue(), holder=holder.did), holder)
    signed["verifiableCredential"] = [DidKeyIssuer().issue()]

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.FAILED
    assert "signature does not match" in report.check("presentation_proof").message


async def test_a_key_not_the_holders_fails_the_binding() -> None:
    someone_else = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=DidKeyIssuer().did), someone_else)

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.PASSED
    assert report.check("holder_binding").status is CheckStatus.FAILED
    assert not report.verified


async def test_an_expired_proof_fails() -> None:
    holder = DidKeyIssuer()
    expires = format_created(NOW - timedelta(minutes=1))
    signed = sign_presentation(presentation(holder=holder.did), holder, expires=expires)

    report = await presentations().verify(signed, ASKED)

    assert "expired" in report.check("presentation_proof").message


async def test_without_a_challenge_a_signed_presentation_verifies_with_a_warning() -> None:
    holder = DidKeyIssuer()
    signed = sign_presentation(presentation(holder=holder.did), holder, challenge=None)

    report = await presentations().verify(signed)

    assert report.verified
    assert report.check("presentation_proof").status is CheckStatus.WARNING
    assert "replayed" in report.check("presentation_proof").message


async def test_a_challenge_for_an_unsigned_presentation_fails() -> None:
    report = await presentations().verify(presentation(DidKeyIssuer().issue()), ASKED)

    assert report.check("presentation_proof").status is CheckStatus.FAILED


async def test_a_tampered_credential_fails_the_presentation_but_is_reported_alone() -> None:
    holder = DidKeyIssuer()
    good, bad = DidKeyIssuer().issue(), tampered(DidKeyIssuer().issue())
    signed = sign_presentation(presentation(good, bad, 42, holder=holder.did), holder)

    report = await presentations().verify(signed, ASKED)

    assert report.check("presentation_proof").status is CheckStatus.PASSED
    assert report.check("presentation").status is CheckStatus.FAILED  # 42 is no credential
    assert report.check("credentials").status is CheckStatus.FAILED
    first, second, third = report.credentials
    assert first.verified and second.report is not None
    assert second.report.verdict is Verdict.INVALID
    assert third.report is None and third.problem


async def test_input_that_is_no_presentation_is_refused() -> None:
    verifier = presentations(max_credentials=2)
    too_many = presentation(*[DidKeyIssuer().issue() for _ in range(3)])

    for hostile in (["not", "an", "object"], too_many):
        with pytest.raises(InputError):
            await verifier.verify(hostile)


SIGN_WITH_VC_JS = """
import './lib/net-guard.mjs';
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {documentLoader} from './lib/loader.mjs';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const key = await Ed25519Multikey.generate();
key.controller = `did:key:${key.publicKeyMultibase}`;
key.id = `${key.controller}#${key.publicKeyMultibase}`;
const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite});
const presentation = {...input.presentation, holder: key.controller};
const signed = await vc.signPresentation({
  presentation, suite, challenge: input.challenge, domain: input.domain, documentLoader
});
process.stdout.write(JSON.stringify(signed));
"""


def sign_with_vc_js(document: dict[str, Any], challenge: str, domain: str) -> dict[str, Any]:
    """The presentation signed by the digitalbazaar `vc` library (../shared/interop)."""
    node = shutil.which("node")
    if node is None or not (INTEROP_DIR / "node_modules").is_dir():
        pytest.fail("the interop libraries are not installed: run scripts/test")
    completed = subprocess.run(
        [node, "--input-type=module", "-e", SIGN_WITH_VC_JS],
        cwd=INTEROP_DIR,
        input=json.dumps({"presentation": document, "challenge": challenge, "domain": domain}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    signed: dict[str, Any] = json.loads(completed.stdout)
    return signed


async def test_a_presentation_signed_by_the_vc_js_library_verifies() -> None:
    signed = sign_with_vc_js(presentation(DidKeyIssuer().issue()), CHALLENGE, DOMAIN)

    right = await presentations().verify(signed, ASKED)
    wrong = await presentations().verify(
        copy.deepcopy(signed), PresentationOptions(challenge="another", domain=DOMAIN)
    )

    assert right.verified, right.checks
    assert right.check("holder_binding").status is CheckStatus.PASSED
    assert wrong.check("presentation_proof").status is CheckStatus.FAILED
