"""base58btc multibase and Ed25519 Multikey / did:key encoding (W3C Controlled Identifiers).

An Ed25519 public key as a Multikey is `z` + base58btc(0xed 0x01 || 32-byte key), e.g.
`z6Mk...`; the secret key form is `z` + base58btc(0x80 0x26 || 32-byte seed [|| public key]).
Every decoding error is a `ValueError` whose message names what was wrong.
"""

from __future__ import annotations

from typing import Final

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE58BTC_PREFIX: Final = "z"
ED25519_PUB_HEADER: Final = b"\xed\x01"
ED25519_PRIV_HEADER: Final = b"\x80\x26"
ED25519_KEY_LENGTH: Final = 32
DID_KEY_PREFIX: Final = "did:key:"


def b58encode(data: bytes) -> str:
    """base58btc (Bitcoin alphabet) encoding of `data`."""
    return base58.b58encode(data).decode("ascii")


def b58decode(text: str) -> bytes:
    """Decode base58btc text; raises ValueError on characters outside the alphabet."""
    if not isinstance(text, str):
        raise ValueError(f"base58btc value must be a string, not {type(text).__name__}")
    try:
        return base58.b58decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise ValueError(f"invalid base58btc value {text!r}: {error}") from error


def encode_multibase(data: bytes) -> str:
    """Multibase base58btc: `z` + base58btc(data)."""
    return BASE58BTC_PREFIX + b58encode(data)


def decode_multibase(value: str) -> bytes:
    """Decode a multibase base58btc string (`z...`); other bases are rejected."""
    if not isinstance(value, str) or not value.startswith(BASE58BTC_PREFIX):
        raise ValueError(f"multibase value {value!r} must be base58btc, starting with 'z'")
    return b58decode(value[1:])


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_ed25519_public_key(key: Ed25519PublicKey | bytes) -> str:
    """Ed25519 public key (object or 32 raw bytes) as a Multikey `z6Mk...`."""
    raw = key if isinstance(key, bytes) else _raw_public_key(key)
    if len(raw) != ED25519_KEY_LENGTH:
        raise ValueError(f"Ed25519 public key must be 32 bytes, not {len(raw)}")
    return encode_multibase(ED25519_PUB_HEADER + raw)


def decode_ed25519_public_key(multikey: str) -> Ed25519PublicKey:
    """Ed25519 public key from a Multikey `z6Mk...` (publicKeyMultibase)."""
    data = decode_multibase(multikey)
    if data[:2] != ED25519_PUB_HEADER:
        raise ValueError(
            f"Multikey {multikey!r} is not an Ed25519 public key (multicodec header "
            f"{data[:2].hex() or 'missing'}, expected ed01)"
        )
    raw = data[2:]
    if len(raw) != ED25519_KEY_LENGTH:
        raise ValueError(
            f"Multikey {multikey!r} holds a {len(raw)}-byte key; Ed25519 keys are 32 bytes"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def encode_ed25519_private_key(key: Ed25519PrivateKey) -> str:
    """Ed25519 secret key as a Multikey secretKeyMultibase (`z` + 0x8026 || seed || public)."""
    seed = key.private_bytes_raw()
    return encode_multibase(ED25519_PRIV_HEADER + seed + _raw_public_key(key.public_key()))


def decode_ed25519_private_key(multikey: str) -> Ed25519PrivateKey:
    """Ed25519 private key from a secretKeyMultibase (0x8026 || seed [|| public key])."""
    data = decode_multibase(multikey)
    if data[:2] != ED25519_PRIV_HEADER:
        raise ValueError("secret Multikey is not an Ed25519 private key (expected header 8026)")
    body = data[2:]
    if len(body) not in (ED25519_KEY_LENGTH, 2 * ED25519_KEY_LENGTH):
        raise ValueError(f"secret Multikey holds {len(body)} bytes; expected 32 or 64")
    key = Ed25519PrivateKey.from_private_bytes(body[:ED25519_KEY_LENGTH])
    if len(body) == 2 * ED25519_KEY_LENGTH and body[32:] != _raw_public_key(key.public_key()):
        raise ValueError("secret Multikey's public half does not match its seed")
    return key


def did_key_for(key: Ed25519PublicKey) -> str:
    """The did:key DID of an Ed25519 public key."""
    return DID_KEY_PREFIX + encode_ed25519_public_key(key)


def did_key_verification_method(key: Ed25519PublicKey) -> str:
    """The verification method id of a did:key: `did:key:z6Mk...#z6Mk...`."""
    multikey = encode_ed25519_public_key(key)
    return f"{DID_KEY_PREFIX}{multikey}#{multikey}"


def public_key_from_did_key(did_url: str) -> Ed25519PublicKey:
    """Ed25519 public key of a did:key DID or DID URL (`did:key:z6Mk...[#z6Mk...]`)."""
    if not isinstance(did_url, str) or not did_url.startswith(DID_KEY_PREFIX):
        raise ValueError(f"{did_url!r} is not a did:key DID")
    identifier, _, fragment = did_url[len(DID_KEY_PREFIX) :].partition("#")
    if fragment and fragment != identifier:
        raise ValueError(f"did:key URL {did_url!r} has a fragment other than its own key")
    return decode_ed25519_public_key(identifier)


def public_key_from_fragment(verification_method: str) -> Ed25519PublicKey:
    """Ed25519 key named by a verification method id `...#z6Mk...` (did:key or URL fragment).

    Only a shortcut for ids that embed their key: a verifier must still check that the
    issuer's controller document lists the method.
    """
    if verification_method.startswith(DID_KEY_PREFIX):
        return public_key_from_did_key(verification_method)
    _, hash_sign, fragment = verification_method.partition("#")
    if not hash_sign or not fragment:
        raise ValueError(f"verification method {verification_method!r} has no key fragment")
    return decode_ed25519_public_key(fragment)
