"""The service's own credentials, issuers and status lists, answered from its database.

A credential this service issued names keys and status lists under its own public URL.
Fetching those over HTTP would be a round trip to itself (and, behind a proxy, may not even
work); these adapters answer from the database instead. Stored credentials never change and
are cached. Keys are cached briefly, since they change only by rotation, and a reference
the cache does not know forces a reload, so a freshly rotated key is found at once. Status
bits are always read fresh.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Row,
    Select,
    String,
    Uuid,
    bindparam,
    func,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from keys.did_web import PublishedKey, build_did_document, did_web_for
from keys.keypair import KeyAlgorithm, public_key_from_jwk
from keys.resolution import ResolvedKey
from net.lru import LruCache
from storage.models import Credential, Issuer, StatusList
from verification.resolvers import (
    find_method,
    listed_keys,
)
from verification.status import (
    ENTRY_TYPES,
    ListEntry,
    ListVerifier,
    StatusChecker,
    StatusResult,
    issuer_warning,
    length_problem,
    parse_entry,
    purpose_problem,
    range_problem,
    read_status,
    status_error,
    status_outcome,
)

_KEY_CACHE_SECONDS: Final = 60.0


@dataclass(frozen=True)
class StoredCredential:
    """An issued credential as stored: the signed JSON and its VC-JWT form (if any)."""

    document: str
    jwt: str | None


@dataclass(frozen=True)
class OwnReference:
    """What a URL of this service's `/credentials/` names."""

    credential_id: uuid.UUID
    wants_jwt: bool  # the `.jwt` URL, not the JSON one


class OwnCredentials:
    """This service's issued credentials, read by id from the database.

    A stored credential is the exact signed bytes and never changes, so recently read ones
    are kept in memory: a badge verified by its URL, the public's most common request, then
    needs no credential query. Ids not found are not remembered (nor could they appear).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], public_url: str, max_entries: int
    ) -> None:
        self._sessions = sessions
        self._prefix = f"{public_url}/credentials/"
        self._stored: LruCache[uuid.UUID, StoredCredential] = LruCache(max_entries)

    def reference(self, url: str) -> OwnReference | None:
        """The credential `url` names when it is one of this service's credential URLs."""
        if not url.startswith(self._prefix):
            return None
        rest = url.removeprefix(self._prefix)
        try:
            credential_id = uuid.UUID(rest.removesuffix(".jwt").removesuffix(".json"))
        except ValueError:
            return None
        return OwnReference(credential_id, rest.endswith(".jwt"))

    async def get(self, credential_id: uuid.UUID) -> StoredCredential | None:
        return (await self.get_many([credential_id])).get(credential_id)

    async def get_many(
        self, credential_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, StoredCredential]:
        """Those of `credential_ids` this service issued (one query for the ones not cached)."""
        found: dict[uuid.UUID, StoredCredential] = {}
        missing = set()
        for credential_id in credential_ids:
            cached = self._stored.get(credential_id)
            if cached is None:
                missing.add(credential_id)
            else:
                found[credential_id] = cached
        if missing:
            # Two columns, not the row: loading a Credential also loads recipients, evidence.
            query = select(Credential.id, Credential.document, Credential.jwt).where(
                Credential.id.in_(missing)
            )
            async with self._sessions() as session:
                rows = (await session.execute(query)).all()
            for credential_id, document, jwt in rows:
                found[credential_id] = StoredCredential(document, jwt)
                self._stored.put(credential_id, found[credential_id])
        return found


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

    async def keys_of(
        self, did: str, *, purpose: str = "assertionMethod"
    ) -> list[ResolvedKey] | None:
        """The keys one of this service's issuers lists for `purpose`; None for other DIDs.

        Read fresh, not from the cache: the caller compares keys by value, so a key rotated
        a moment ago must be there (and this path is rare: our own JWTs carry a `kid`).
        """
        slug = did.removeprefix(self._prefix)
        if not did.startswith(self._prefix) or "#" in did or ":" in slug:
            return None
        document = await self._document(did, slug, refresh=True)
        return listed_keys(document, purpose) if document else []

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


@dataclass(frozen=True)
class _OwnEntry:
    """A `credentialStatus` entry naming one of this service's lists."""

    position: int  # in the credential's entries
    slug: str
    list_id: uuid.UUID
    entry: ListEntry

    @property
    def first_byte(self) -> int:
        """Where the entry's status starts in the stored bits (SQL counts from 1)."""
        return self.entry.first_bit // 8 + 1

    @property
    def byte_count(self) -> int:
        """How many bytes the entry's `statusSize` bits touch."""
        last_bit = self.entry.first_bit + self.entry.size - 1
        return last_bit // 8 - self.entry.first_bit // 8 + 1


