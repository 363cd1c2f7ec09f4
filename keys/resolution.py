"""What resolving a key reference means, apart from how it is done: the answer (`ResolvedKey`),
the failure (`KeyResolutionError`) and the interface resolvers offer (`KeyResolver`,
`KeyLister`). The verifier's resolvers (did:key, did:jwk, did:web, HTTPS, this service's own
DIDs) implement it in `verification.resolvers`; the wallet flows, which check a holder's
proof of possession, take any resolver through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from keys.jose import VerifyingKey


class KeyResolutionError(Exception):
    """No key for a reference; `unreachable` when the network, not the reference, failed."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class ResolvedKey:
    id: str
    controller: str
    public_key: VerifyingKey


class KeyResolver(Protocol):
    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        """The key `key_ref` names, None if this resolver does not handle such references."""
        ...


@runtime_checkable
class KeyLister(Protocol):
    """A resolver that can also list every key a DID document names for a purpose."""

    async def keys_of(
        self, did: str, *, purpose: str = "assertionMethod"
    ) -> list[ResolvedKey] | None:
        """The keys `did` lists for `purpose`; None if this resolver does not handle `did`."""
        ...
