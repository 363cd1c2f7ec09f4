"""Compact JWS signature checks for verifying other issuers' VC-JWTs (RS256, ES256, EdDSA).

`keys.vc_jwt` verifies Lattice's own key families (Ed25519, RSA) and folds the validity
window into the signature check; a verifier that must report "expired" separately from
"forged", and accept ES256 from other issuers, needs the signature check alone. As there,
the algorithm follows from the key, never from the token: the header's `alg` must be the
one that key type signs with, so a token cannot choose `none`, HS256 or another family.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from keys.keypair import public_key_from_jwk

VerifyingKey = Ed25519PublicKey | RSAPublicKey | ec.EllipticCurvePublicKey
"""Public key types a verifier accepts from other issuers."""

_P256_COORDINATE: Final = 32


class JwsError(ValueError):
    """A compact JWS whose signature does not verify, or whose `alg` does not fit the key."""


def any_public_key_from_jwk(jwk: Mapping[str, Any]) -> VerifyingKey:
    """Public key of an OKP/Ed25519, RSA (>= 2048 bits) or EC P-256 JWK; ValueError otherwise."""
    if isinstance(jwk, Mapping) and jwk.get("kty") == "EC":
        if "d" in jwk:
            raise ValueError("JWK holds private key members (d); expected public")
        if jwk.get("crv") != "P-256":
            raise ValueError(f'EC JWK "crv" must be "P-256", not {jwk.get("crv")!r}')
        x, y = _coordinate(jwk.get("x"), "x"), _coordinate(jwk.get("y"), "y")
        try:
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as error:
            raise ValueError(f"EC JWK is not a point on P-256: {error}") from None
    return public_key_from_jwk(jwk)


def _coordinate(value: Any, member: str) -> int:
    if not isinstance(value, str):
        raise ValueError(f'EC JWK "{member}" must be a base64url string')
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f'EC JWK "{member}" is not base64url') from None
    if len(raw) != _P256_COORDINATE:
        raise ValueError(f'EC JWK "{member}" holds {len(raw)} bytes; P-256 needs 32')
    return int.from_bytes(raw, "big")


def algorithm_for(key: VerifyingKey) -> str:
    """The JWS `alg` a key verifies: EdDSA, RS256 or ES256."""
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError(f"unsupported key type {type(key).__name__} for a JWS")


def verify_compact_jws(token: str, key: VerifyingKey) -> bytes:
    """The payload bytes of `token` if its signature verifies with `key`; else JwsError."""
    expected = algorithm_for(key)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise JwsError(f"not a compact JWS: {error}") from None
    if header.get("alg") != expected:
        raise JwsError(
            f'JWS header "alg" is {header.get("alg")!r}; the resolved key verifies only '
            f'"{expected}"'
        )
    try:
        decoded = jwt.PyJWS().decode_complete(token, key=key, algorithms=[expected])
    except jwt.InvalidSignatureError:
        raise JwsError("JWS signature does not verify with the issuer's key") from None
    except jwt.PyJWTError as error:
        raise JwsError(f"JWS rejected: {error}") from None
    payload: bytes = decoded["payload"]
    return payload
