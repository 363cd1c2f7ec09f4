"""`did:jwk` (did-jwk method): a DID that is a base64url-encoded public JWK.

`did:jwk:<base64url(JSON JWK)>` resolves locally, with no network: its only verification
method is `<did>#0`, controlled by the DID itself. Used by some wallets and issuers for
VC-JWTs and Data Integrity proofs alike.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

DID_JWK_PREFIX: Final = "did:jwk:"
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def did_jwk_for(jwk: Mapping[str, Any]) -> str:
    """The did:jwk DID of a public JWK (members serialized compactly, as given)."""
    private = sorted(_PRIVATE_MEMBERS & set(jwk))
    if private:
        raise ValueError(f"JWK holds private members ({', '.join(private)}); expected public")
    text = json.dumps(dict(jwk), separators=(",", ":"), ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")
    return DID_JWK_PREFIX + encoded


def jwk_from_did_jwk(did_url: str) -> dict[str, Any]:
    """The public JWK of a did:jwk DID or of its verification method `<did>#0`."""
    if not isinstance(did_url, str) or not did_url.startswith(DID_JWK_PREFIX):
        raise ValueError(f"{did_url!r} is not a did:jwk DID")
    identifier, _, fragment = did_url[len(DID_JWK_PREFIX) :].partition("#")
    if fragment not in ("", "0"):
        raise ValueError(f"did:jwk URL {did_url!r} names a fragment other than #0")
    try:
        raw = base64.urlsafe_b64decode(identifier + "=" * (-len(identifier) % 4))
        jwk = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"did:jwk {did_url!r} is not base64url-encoded JSON: {error}") from None
    if not isinstance(jwk, dict):
        raise ValueError(f"did:jwk {did_url!r} does not encode a JSON object")
    if _PRIVATE_MEMBERS & set(jwk):
        raise ValueError(f"did:jwk {did_url!r} encodes a private key")
    return jwk


def did_of(did_url: str) -> str:
    """The DID part of a did:jwk DID URL (the controller of its key)."""
    return did_url.partition("#")[0]
