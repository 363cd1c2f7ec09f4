"""VC-JWT credentials (OB 3.0 §8.2): EdDSA, RS256, ES256; kid and jwk headers; VCDM 1.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from keys.did_jwk import did_jwk_for
from keys.did_web import PublishedKey, build_did_document, jwk_id
from keys.keypair import KeyAlgorithm, KeyPair, public_jwk
from keys.vc_jwt import encode_vc_jwt
from tests.verification.support import INTEROP, DidKeyIssuer, LocalServer, credential, fixed_clock
from verification import CheckStatus, SafeFetcher, Verdict, Verifier
from verification.fetch import MappedFetcher
from verification.resolvers import default_resolver
from verification.steps.jwt_proof import claim_problems


def ec_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))  # type: ignore[no-any-return]


def verifier(fetcher: Any = None, **kwargs: Any) -> Verifier:
    return Verifier(fetcher=fetcher or MappedFetcher({}), clock=fixed_clock, **kwargs)


async def test_eddsa_jwt_from_a_did_key_issuer() -> None:
    issuer = DidKeyIssuer()
    token = encode_vc_jwt(
        credential(issuer.did), KeyPair(KeyAlgorithm.ED25519, issuer.key), kid=issuer.vm
    )
    report = await verifier().verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.format == "jwt_vc"
    assert report.check("proof").message.startswith("EdDSA VC-JWT signature")


async def test_tampered_jwt_is_invalid() -> None:
    issuer = DidKeyIssuer()
    token = encode_vc_jwt(
        credential(issuer.did), KeyPair(KeyAlgorithm.ED25519, issuer.key), kid=issuer.vm
    )
    header, _, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        json.dumps(
            {**jwt.decode(token, options={"verify_signature": False}), "name": "Forged"}
        ).encode()
    ).decode()
    report = await verifier().verify(f"{header}.{forged_payload}.{signature}")
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"


async def test_expired_jwt_is_expired_not_invalid() -> None:
    issuer = DidKeyIssuer()
    document = credential(issuer.did, validUntil="2025-06-01T00:00:00Z")
    token = encode_vc_jwt(document, KeyPair(KeyAlgorithm.ED25519, issuer.key), kid=issuer.vm)
    report = await verifier().verify(token)
    assert report.verdict is Verdict.EXPIRED
    assert report.check("proof").status is CheckStatus.PASSED


async def test_rs256_jwt_with_a_did_web_kid(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    pair = KeyPair.generate(KeyAlgorithm.RSA)
    did = f"{server.did_web_host}:issuers:rsa"
    published = PublishedKey("rsa-1", KeyAlgorithm.RSA, pair.public_key)
    server.serve("/issuers/rsa/did.json", build_did_document(did, [published]))
    token = encode_vc_jwt(credential(did), pair, kid=jwk_id(did, published))
    resolver = default_resolver(loopback_fetcher, did_web_scheme="http")
    report = await verifier(loopback_fetcher, resolver=resolver).verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()


async def test_es256_jwt_from_a_did_jwk_issuer_with_a_jwk_header() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    did = did_jwk_for(ec_jwk(key))
    token = jwt.encode(
        {
            **credential(did),
            "iss": did,
            "jti": credential(did)["id"],
            "nbf": 1735689600,
            "sub": "did:example:teacher-1",
        },
        key,
        algorithm="ES256",
        headers={"jwk": ec_jwk(key), "typ": "JWT"},
    )
    report = await verifier().verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.check("key_binding").status is CheckStatus.PASSED


async def test_jwk_header_key_must_be_published_by_an_https_issuer() -> None:
    pair = KeyPair.generate(KeyAlgorithm.ED25519)
    issuer = "https://district9.example/issuers/1"
    claims = {
        **credential(issuer),
        "iss": issuer,
        "jti": credential(issuer)["id"],
        "nbf": 1735689600,
    }
    token = jwt.encode(
        claims, pair.private_key, algorithm="EdDSA", headers={"jwk": pair.public_jwk()}
    )
    jwks_url = "https://district9.example/.well-known/jwks.json"

    published = MappedFetcher({jwks_url: json.dumps({"keys": [pair.public_jwk()]})})
    assert (await verifier(published).verify(token)).verified

    other = MappedFetcher(
        {
            jwks_url: json.dumps(
                {"keys": [public_jwk(KeyPair.generate(KeyAlgorithm.ED25519).public_key)]}
            )
        }
    )
    report = await verifier(other).verify(token)
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "key_binding"

    report = await verifier(MappedFetcher({})).verify(token)
    assert report.verdict is Verdict.CANNOT_VERIFY  # JWKS unreachable


async def test_extra_jose_headers_are_refused() -> None:
    issuer = DidKeyIssuer()
    claims = {
        **credential(issuer.did),
        "iss": issuer.did,
        "jti": credential(issuer.did)["id"],
        "nbf": 1735689600,
    }
    token = jwt.encode(
        claims, issuer.key, algorithm="EdDSA", headers={"kid": issuer.vm, "x5u": "https://x"}
    )
    report = await verifier().verify(token)
    assert report.decided_by is not None and report.decided_by.id == "proof"
    assert "x5u" in report.decided_by.message


async def test_vcdm_1_1_jwt_with_a_vc_claim() -> None:
    issuer = DidKeyIssuer()
    inner = credential(issuer.did)
    inner["@context"] = [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    ]
    for name in ("validFrom", "id", "issuer"):
        inner.pop(name)
    claims = {
        "vc": inner,
        "iss": issuer.did,
        "jti": "urn:uuid:1",
        "nbf": 1735689600,
        "sub": "did:example:teacher-1",
    }
    token = jwt.encode(
        claims, issuer.key, algorithm="EdDSA", headers={"kid": issuer.vm, "typ": "JWT"}
    )
    report = await verifier().verify(token)
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert (
        report.credential is not None
        and report.credential["issuanceDate"] == "2025-01-01T00:00:00Z"
    )
    assert report.check("schema").status is CheckStatus.WARNING  # 1.1: no bundled schema


async def test_claims_must_match_the_credential() -> None:
    document = credential("did:example:issuer")
    payload = {"iss": "did:example:other", "jti": document["id"], "nbf": 1735689600}
    assert claim_problems(payload, document) == ["\"iss\" 'did:example:other' is not the issuer id"]
    payload = {"iss": "did:example:issuer", "jti": document["id"], "nbf": 1}
    assert claim_problems(payload, document) == ['"nbf" 1 does not match "validFrom"']


async def test_a_status_lists_time_claims_need_only_hold_now() -> None:
    """A status list is re-signed whenever a bit changes: its `nbf` is the signing time."""
    document = credential("did:example:issuer")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    window = (now, timedelta(minutes=5))
    signed_last_week = (now - timedelta(days=7)).timestamp()
    listed = {"iss": "did:example:issuer", "jti": document["id"], "nbf": signed_last_week}

    assert claim_problems(listed, document, window) == []
    assert claim_problems(
        {**listed, "nbf": (now + timedelta(hours=1)).timestamp()}, document, window
    ) == [f'"nbf" {(now + timedelta(hours=1)).timestamp()} is in the future']
    assert claim_problems({**listed, "exp": signed_last_week}, document, window) == [
        f'"exp" {signed_last_week} has passed'
    ]
    assert claim_problems({**listed, "iss": "did:example:other"}, document, window) == [
        "\"iss\" 'did:example:other' is not the issuer id"
    ]


async def test_interop_reference_jwts() -> None:
    good = (INTEROP / "ref.jwt").read_text()
    bad = (INTEROP / "ref.tampered.jwt").read_text()
    assert (await verifier().verify(good)).verdict is Verdict.VERIFIED
    report = await verifier().verify(bad)
    assert report.verdict is Verdict.INVALID
    assert report.decided_by is not None and report.decided_by.id == "proof"
