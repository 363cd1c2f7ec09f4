"""Issuer signing keys (Ed25519 or RSA) and their public JWK form (RFC 7517, RFC 8037).

An issuer signs VC-JWTs with `EdDSA` or `RS256` and Data Integrity proofs with Ed25519; the
public half is published as a JWK in its DID document and JWK set. Private keys travel only
as unencrypted PKCS#8 DER, which the caller encrypts at rest (`keys.master`). No function
here ever puts private key material in a JWK, a repr or an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
)

RSA_KEY_SIZE: Final = 2048
RSA_PUBLIC_EXPONENT: Final = 65537
ED25519_KEY_LENGTH: Final = 32

# RFC 7517 §4 / RFC 7518 §6: members that only a private JWK carries.
_PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members of each key type, the only input to a thumbprint.
_THUMBPRINT_MEMBERS: Final = {
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
}
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")


class KeyAlgorithm(StrEnum):
    """Key types an issuer can sign with."""

    ED25519 = "Ed25519"
    RSA = "RSA"


JWT_ALGORITHMS: Final[Mapping[KeyAlgorithm, str]] = {
    KeyAlgorithm.ED25519: "EdDSA",
    KeyAlgorithm.RSA: "RS256",
}
"""JWS `alg` used with each key type (RFC 8037 `EdDSA`; RSASSA-PKCS1-v1_5 SHA-256)."""


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An issuer's private signing key, tagged with its algorithm."""

    algorithm: KeyAlgorithm
    private_key: Ed25519PrivateKey | RSAPrivateKey

    def __post_init__(self) -> None:
        # Accept the plain string ("Ed25519") too, but store the enum member.
        object.__setattr__(self, "algorithm", KeyAlgorithm(self.algorithm))
        _check_matches(self.algorithm, self.private_key)

    @classmethod
    def generate(cls, algorithm: KeyAlgorithm) -> KeyPair:
        """A new random key: Ed25519, or RSA with 2048 bits and e = 65537."""
        algorithm = KeyAlgorithm(algorithm)
        if algorithm is KeyAlgorithm.ED25519:
            return cls(algorithm, Ed25519PrivateKey.generate())
        return cls(algorithm, rsa.generate_private_key(RSA_PUBLIC_EXPONENT, RSA_KEY_SIZE))

    @classmethod
    def from_private_bytes(cls, algorithm: KeyAlgorithm, data: bytes) -> KeyPair:
        """Load an unencrypted PKCS#8 DER private key; ValueError if it is not `algorithm`."""
        algorithm = KeyAlgorithm(algorithm)
        try:
            private_key = load_der_private_key(data, password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"not an unencrypted PKCS#8 DER private key: {error}") from None
        if not isinstance(private_key, Ed25519PrivateKey | RSAPrivateKey):
            raise ValueError(f"unsupported private key type {type(private_key).__name__}")
        return cls(algorithm, private_key)

    def private_bytes(self) -> bytes:
        """The private key as unencrypted PKCS#8 DER (encrypt it before storing it)."""
        return self.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())

    @property
    def public_key(self) -> Ed25519PublicKey | RSAPublicKey:
        return self.private_key.public_key()

    @property
    def jwt_algorithm(self) -> str:
        """JWS `alg` for this key: `EdDSA` or `RS256`."""
        return JWT_ALGORITHMS[self.algorithm]

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (no private members)."""
        return public_jwk(self.public_key)

    def __repr__(self) -> str:
        return f"KeyPair(algorithm={self.algorithm.value}, private_key=<hidden>)"


def algorithm_of(
    key: Ed25519PrivateKey | Ed25519PublicKey | RSAPrivateKey | RSAPublicKey,
) -> KeyAlgorithm:
    """The algorithm of a private or public key; ValueError for other key types."""
    if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        return KeyAlgorithm.ED25519
    if isinstance(key, RSAPrivateKey | RSAPublicKey):
        return KeyAlgorithm.RSA
    raise ValueError(f"unsupported key type {type(key).__name__} (supported: Ed25519, RSA)")


def _check_matches(
    algorithm: KeyAlgorithm,
    key: Ed25519PrivateKey | Ed25519PublicKey | RSAPrivateKey | RSAPublicKey,
) -> None:
    """Raise unless `key` is an `algorithm` key; RSA keys must have 2048 bits or more."""
    actual = algorithm_of(key)
    if actual is not algorithm:
        raise ValueError(f"key is an {actual.value} key, not {algorithm.value}")
    if isinstance(key, RSAPrivateKey | RSAPublicKey) and key.key_size < RSA_KEY_SIZE:
        raise ValueError(f"RSA keys must have at least {RSA_KEY_SIZE} bits, not {key.key_size}")


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(value: Any, member: str) -> bytes:
    """Strict unpadded base64url (RFC 7515 §2) of a JWK member."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise ValueError(f'JWK "{member}" must be an unpadded base64url string')
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error as error:
        raise ValueError(f'JWK "{member}" is not valid base64url: {error}') from None


def _int_to_b64url(value: int) -> str:
    """RFC 7518 §6.3.1: unsigned big-endian, the fewest octets that hold the value."""
    return _b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def public_jwk(key: Ed25519PublicKey | RSAPublicKey) -> dict[str, str]:
    """`{kty: OKP, crv: Ed25519, x}` or `{kty: RSA, n, e}` for a public key."""
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url_encode(raw)}
    if isinstance(key, RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _int_to_b64url(numbers.n), "e": _int_to_b64url(numbers.e)}
    raise TypeError(f"unsupported public key type {type(key).__name__}")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey | RSAPublicKey:
    """The public key of an OKP/Ed25519 or RSA JWK; ValueError for anything else.

    A JWK with private members is refused: a public key slot is never the place for one.
    """
    if not isinstance(jwk, Mapping):
        raise ValueError("a JWK must be a JSON object")
    private = sorted(_PRIVATE_JWK_MEMBERS & set(jwk))
    if private:
        raise ValueError(f"JWK holds private key members ({', '.join(private)}); expected public")
    kty = jwk.get("kty")
    if kty == "OKP":
        return _ed25519_from_jwk(jwk)
    if kty == "RSA":
        return _rsa_from_jwk(jwk)
    raise ValueError(f'JWK "kty" {kty!r} is not supported (supported: OKP, RSA)')


def _ed25519_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk.get("crv") != "Ed25519":
        raise ValueError(f'OKP JWK "crv" must be "Ed25519", not {jwk.get("crv")!r}')
    raw = _b64url_decode(jwk.get("x"), "x")
    if len(raw) != ED25519_KEY_LENGTH:
        raise ValueError(f'Ed25519 JWK "x" holds {len(raw)} bytes; expected 32')
    return Ed25519PublicKey.from_public_bytes(raw)


def _rsa_from_jwk(jwk: Mapping[str, Any]) -> RSAPublicKey:
    n = int.from_bytes(_b64url_decode(jwk.get("n"), "n"), "big")
    e = int.from_bytes(_b64url_decode(jwk.get("e"), "e"), "big")
    try:
        key = rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as error:
        raise ValueError(f"RSA JWK is not a valid public key: {error}") from None
    _check_matches(KeyAlgorithm.RSA, key)
    return key


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 over the required members, base64url unpadded."""
    kty = jwk.get("kty") if isinstance(jwk, Mapping) else None
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError(f'cannot take the thumbprint of a JWK with "kty" {kty!r}')
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise ValueError(f'{kty} JWK needs a string "{name}" for its thumbprint')
        required[name] = value
    # §3.3: lexicographic member order, no whitespace, UTF-8.
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())
