"""OB 3.0 §8.2 VC-JWT: header, claim mapping, and verification with EdDSA and RS256 keys."""

import base64
import copy
import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys.keypair import KeyAlgorithm, KeyPair
from keys.multikey import did_key_for, did_key_verification_method
from keys.vc_jwt import VcJwtError, decode_unverified, encode_vc_jwt, verify_vc_jwt
from tests.conftest import INTEROP_DIR

ISSUER = "did:web:127.0.0.1%3A8000:issuers:dp"
VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)
NBF = 1735689600  # 2025-01-01T00:00:00Z


@pytest.fixture(scope="module")
def key_pairs():
    return {algorithm: KeyPair.generate(algorithm) for algorithm in KeyAlgorithm}


@pytest.fixture(params=list(KeyAlgorithm), ids=lambda algorithm: algorithm.value)
def key(request, key_pairs):
    return key_pairs[request.param]


def credential(issuer=ISSUER, **changes):
    """An OB 3.0 OpenBadgeCredential (VCDM 2.0) issued by `issuer`."""
    document = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:6f1b3f2c-7a1e-4c55-9d0e-000000000001",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Lattice Test Badge",
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Lattice Test Issuer"},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:learner-0001",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://x.org/achievements/1",
                "type": ["Achievement"],
                "name": "Test Achievement",
                "description": "For tests.",
                "criteria": {"narrative": "Run the tests."},
            },
        },
    }
    document.update(changes)
    return document


def kid_for(key):
    return f"{ISSUER}#key-1-jwk" if key.algorithm is KeyAlgorithm.ED25519 else f"{ISSUER}#key-2"


def sign_raw(payload, key, header=None):
    """A JWS over exactly `payload`, for tokens whose claims Lattice would never produce."""
    return jwt.PyJWS().encode(
        json.dumps(payload).encode(), key.private_key, algorithm=key.jwt_algorithm, headers=header
    )


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def with_payload(token, payload):
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(payload).encode())}.{signature}"


def verify(token, key, **options):
    return verify_vc_jwt(token, key.public_key, now=VALID_FROM + timedelta(days=1), **options)


# Encoding


def test_header_is_exactly_alg_kid_typ(key):
    header, _ = decode_unverified(encode_vc_jwt(credential(), key, kid=kid_for(key)))
    assert header == {"alg": key.jwt_algorithm, "kid": kid_for(key), "typ": "JWT"}


def test_eddsa_for_ed25519_and_rs256_for_rsa(key_pairs):
    for algorithm, alg in [(KeyAlgorithm.ED25519, "EdDSA"), (KeyAlgorithm.RSA, "RS256")]:
        token = encode_vc_jwt(credential(), key_pairs[algorithm], kid="did:web:x.org#k")
        assert decode_unverified(token)[0]["alg"] == alg


def test_payload_is_the_credential_plus_mapped_claims(key):
    _, payload = decode_unverified(encode_vc_jwt(credential(), key, kid=kid_for(key)))
    assert payload == {
        **credential(),
        "iss": ISSUER,
        "jti": "urn:uuid:6f1b3f2c-7a1e-4c55-9d0e-000000000001",
        "nbf": NBF,
        "sub": "did:example:learner-0001",
    }


def test_an_embedded_proof_stays_in_the_payload(key):
    proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"}
    _, payload = decode_unverified(encode_vc_jwt(credential(proof=proof), key, kid=kid_for(key)))
    assert payload["proof"] == proof


def test_iss_from_an_issuer_given_as_a_string(key):
    document = credential()
    document["issuer"] = ISSUER
    token = encode_vc_jwt(document, key, kid=kid_for(key))
    assert decode_unverified(token)[1]["iss"] == ISSUER
    assert verify(token, key) == document


def test_no_sub_when_the_subject_has_no_id(key):
    subject = {k: v for k, v in credential()["credentialSubject"].items() if k != "id"}
    subject["identifier"] = [{"type": "IdentityObject", "hashed": True, "identityHash": "sha256$0"}]
    token = encode_vc_jwt(credential(credentialSubject=subject), key, kid=kid_for(key))
    assert "sub" not in decode_unverified(token)[1]


