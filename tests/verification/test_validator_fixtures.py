"""The 1EdTech validator fixtures (shared/specs/ob3/validator-fixtures/ob30): our verdict for
each, and for failures the check that fired.

They name example hosts, so they run offline through a URL -> document map, the way a
test double of the web would: each https issuer's controller document lists the Multikeys
its fixtures' verification methods name, the did:web document, the status list, and the
JWK sets holding the keys of the baked JWT fixtures. Nothing is fetched.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from keys.vc_jwt import decode_unverified
from tests.verification.support import VALIDATOR, fixed_clock
from verification import Dimension, Verdict, Verifier, read_presented
from verification.fetch import MappedFetcher

STATUS_LIST_URL = (
    "https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/"
    "main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist"
)
DID_WEB = (
    "did:web:dc.1edtech.org:wellspring2022:wellspring-portal:org:"
    "da1e96e9-afcc-4eed-b9a2-2ddf7353214c"
)
VECTOR_KEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"


def _method(controller: str, key: str, vm: str | None = None) -> dict[str, str]:
    return {
        "id": vm or f"{controller}#{key}",
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": key,
    }


def offline_web() -> dict[str, str]:
    """Controller documents for every https key the fixtures name, and the other documents."""
    keys: dict[str, set[str]] = {}
    for path in VALIDATOR.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="latin-1")
            for url, key in re.findall(
                r'"verificationMethod":\s*"(https://[^"#]+)#(z6Mk[^"]+)"', text
            ):
                keys.setdefault(url, set()).add(key)
    documents: dict[str, Any] = {
        url: {"id": url, "verificationMethod": [_method(url, key) for key in sorted(found)]}
        for url, found in keys.items()
    }
    documents[STATUS_LIST_URL] = (VALIDATOR / "bit-string-list" / "testlist").read_text()
    documents[
        "https://dc.1edtech.org/wellspring2022/wellspring-portal/org/da1e96e9-afcc-4eed-b9a2-2ddf7353214c/did.json"
    ] = {
        "id": DID_WEB,
        "verificationMethod": [_method(DID_WEB, VECTOR_KEY)],
        "assertionMethod": [f"{DID_WEB}#{VECTOR_KEY}"],
    }
    for name in ("simple-jwt.png", "simple-jwt.svg", "simple-jwt_v1.png", "simple-jwt_v1.svg"):
        token = read_presented((VALIDATOR / name).read_bytes()).jwt
        assert token is not None
        header, payload = decode_unverified(token)
        issuer = payload.get("iss")
        host = re.match(r"https://([^/]+)", str(issuer))
        assert host is not None
        jwks = documents.setdefault(f"https://{host.group(1)}/.well-known/jwks.json", {"keys": []})
        jwks["keys"].append(header["jwk"])
    return {url: doc if isinstance(doc, str) else json.dumps(doc) for url, doc in documents.items()}


EXPECTED: list[tuple[str, Verdict, str | None]] = [
    # Valid per 1EdTech, and for us.
    ("simple.json", Verdict.VERIFIED, None),
    ("simple-context-alias.json", Verdict.VERIFIED, None),
    ("simple-context-version.json", Verdict.VERIFIED, None),
    ("simple-did-web-method.json", Verdict.VERIFIED, None),
    ("simple-multiple-proofs.json", Verdict.VERIFIED, None),
    ("simple-eddsa-2022.json", Verdict.VERIFIED, None),  # VCDM 1.1, eddsa-2022
    ("simple_v1.json", Verdict.VERIFIED, None),  # VCDM 1.1, Ed25519Signature2020
    ("endorsement-valid.json", Verdict.VERIFIED, None),
    ("simple-json.png", Verdict.VERIFIED, None),
    ("simple-json.svg", Verdict.VERIFIED, None),
    ("simple-jwt.png", Verdict.VERIFIED, None),
    ("simple-jwt.svg", Verdict.VERIFIED, None),
    ("simple-jwt_v1.png", Verdict.VERIFIED, None),  # VCDM 1.1 VC-JWT ("vc" claim)
    ("simple-jwt_v1.svg", Verdict.VERIFIED, None),
    ("bit-string-list/credential-status-revoked.json", Verdict.REVOKED, "status"),
    ("bit-string-list/credential-status-revoked-blank-nodes.json", Verdict.REVOKED, "status"),
    ("simple-err-expired.json", Verdict.EXPIRED, "validity"),
    # Failures, on the check the fixture is named after.
    ("simple-err-proof-value.json", Verdict.INVALID, "proof"),
    ("simple-err-proof-method.json", Verdict.INVALID, "proof"),
    ("simple-err-proof-method-unknown-did-method.json", Verdict.INVALID, "proof"),
    ("simple-err-proof-method-unknown-scheme.json", Verdict.INVALID, "proof"),
    ("simple-err-proof-method-no-scheme.json", Verdict.INVALID, "proof"),
    # "OtherCredential" is a VC but no Open Badge; safe mode fails on the undefined type.
    ("simple-err-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-context.json", Verdict.INVALID, "parse"),
    ("simple-err-issuer.json", Verdict.INVALID, "parse"),
    # Unsigned (and lacking its achievement): authenticity is decided first.
    ("simple-noproof.json", Verdict.INVALID, "proof"),
    ("simple.jwt", Verdict.INVALID, "proof"),  # 2022 JWT without a kid (or an achievement)
    ("endorsement-err-schema-status-refresh.json", Verdict.INVALID, "proof"),
    # its embedded endorsement uses 1EdTech types without the extensions context
    ("complete.json", Verdict.INVALID, "endorsements"),
    # Safe-mode JSON-LD fails before the schema does: the invalid types are undefined terms.
    ("simple-err-issuer-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-issuer-parentorg-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-issuer-otheridentifier-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-credential-subject-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-credential-subject-profile-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-credential-subject-identifier-type.json", Verdict.INVALID, "jsonld"),
    ("simple-err-credential-subject-result-type.json", Verdict.INVALID, "jsonld"),
    (
        "simple-err-credential-subject-achievement-result-description-type.json",
        Verdict.INVALID,
        "jsonld",
    ),
    ("simple-err-evidence-type.json", Verdict.INVALID, "jsonld"),
    # Deliberate differences from the 1EdTech validator:
    # signed with a did:key while the issuer is a urn:uuid: nothing binds the key to it.
    ("simple-did-key-method.json", Verdict.INVALID, "key_binding"),
    # uses 1EdTechJsonSchemaValidator2019 without the extensions context: safe mode fails.
    ("complete_v1.json", Verdict.INVALID, "jsonld"),
    # deprecated 1EdTechRevocationList status: unreadable, so revocation cannot be ruled out.
    ("credential-status-revoked.json", Verdict.CANNOT_VERIFY, "status"),
    # ecdsa-sd-2023 (selective disclosure) is not implemented.
    ("sd/derivedcredential.json", Verdict.CANNOT_VERIFY, "proof"),
]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(fetcher=MappedFetcher(offline_web()), clock=fixed_clock)


@pytest.mark.parametrize(("name", "verdict", "check"), EXPECTED, ids=[e[0] for e in EXPECTED])
async def test_fixture_verdict(
    verifier: Verifier, name: str, verdict: Verdict, check: str | None
) -> None:
    report = await verifier.verify((VALIDATOR / name).read_bytes())
    decided = report.decided_by.id if report.decided_by else None
    assert (report.verdict, decided) == (verdict, check), report.decided_by


async def test_not_yet_valid_fixture_reports_its_dates(verifier: Verifier) -> None:
    """simple-err-issued is dated 2040 and lacks its achievement: the dates are the issuer's
    own word on a genuine credential, so they decide; the conformance problem is still told."""
    report = await verifier.verify((VALIDATOR / "simple-err-issued.json").read_bytes())
    assert report.verdict is Verdict.NOT_YET_VALID
    assert report.check("validity").outcome is Verdict.NOT_YET_VALID
    conformance = report.dimensions[Dimension.CONFORMANCE]
    assert conformance.state == "does_not_conform"
    assert "achievement" in conformance.message


def test_every_fixture_has_an_expectation() -> None:
    names = {str(p.relative_to(VALIDATOR)) for p in VALIDATOR.rglob("*") if p.is_file()}
    covered = {e[0] for e in EXPECTED} | {"simple-err-issued.json", "bit-string-list/testlist"}
    untested = names - covered
    assert untested <= {
        "complete.json",
        "endorsement-err-schema-status-refresh.json",
        "simple.jwt",
        "simple-jwt_v1.png",
        "simple-jwt_v1.svg",
    }
