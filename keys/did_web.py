"""did:web identifiers for issuers and the DID documents that publish their keys.

A did:web DID names a web location (W3C did:web method): `did:web:host%3Aport:seg:seg` is
resolved from `https://host:port/seg/seg/did.json`, a bare host from
`/.well-known/did.json`. Lattice gives each issuer such a DID under its public URL.

Its DID document lists every key the issuer ever signed with, rotated ones included,
because credentials signed with an old key must still verify. Each Ed25519 key appears
twice: as a `Multikey` (named by eddsa-rdfc-2022 proofs) and as a `JsonWebKey` (named by
the `kid` of a VC-JWT, for JOSE libraries that do not read Multikey); an RSA key only as a
`JsonWebKey`. Only public keys are ever written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from keys.keypair import KeyAlgorithm, algorithm_of, public_jwk
from keys.multikey import encode_ed25519_public_key

DID_WEB_PREFIX: Final = "did:web:"
DID_CONTEXTS: Final = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/jwk/v1",
)
VERIFICATION_RELATIONSHIPS: Final = ("assertionMethod", "authentication")

# DID Core §3.1: idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
_SEGMENT: Final = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_HOST: Final = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_KEY_ID: Final = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class PublishedKey:
    """A public key an issuer publishes, named `<did>#<key_id>`."""

    key_id: str
    algorithm: KeyAlgorithm
    public_key: Ed25519PublicKey | RSAPublicKey

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", KeyAlgorithm(self.algorithm))
        if not isinstance(self.key_id, str) or not _KEY_ID.fullmatch(self.key_id):
            raise ValueError(
                f"key_id {self.key_id!r} must be a DID URL fragment of letters, digits, '.-_'"
            )
        if algorithm_of(self.public_key) != self.algorithm:
            raise ValueError(f"key {self.key_id!r} is not an {self.algorithm} public key")


def _encode_segment(segment: str) -> str:
    """Percent-encode everything outside the DID idchar set (quote() leaves '~' bare)."""
    return quote(segment, safe="").replace("~", "%7E")


def did_web_for(public_url: str, *path: str) -> str:
    """The did:web DID of `public_url` (scheme http or https) extended by `path` segments.

    `did_web_for("https://x.org/lattice", "issuers", "dp") == "did:web:x.org:lattice:issuers:dp"`
    """
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"public URL {public_url!r} must be http or https")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"public URL {public_url!r} must not carry a query, fragment or user")
    host = parts.hostname or ""
    if not _HOST.fullmatch(host):
        raise ValueError(f"public URL {public_url!r} has no host name usable in did:web")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"public URL {public_url!r} has an invalid port") from None
    authority = host if port is None else f"{host}%3A{port}"

    # The URL's own path is already URL-encoded: decode it so it is encoded only once.
    leading = [unquote(segment) for segment in parts.path.split("/") if segment]
    for segment in [*leading, *path]:
        if not isinstance(segment, str) or segment in ("", ".", ".."):
            raise ValueError(f"did:web path segments must be non-empty names, not {segment!r}")
    return DID_WEB_PREFIX + ":".join(
        [authority, *(_encode_segment(segment) for segment in [*leading, *path])]
    )


def did_web_document_url(did: str, *, scheme: str = "https") -> str:
    """Where a did:web DID document is served: `https://host[:port]/path/did.json`."""
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme must be http or https, not {scheme!r}")
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        raise ValueError(f"{did!r} is not a did:web DID")
    if any(mark in did for mark in "#?/"):
        raise ValueError(f"{did!r} is a DID URL; expected a bare did:web DID")
    authority, *segments = did[len(DID_WEB_PREFIX) :].split(":")
    host, _, port = unquote(authority).partition(":")
    if not _HOST.fullmatch(host.lower()) or (port and not port.isdigit()) or "%" in host:
        raise ValueError(f"did:web DID {did!r} has an invalid host {authority!r}")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValueError(f"did:web DID {did!r} has an invalid path segment {segment!r}")
    netloc = host.lower() + (f":{port}" if port else "")
    path = "/".join(segments) if segments else ".well-known"
    return f"{scheme}://{netloc}/{path}/did.json"


def multikey_id(did: str, key: PublishedKey) -> str:
    """Id of the `Multikey` verification method of an Ed25519 key (eddsa-rdfc-2022 proofs)."""
    if key.algorithm is not KeyAlgorithm.ED25519:
        raise ValueError(f"key {key.key_id!r} is {key.algorithm}; only Ed25519 keys are Multikeys")
    return f"{did}#{key.key_id}"


def jwk_id(did: str, key: PublishedKey) -> str:
    """Id of the `JsonWebKey` verification method: the `kid` of the key's VC-JWTs.

    An Ed25519 key's plain `#key_id` is its Multikey, so its JWK form gets `-jwk`.
    """
    if key.algorithm is KeyAlgorithm.ED25519:
        return f"{did}#{key.key_id}-jwk"
    return f"{did}#{key.key_id}"


def verification_method_ids(did: str, key: PublishedKey) -> list[str]:
    """Ids of every verification method that publishes `key`, in document order."""
    if key.algorithm is KeyAlgorithm.ED25519:
        return [multikey_id(did, key), jwk_id(did, key)]
    return [jwk_id(did, key)]


def _verification_methods(did: str, key: PublishedKey) -> list[dict[str, Any]]:
    methods: list[dict[str, Any]] = []
    if isinstance(key.public_key, Ed25519PublicKey):
        methods.append(
            {
                "id": multikey_id(did, key),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": encode_ed25519_public_key(key.public_key),
            }
        )
    methods.append(
        {
            "id": jwk_id(did, key),
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": public_jwk(key.public_key),
        }
    )
    return methods


def build_did_document(did: str, keys: Sequence[PublishedKey]) -> dict[str, Any]:
    """The DID document of `did`, publishing `keys` in the order given.

    Every verification method is listed under both `assertionMethod` and `authentication`.
    """
    methods = [method for key in keys for method in _verification_methods(did, key)]
    ids = [method["id"] for method in methods]
    duplicates = sorted({vm_id for vm_id in ids if ids.count(vm_id) > 1})
    if duplicates:
        raise ValueError(f"verification method ids collide: {', '.join(duplicates)}")
    document: dict[str, Any] = {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
    }
    for relationship in VERIFICATION_RELATIONSHIPS:
        document[relationship] = list(ids)
    return document