def test_exp_only_with_valid_until(key):
    _, without = decode_unverified(encode_vc_jwt(credential(), key, kid=kid_for(key)))
    assert "exp" not in without
    dated = credential(validUntil="2026-01-01T00:00:00Z")
    _, payload = decode_unverified(encode_vc_jwt(dated, key, kid=kid_for(key)))
    assert payload["exp"] == 1767225600


@pytest.mark.parametrize(
    ("valid_from", "nbf"),
    [
        ("2025-01-01T00:00:00Z", NBF),
        ("2025-01-01T01:00:00+01:00", NBF),
        ("2024-12-31T19:00:00-05:00", NBF),
        ("2025-01-01T00:00:00.999Z", NBF),  # NumericDate in whole seconds, rounded down
        ("2025-01-01T00:00:00.123456789+00:00", NBF),
        ("2025-01-01T00:00:00", NBF),  # no time zone: UTC
        ("2024-12-31T24:00:00Z", NBF),  # XML Schema's end-of-day midnight
    ],
)
def test_nbf_is_valid_from_as_a_numeric_date(key, valid_from, nbf):
    token = encode_vc_jwt(credential(validFrom=valid_from), key, kid=kid_for(key))
    assert decode_unverified(token)[1]["nbf"] == nbf
    assert isinstance(decode_unverified(token)[1]["nbf"], int)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"validFrom": "2025-01-01"}, '"validFrom" .* is not an XML Schema dateTime'),
        ({"validFrom": "2025-02-30T00:00:00Z"}, "not a valid date"),
        ({"validUntil": "tomorrow"}, '"validUntil"'),
        ({"issuer": {"name": "no id"}}, '"issuer"'),
        ({"id": None}, '"id" must be a string'),
        ({"exp": 1}, "JWT claim names: exp"),
    ],
)
def test_encode_refuses_credentials_it_cannot_map(key, changes, message):
    with pytest.raises(VcJwtError, match=message):
        encode_vc_jwt(credential(**changes), key, kid=kid_for(key))


def test_encode_needs_valid_from(key):
    document = credential()
    del document["validFrom"]
    with pytest.raises(VcJwtError, match='no "validFrom"'):
        encode_vc_jwt(document, key, kid=kid_for(key))


# Verification


def test_verify_returns_the_credential(key):
    document = credential(validUntil="2026-01-01T00:00:00Z")
    assert verify(encode_vc_jwt(document, key, kid=kid_for(key)), key) == document


def test_verify_returns_a_credential_whose_subject_has_no_id(key):
    document = credential()
    del document["credentialSubject"]["id"]
    assert verify(encode_vc_jwt(document, key, kid=kid_for(key)), key) == document


def test_a_tampered_payload_fails(key):
    token = encode_vc_jwt(credential(), key, kid=kid_for(key))
    _, payload = decode_unverified(token)
    payload["name"] = "A Badge Never Issued"
    with pytest.raises(VcJwtError, match="signature does not verify"):
        verify(with_payload(token, payload), key)


def test_a_tampered_signature_fails(key):
    token = encode_vc_jwt(credential(), key, kid=kid_for(key))
    head, signature = token.rsplit(".", 1)
    flipped = b64url(bytes([base64.urlsafe_b64decode(signature + "==")[0] ^ 1]))[:2]
    with pytest.raises(VcJwtError, match="signature does not verify"):
        verify(f"{head}.{flipped}{signature[2:]}", key)


def test_another_key_of_the_same_type_fails(key):
    token = encode_vc_jwt(credential(), key, kid=kid_for(key))
    with pytest.raises(VcJwtError, match="signature does not verify"):
        verify(token, KeyPair.generate(key.algorithm))


def test_a_key_of_the_other_type_fails_on_alg(key_pairs):
    ed_key, rsa_key = key_pairs[KeyAlgorithm.ED25519], key_pairs[KeyAlgorithm.RSA]
    with pytest.raises(VcJwtError, match=r'"alg" is \'EdDSA\'.*RSA key verifies only "RS256"'):
        verify(encode_vc_jwt(credential(), ed_key, kid="k"), rsa_key)
    with pytest.raises(VcJwtError, match=r'"alg" is \'RS256\'.*Ed25519 key verifies only "EdDSA"'):
        verify(encode_vc_jwt(credential(), rsa_key, kid="k"), ed_key)


