"""The service's own issuers and status lists, answered from its database.

A credential this service issued names keys and status lists under its own public URL.
Fetching those over HTTP would be a round trip to itself (and, behind a proxy, may not even
work); these adapters answer from the database instead. Keys are cached briefly, since they
change only by rotation, and a reference the cache does not know forces a reload, so a
freshly rotated key is found at once. Status bits are always read fresh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from keys.did_web import PublishedKey, build_did_document, did_web_for
from keys.keypair import KeyAlgorithm, public_key_from_jwk
from storage.models import Issuer, StatusList
from verification.resolvers import ResolvedKey, find_method
from verification.status import (
    ListVerifier,
    StatusChecker,
    StatusOutcome,
    StatusResult,
    bit_is_set,
)

_KEY_CACHE_SECONDS: Final = 60.0
_PAST: Final = {"revocation": "revoked", "suspension": "suspended"}


class OwnIssuerKeys:
    """Resolves `did:web:<this service>:issuers:<slug>#…` without HTTP; None for others."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], public_url: str) -> None:
        self._sessions = sessions
        self._prefix = did_web_for(public_url, "issuers") + ":"
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}

    async def resolve(
        self, key_ref: str, *, purpose: str = "assertionMethod"
    ) -> ResolvedKey | None:
        did, _, fragment = key_ref.partition("#")
        slug = did.removeprefix(self._prefix)
        if not did.startswith(self._prefix) or not fragment or ":" in slug:
            return None
        document = await self._document(did, slug, refresh=False)
        if document is None:
            return None
        if not _lists(document, key_ref):
            document = await self._document(did, slug, refresh=True)
        return find_method(document, key_ref, purpose) if document else None

    async def _document(self, did: str, slug: str, *, refresh: bool) -> dict[str, Any] | None:
        cached = self._documents.get(slug)
        if cached and not refresh and cached[0] > time.monotonic():
            return cached[1]
        async with self._sessions() as session:
            issuer = await session.scalar(select(Issuer).where(Issuer.slug == slug))
            if issuer is None:
                return None
            keys = [
                PublishedKey(
                    row.key_id, KeyAlgorithm(row.algorithm), public_key_from_jwk(row.public_jwk)
                )
                for row in issuer.keys
            ]
        document = build_did_document(did, keys)
        self._documents[slug] = (time.monotonic() + _KEY_CACHE_SECONDS, document)
        return document


def _lists(document: Mapping[str, Any], key_ref: str) -> bool:
    return any(method.get("id") == key_ref for method in document.get("verificationMethod", []))


class OwnStatusLists:
    """Reads bits of this service's status lists from the database; others go to `fallback`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        public_url: str,
        fallback: StatusChecker,
    ) -> None:
        self._sessions = sessions
        self._prefix = f"{public_url}/status/"
        self._fallback = fallback

    async def check(
        self, entry: Mapping[str, Any], *, issuer_id: str | None, verify_list: ListVerifier
    ) -> StatusResult:
        url = entry.get("statusListCredential")
        if not isinstance(url, str) or not url.startswith(self._prefix):
            return await self._fallback.check(entry, issuer_id=issuer_id, verify_list=verify_list)
        slug, _, list_ref = url.removeprefix(self._prefix).partition("/")
        index = entry.get("statusListIndex")
        try:
            list_id = uuid.UUID(list_ref)
            position = int(str(index))
        except ValueError:
            return StatusResult(StatusOutcome.ERROR, f"malformed status entry for {url}")
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(StatusList.bits, StatusList.signing_did, StatusList.purpose)
                    .join(Issuer, Issuer.id == StatusList.issuer_id)
                    .where(StatusList.id == list_id, Issuer.slug == slug)
                )
            ).first()
        if row is None:
            return StatusResult(StatusOutcome.ERROR, f"status list {url} does not exist")
        bits, signing_did, purpose = row
        if signing_did != issuer_id or purpose != entry.get("statusPurpose"):
            return StatusResult(
                StatusOutcome.ERROR, f"status list {url} is not this issuer's {purpose} list"
            )
        if not 0 <= position < len(bits) * 8:
            return StatusResult(StatusOutcome.ERROR, f"index {index} is outside {url}")
        if not bit_is_set(bits, position):
            return StatusResult(StatusOutcome.OK, f"not {_PAST[purpose]} ({url})")
        if purpose == "revocation":
            return StatusResult(StatusOutcome.REVOKED, f"revoked by its issuer ({url})")
        return StatusResult(StatusOutcome.SUSPENDED, f"suspended by its issuer ({url})")
