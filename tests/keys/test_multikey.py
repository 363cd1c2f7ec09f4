"""Multibase base58btc and Ed25519 Multikey / did:key encoding, pinned to the OB test vector."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys.multikey import (
    b58decode,
    b58encode,
    decode_ed25519_private_key,
    decode_ed25519_public_key,
    decode_multibase,
    did_key_for,
    did_key_verification_method,
    encode_ed25519_private_key,
    encode_ed25519_public_key,
    encode_multibase,
    public_key_from_did_key,
    public_key_from_fragment,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VECTOR = json.loads(
    (FIXTURES / "ob3" / "test-vectors" / "eddsa-rdfc-2022" / "ob3-ldp-test-vector.json").read_text(
        encoding="utf-8"
    )
)
KEY_PAIR = VECTOR["keyPair"]
PUBLIC_MULTIKEY = KEY_PAIR["publicKeyMultibase"]
REF_DID = "did:key:z6Mkq4C4CXm2Xu2JRqMDZxZfnvGwf5s7BKiDkbMzveamSeFH"


def raw(public_key):
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_base58btc_round_trip_and_known_value():
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58decode("StV1DL6CwTryKyV") == b"hello world"
    assert b58encode(b"\x00\x00\x01") == "112"  # leading zero bytes become '1'
    assert encode_multibase(b"\x00\x01") == "z12"
    assert decode_multibase("z12") == b"\x00\x01"


def test_vector_public_key_multikey():
    public_key = decode_ed25519_public_key(PUBLIC_MULTIKEY)
    assert raw(public_key).hex() == KEY_PAIR["publicKeyHex"]
    assert encode_ed25519_public_key(public_key) == PUBLIC_MULTIKEY
    assert encode_ed25519_public_key(bytes.fromhex(KEY_PAIR["publicKeyHex"])) == PUBLIC_MULTIKEY


def test_vector_secret_key_multikey():
    private_key = decode_ed25519_private_key(KEY_PAIR["secretKeyMultibase"])
    seed_and_public = bytes.fromhex(KEY_PAIR["privateKeyHex_seedPlusPublic"])
    assert private_key.private_bytes_raw() == seed_and_public[:32]
    assert encode_ed25519_private_key(private_key) == KEY_PAIR["secretKeyMultibase"]


def test_did_key_round_trip():
    public_key = Ed25519PrivateKey.generate().public_key()
    did = did_key_for(public_key)
    assert did.startswith("did:key:z6Mk")
    method = did_key_verification_method(public_key)
    assert method == f"{did}#{did.removeprefix('did:key:')}"
    assert raw(public_key_from_did_key(did)) == raw(public_key)
    assert raw(public_key_from_did_key(method)) == raw(public_key)


def test_key_from_verification_method_fragment():
    by_url = public_key_from_fragment(KEY_PAIR["verificationMethod"])
    assert raw(by_url).hex() == KEY_PAIR["publicKeyHex"]
    by_did = public_key_from_fragment(f"{REF_DID}#{REF_DID.removeprefix('did:key:')}")
    assert encode_ed25519_public_key(by_did) == REF_DID.removeprefix("did:key:")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("u" + PUBLIC_MULTIKEY[1:], "must be base58btc, starting with 'z'"),
        ("z0OIl", "invalid base58btc value"),
        (KEY_PAIR["secretKeyMultibase"], "not an Ed25519 public key"),
        (encode_multibase(b"\xed\x01" + bytes(31)), "Ed25519 keys are 32 bytes"),
        ("z", "not an Ed25519 public key"),
    ],
)
def test_bad_public_multikeys_are_value_errors_that_say_why(value, message):
    with pytest.raises(ValueError, match=message):
        decode_ed25519_public_key(value)


def test_bad_secret_multikeys_are_value_errors():
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        decode_ed25519_private_key(PUBLIC_MULTIKEY)
    tampered = encode_multibase(b"\x80\x26" + bytes(32) + bytes(32))
    with pytest.raises(ValueError, match="does not match its seed"):
        decode_ed25519_private_key(tampered)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("did:web:issuer.example.org", "not a did:key DID"),
        (f"{REF_DID}#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", "fragment other than"),
    ],
)
def test_bad_did_keys_are_value_errors(value, message):
    with pytest.raises(ValueError, match=message):
        public_key_from_did_key(value)


def test_verification_method_without_fragment_is_a_value_error():
    with pytest.raises(ValueError, match="has no key fragment"):
        public_key_from_fragment("https://issuer.example.org/keys/1")