def test_an_unsigned_alg_none_token_fails(key):
    _, payload = decode_unverified(encode_vc_jwt(credential(), key, kid=kid_for(key)))
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = f"{header}.{b64url(json.dumps(payload).encode())}."
    with pytest.raises(VcJwtError, match="\"alg\" is 'none'"):
        verify(token, key)


def test_an_hmac_token_keyed_with_the_public_key_fails(key_pairs):
    rsa_key = key_pairs[KeyAlgorithm.RSA]
    _, payload = decode_unverified(encode_vc_jwt(credential(), rsa_key, kid="k"))
    secret = rsa_key.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = ".".join(
        [b64url(b'{"alg":"HS256","typ":"JWT"}'), b64url(json.dumps(payload).encode())]
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(VcJwtError, match="\"alg\" is 'HS256'"):
        verify(f"{signing_input}.{b64url(mac)}", rsa_key)


def test_an_unknown_critical_header_fails(key):
    _, payload = decode_unverified(encode_vc_jwt(credential(), key, kid=kid_for(key)))
    token = sign_raw(payload, key, {"crit": ["x-lattice"], "x-lattice": 1})
    with pytest.raises(VcJwtError, match="x-lattice"):
        verify(token, key)


def test_expired_credentials_fail_beyond_the_leeway(key):
    token = encode_vc_jwt(credential(validUntil="2025-06-01T00:00:00Z"), key, kid=kid_for(key))
    until = datetime(2025, 6, 1, tzinfo=UTC)
    assert verify_vc_jwt(token, key.public_key, now=until + timedelta(seconds=299))
    with pytest.raises(VcJwtError, match="expired: exp 2025-06-01T00:00:00Z"):
        verify_vc_jwt(token, key.public_key, now=until + timedelta(seconds=300))
    with pytest.raises(VcJwtError, match="expired"):
        verify_vc_jwt(token, key.public_key, now=until, leeway_seconds=0)


def test_credentials_not_yet_valid_fail_beyond_the_leeway(key):
    token = encode_vc_jwt(credential(), key, kid=kid_for(key))
    assert verify_vc_jwt(token, key.public_key, now=VALID_FROM - timedelta(seconds=300))
    with pytest.raises(VcJwtError, match="not valid yet: nbf 2025-01-01T00:00:00Z"):
        verify_vc_jwt(token, key.public_key, now=VALID_FROM - timedelta(seconds=301))


def test_verify_defaults_to_the_current_time(key):
    token = encode_vc_jwt(credential(validUntil="2025-06-01T00:00:00Z"), key, kid=kid_for(key))
    with pytest.raises(VcJwtError, match="expired"):
        verify_vc_jwt(token, key.public_key)


def test_verify_needs_an_aware_now(key):
    token = encode_vc_jwt(credential(), key, kid=kid_for(key))
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_vc_jwt(token, key.public_key, now=datetime(2025, 2, 1))


def mapped_claims():
    return {
        "iss": ISSUER,
        "jti": credential()["id"],
        "nbf": NBF,
        "sub": credential()["credentialSubject"]["id"],
    }


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "did:web:x.org"}, "\"iss\" 'did:web:x.org' is not the issuer id"),
        ({"iss": None}, '"iss" claim is missing'),
        ({"jti": "urn:uuid:other"}, '"jti" \'urn:uuid:other\' is not the "id"'),
        ({"jti": None}, '"jti" None is not the "id"'),
        ({"sub": "did:example:someone-else"}, '"sub" .* is not the credentialSubject "id"'),
        ({"nbf": NBF + 60}, '"nbf" 1735689660 is not "validFrom"'),
        ({"nbf": None}, '"nbf" claim is missing'),
        ({"nbf": "2025-01-01"}, '"nbf" claim must be a NumericDate'),
        ({"exp": NBF + 3600}, '"exp" claim has no "validUntil"'),
    ],
)
def test_claims_must_agree_with_the_credential(key, claims, message):
    payload = {**credential(), **mapped_claims(), **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    with pytest.raises(VcJwtError, match=message):
        verify(sign_raw(payload, key), key)


def test_valid_until_without_exp_fails(key):
    payload = {**credential(validUntil="2026-01-01T00:00:00Z"), **mapped_claims()}
    with pytest.raises(VcJwtError, match='"exp" claim is missing; the credential has "validUntil"'):
        verify(sign_raw(payload, key), key)


def test_every_disagreement_is_reported_at_once(key):
    payload = {**credential(), **mapped_claims(), "iss": "did:web:x.org", "jti": "urn:uuid:x"}
    with pytest.raises(VcJwtError, match=r'"iss" .*; "jti" '):
        verify(sign_raw(payload, key), key)


def test_claims_other_than_the_mapped_ones_are_not_part_of_the_credential(key):
    payload = {**credential(), **mapped_claims(), "iat": NBF, "aud": "https://x.org"}
    assert verify(sign_raw(payload, key), key) == credential()


def test_vc_1_1_form_fills_the_credential_from_the_claims(key):
    inner = copy.deepcopy(credential())
    for field in ("id", "issuer", "validFrom"):
        del inner[field]
    del inner["credentialSubject"]["id"]
    payload = {"vc": inner, **mapped_claims(), "exp": NBF + 86400 * 365}
    result = verify(sign_raw(payload, key), key)
    assert result["issuer"] == ISSUER
    assert result["id"] == credential()["id"]
    assert result["issuanceDate"] == "2025-01-01T00:00:00Z"
    assert result["expirationDate"] == "2026-01-01T00:00:00Z"
    assert result["credentialSubject"]["id"] == "did:example:learner-0001"
    assert "iss" not in result and "vc" not in result


def test_vc_1_1_form_keeps_what_the_credential_says_and_checks_it(key):
    inner = credential()
    payload = {"vc": inner, **mapped_claims()}
    assert verify(sign_raw(payload, key), key) == inner
    mismatched = {"vc": inner, **mapped_claims(), "jti": "urn:uuid:other"}
    with pytest.raises(VcJwtError, match='"jti"'):
        verify(sign_raw(mismatched, key), key)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("only.two", "three base64url parts"),
        ("a.b.c.d", "three base64url parts"),
        ("a+b.c.d", "three base64url parts"),
        (f"{b64url(b'not json')}.{b64url(b'{}')}.", "header is not base64url-encoded JSON"),
        (f"{b64url(b'{}')}.{b64url(b'[1]')}.", "payload must be a JSON object"),
        (f"{b64url(b'{}')}.{b64url(b'{}')[:-1]}x.", "payload is not base64url-encoded JSON"),
    ],
)
def test_decode_unverified_needs_a_compact_jws(token, message):
    with pytest.raises(VcJwtError, match=message):
        decode_unverified(token)


