"""did:jwk encoding, and compact JWS checks whose algorithm follows the key."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.did_jwk import did_jwk_for, jwk_from_did_jwk
from keys.jose import JwsError, algorithm_for, any_public_key_from_jwk, verify_compact_jws
from keys.keypair import public_jwk


def test_did_jwk_round_trip_and_refusals() -> None:
    jwk = public_jwk(Ed25519PrivateKey.generate().public_key())
    did = did_jwk_for(jwk)
    assert jwk_from_did_jwk(did) == jwk == jwk_from_did_jwk(did + "#0")
    with pytest.raises(ValueError, match="other than #0"):
        jwk_from_did_jwk(did + "#1")
    with pytest.raises(ValueError, match="private"):
        did_jwk_for({**jwk, "d": "secret"})
    with pytest.raises(ValueError, match="not a did:jwk"):
        jwk_from_did_jwk("did:key:z6Mk")


def test_ec_jwk_and_algorithms() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public = any_public_key_from_jwk(jwk)
    assert algorithm_for(public) == "ES256"
    token = jwt.encode({"a": 1}, key, algorithm="ES256")
    assert json.loads(verify_compact_jws(token, public)) == {"a": 1}
    with pytest.raises(ValueError, match="P-256"):
        any_public_key_from_jwk({**jwk, "crv": "P-384"})


def test_alg_must_fit_the_key() -> None:
    ed = Ed25519PrivateKey.generate()
    hs = jwt.encode({"a": 1}, "secret-secret-secret-secret-secret", algorithm="HS256")
    with pytest.raises(JwsError, match='verifies only "EdDSA"'):
        verify_compact_jws(hs, ed.public_key())
    other = jwt.encode({"a": 1}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    with pytest.raises(JwsError, match="does not verify"):
        verify_compact_jws(other, ed.public_key())