class OwnStatusLists:
    """Reads bits of this service's status lists from the database; others go to `fallback`.

    A credential's own entries are answered by one query that reads the byte (or two) of
    each list that holds the entry, not the 16 KB lists themselves: this runs on every
    verification of an own credential. The answer is the one a third party fetching the
    list would get (`BitstringStatusListChecker`), by the same rules: the entry's purpose
    must be the list's, a list shorter than 131,072 entries or an index past its end is an
    error, and a list signed by another issuer than the credential's is read with a warning.
    The list's proof and validity window need no check here: the service signs its lists
    itself, valid from their signing with no end.
    """

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
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        issuer_id: str | None,
        verify_list: ListVerifier,
    ) -> list[StatusResult]:
        results: dict[int, StatusResult] = {}
        own: list[_OwnEntry] = []
        foreign: list[int] = []
        for position, entry in enumerate(entries):
            url = entry.get("statusListCredential")
            own_list = isinstance(url, str) and url.startswith(self._prefix)
            if not own_list or entry.get("type") not in ENTRY_TYPES:
                foreign.append(position)
                continue
            parsed = self._own_entry(position, entry)
            if isinstance(parsed, StatusResult):
                results[position] = parsed
            else:
                own.append(parsed)
        if foreign:
            answers = await self._fallback.check(
                [entries[i] for i in foreign], issuer_id=issuer_id, verify_list=verify_list
            )
            results.update(zip(foreign, answers, strict=True))
        if own:
            rows = await self._read_bytes(own)
            for item in own:
                results[item.position] = _own_outcome(item, rows.get(item.position), issuer_id)
        return [results[position] for position in range(len(entries))]

    def _own_entry(self, position: int, raw: Mapping[str, Any]) -> _OwnEntry | StatusResult:
        entry = parse_entry(raw)
        if isinstance(entry, str):
            return status_error(entry)
        slug, _, list_ref = entry.url.removeprefix(self._prefix).partition("/")
        try:
            list_id = uuid.UUID(list_ref)
        except ValueError:
            return status_error(f"status list {entry.url} is not a list of this service")
        return _OwnEntry(position, slug, list_id, entry)

    async def _read_bytes(self, entries: Sequence[_OwnEntry]) -> dict[int, Row[Any]]:
        """Per entry position: the list's signer, purpose, size in bytes and the bytes that
        hold the entry's status (fewer, or none, when the index is past the end)."""
        params: dict[str, Any] = {}
        for n, item in enumerate(entries):
            params.update(
                {
                    f"position_{n}": item.position,
                    f"list_{n}": item.list_id,
                    f"slug_{n}": item.slug,
                    f"byte_{n}": item.first_byte,
                    f"count_{n}": item.byte_count,
                }
            )
        async with self._sessions() as session:
            rows = (await session.execute(_bytes_query(len(entries)), params)).all()
        return {row.position: row for row in rows}


@functools.lru_cache(maxsize=8)
def _bytes_query(count: int) -> Select[Any] | CompoundSelect[Any]:
    """The query `_read_bytes` runs for `count` entries, built once: building a statement
    costs more than running it."""
    selects = [
        select(
            bindparam(f"position_{n}", type_=Integer).label("position"),
            StatusList.signing_did,
            StatusList.purpose,
            func.length(StatusList.bits).label("size"),
            func.substr(
                StatusList.bits,
                bindparam(f"byte_{n}", type_=Integer),
                bindparam(f"count_{n}", type_=Integer),
            ).label("chunk"),
        )
        .join(Issuer, Issuer.id == StatusList.issuer_id)
        .where(
            StatusList.id == bindparam(f"list_{n}", type_=Uuid),
            Issuer.slug == bindparam(f"slug_{n}", type_=String),
        )
        for n in range(count)
    ]
    return selects[0] if count == 1 else union_all(*selects)


def _own_outcome(item: _OwnEntry, row: Row[Any] | None, issuer_id: str | None) -> StatusResult:
    entry = item.entry
    if row is None:
        return status_error(f"status list {entry.url} does not exist")
    bit_count = row.size * 8
    problem = (
        purpose_problem(entry.url, row.purpose, entry.purpose)
        or length_problem(entry.url, bit_count, entry)
        or range_problem(entry.url, bit_count, entry)
    )
    if problem is not None:
        return status_error(problem)
    value = read_status(bytes(row.chunk), entry.first_bit % 8, entry.size)
    result = status_outcome(entry, value)
    warning = issuer_warning(entry.url, row.signing_did, issuer_id)
    return dataclasses.replace(result, warning=warning) if warning else result