def test_decode_unverified_refuses_non_strings():
    with pytest.raises(VcJwtError, match="must be a string"):
        decode_unverified(b"a.b.c")  # type: ignore[arg-type]


# Interoperability: the Node harness's jose verifier, resolving a did:key issuer's key itself.


def node_verify(token, tmp_path):
    node = shutil.which("node")
    if node is None or not (INTEROP_DIR / "node_modules").is_dir():
        pytest.fail("the interop libraries are not installed: run scripts/test")
    path = tmp_path / "credential.jwt"
    path.write_text(token, encoding="ascii")
    return subprocess.run(
        [node, "verify.mjs", str(path), "--verifier", "vc"],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.interop
def test_jose_verifies_a_did_key_vc_jwt_and_rejects_a_tampered_one(tmp_path):
    pair = KeyPair.generate(KeyAlgorithm.ED25519)
    issuer = did_key_for(pair.public_key)
    token = encode_vc_jwt(
        credential(issuer=issuer), pair, kid=did_key_verification_method(pair.public_key)
    )

    result = node_verify(token, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.splitlines()[0])["verified"] is True

    _, payload = decode_unverified(token)
    payload["name"] = "A Badge Never Issued"
    tampered = node_verify(with_payload(token, payload), tmp_path)
    assert tampered.returncode == 1
    line = json.loads(tampered.stdout.splitlines()[0])
    assert line["verified"] is False
    assert line["checks"]["signature"] is False


def test_a_payload_nested_past_the_parser_is_an_error_not_a_crash():
    header = base64.urlsafe_b64encode(b'{"alg":"EdDSA"}').rstrip(b"=").decode()
    deep = ("[" * 50_000 + "]" * 50_000).encode()
    payload = base64.urlsafe_b64encode(deep).rstrip(b"=").decode()
    with pytest.raises(VcJwtError, match="nests too deeply"):
        decode_unverified(f"{header}.{payload}.c2ln")
