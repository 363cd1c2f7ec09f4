"""ecdsa-rdfc-2019 with P-256: sign, verify, tamper; P-256 Multikeys."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from keys.ecdsa_rdfc_2019 import (
    decode_p256_public_key,
    encode_p256_public_key,
    sign_ecdsa_document,
    verify_ecdsa_proof,
)
from schemas.jsonld import expand

DOCUMENT = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:1",
    "type": ["VerifiableCredential"],
    "issuer": "did:example:issuer",
    "validFrom": "2025-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:subject"},
}


def test_multikey_round_trip() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    multikey = encode_p256_public_key(key)
    assert multikey.startswith("zDn")
    assert decode_p256_public_key(multikey).public_numbers() == key.public_numbers()
    with pytest.raises(ValueError, match="not a P-256"):
        decode_p256_public_key("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi")


def test_sign_and_verify() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    signed = sign_ecdsa_document(
        DOCUMENT, private, "did:key:zDn#zDn", datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert signed["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
    assert verify_ecdsa_proof(signed, signed["proof"], private.public_key()).verified
    changed = copy.deepcopy(signed)
    changed["credentialSubject"]["id"] = "did:example:else"
    result = verify_ecdsa_proof(changed, changed["proof"], private.public_key())
    assert not result.verified and result.reason is not None and "signature" in result.reason
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not verify_ecdsa_proof(signed, signed["proof"], other).verified


def test_a_given_expansion_is_what_the_document_hash_covers() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    signed = sign_ecdsa_document(
        DOCUMENT, private, "did:key:zDn#zDn", datetime(2025, 1, 1, tzinfo=UTC)
    )
    key = private.public_key()
    assert verify_ecdsa_proof(
        signed, signed["proof"], key, expanded_unsecured=expand(DOCUMENT)
    ).verified
    other = {**copy.deepcopy(DOCUMENT), "id": "urn:uuid:2"}
    result = verify_ecdsa_proof(signed, signed["proof"], key, expanded_unsecured=expand(other))
    assert not result.verified and result.reason is not None and "signature" in result.reason
