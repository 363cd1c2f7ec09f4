"""The JWK set that publishes issuers' VC-JWT keys to JOSE verifiers (RFC 7517 §5).

Each key carries the same `kid` as the VC-JWTs it signs (the full DID URL of its
`JsonWebKey` verification method), so a verifier can match token to key without
resolving the DID. The optional `iss` member is OB 3.0's key provenance: it equals the
id of the issuer that signs with the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keys.did_web import PublishedKey, jwk_id
from keys.keypair import JWT_ALGORITHMS, public_jwk


def _jwk_entry(did: str, key: PublishedKey) -> dict[str, str]:
    return {
        **public_jwk(key.public_key),
        "kid": jwk_id(did, key),
        "alg": JWT_ALGORITHMS[key.algorithm],
        "use": "sig",
        "iss": did,
    }


def jwk_set(did_keys: Sequence[tuple[str, PublishedKey]]) -> dict[str, Any]:
    """`{"keys": [...]}` with one public signing JWK per `(issuer DID, key)` pair, in order."""
    return {"keys": [_jwk_entry(did, key) for did, key in did_keys]}
