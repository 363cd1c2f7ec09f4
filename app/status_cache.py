"""Signed status lists kept in memory, as the bytes and headers `GET /status/{slug}/{list}`
sends, so that a fetch of a list costs no database session.

How fresh is a served list
--------------------------
Every worker process keeps its own copy of each list it served, with the ETag the database
had for it. A copy is served as it is for at most `FRESH_FOR` (0.5 s) after the moment its
check against the database *started*; the first request after that asks the database for the
list's current ETag (one primary-key lookup, joined to its issuer's slug) and, only if it
changed, reloads the list. Every status change re-signs the list and so changes its ETag (a
digest of the signed document) in the same transaction as the bit, so a change committed at
time T is in every response that any worker starts after T + 0.5 s (plus the time of that
one lookup, a few milliseconds): well within 1 s. The worker that made the change drops its
copies of the issuer's lists as soon as the change is committed, so it serves the new list
at once, as does any worker for a list it had not cached.

Polling a per-list ETag works the same on SQLite (one process) and on PostgreSQL with several
workers, needs no listener connection that could silently drop, and costs one tiny query per
list per worker at most twice a second, whatever the request rate. Concurrent requests for a
list whose copy is due share one check. A list that does not exist is never cached (a list
opened later must not stay 404), and copies are keyed by issuer slug *and* list id, so one
issuer's URL never answers with another's list.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from app.negotiation import JWT, VC_LD_JSON
from badges.status.status_lists import jwt_etag
from storage.models import Issuer, StatusList

# VC-JOSE-COSE: a VCDM 2.0 credential secured as a JWT.
VC_JWT: Final = "application/vc+jwt"
# Seconds a checked copy of a list is served without asking the database again.
FRESH_FOR: Final = 0.5
# Lists kept per worker (a few KB each); the oldest copy makes room for a new one.
MAX_LISTS: Final = 1024
# Verifiers may reuse a list this long; a revocation is visible to new fetches within 1 s.
LIST_MAX_AGE: Final = 60

Headers = tuple[tuple[bytes, bytes], ...]
Key = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class Form:
    """One form of a list as sent: its ETag, its body, and the headers of a 200 and a 304."""

    etag: str
    body: bytes
    ok_headers: Headers
    not_modified_headers: Headers


@dataclass(frozen=True)
class CachedList:
    """A list as stored when it was last loaded. `etag` is the stored one (of the JSON-LD
    document): both forms are re-signed together, so it changes whenever either does."""

    etag: str
    # By media type; no JWT forms for a list signed before lists had a VC-JWT.
    forms: Mapping[str, Form]


class Prepared(Response):
    """A response whose bytes and headers were made when the list was cached."""

    def __init__(self, status_code: int, body: bytes, headers: Headers) -> None:
        # Starlette's __init__ would encode the headers again on every request.
        self.status_code = status_code
        self.body = body
        self.raw_headers = list(headers)  # a copy: whoever holds the response may add to it
        self.background = None


@dataclass
class _Copy:
    listed: CachedList
    # time.monotonic() when the database check that confirmed `listed` started.
    checked_at: float


@dataclass(frozen=True)
class _Check:
    started: float
    task: asyncio.Future[CachedList | None]


class StatusListCache:
    """The lists one worker serves, each checked against the database at most every
    `fresh_for` seconds (see the module docstring)."""

    def __init__(
        self, engine: AsyncEngine, fresh_for: float = FRESH_FOR, max_lists: int = MAX_LISTS
    ) -> None:
        self._engine = engine
        self._fresh_for = fresh_for
        self._max_lists = max_lists
        self._copies: dict[Key, _Copy] = {}
        self._checks: dict[Key, _Check] = {}
        # Bumped by `forget_issuer`: a check that started before it must not store its answer.
        self._generation = 0

    async def get(self, slug: str, list_id: uuid.UUID) -> CachedList | None:
        """The list `list_id` of issuer `slug` as it stood at most `fresh_for` seconds ago;
        None when there is no such list."""
        key = (slug, list_id)
        copy = self._copies.get(key)
        now = time.monotonic()
        if copy is not None and now - copy.checked_at < self._fresh_for:
            return copy.listed
        return await self._check(key, now)

    def forget_issuer(self, slug: str) -> None:
        """Drop the copies of `slug`'s lists: call it once a change to one is committed."""
        self._generation += 1
        for key in [key for key in self._copies if key[0] == slug]:
            del self._copies[key]
        for key in [key for key in self._checks if key[0] == slug]:
            del self._checks[key]

    async def _check(self, key: Key, now: float) -> CachedList | None:
        """Ask the database, sharing a check that started less than `fresh_for` ago."""
        check = self._checks.get(key)
        if check is None or now - check.started >= self._fresh_for:
            task = asyncio.ensure_future(self._refresh(key, now, self._generation))
            check = _Check(now, task)
            self._checks[key] = check
            task.add_done_callback(lambda _: self._checked(key, check))
        # Shielded: a client that hangs up must not cancel the check the others wait for.
        return await asyncio.shield(check.task)

    async def _refresh(self, key: Key, started: float, generation: int) -> CachedList | None:
        copy = self._copies.get(key)
        async with self._engine.connect() as connection:
            if copy is not None:
                etag = (await connection.execute(_etag_query(key))).scalar()
                if etag == copy.listed.etag:
                    self._keep(key, _Copy(copy.listed, started), generation)
                    return copy.listed
            row = (await connection.execute(_list_query(key))).first()
        if row is None:
            self._copies.pop(key, None)
            return None
        document, token, etag = row
        listed = render(document, token, etag)
        self._keep(key, _Copy(listed, started), generation)
        return listed

    def _checked(self, key: Key, check: _Check) -> None:
        if self._checks.get(key) is check:
            del self._checks[key]
        if not check.task.cancelled():
            check.task.exception()  # seen by its waiters; marked so if they all hung up

    def _keep(self, key: Key, copy: _Copy, generation: int) -> None:
        if generation != self._generation:
            return  # a copy was forgotten while this check ran: its answer may predate that
        self._copies.pop(key, None)  # re-inserted last: the oldest copies go first
        while len(self._copies) >= self._max_lists:
            del self._copies[next(iter(self._copies))]
        self._copies[key] = copy


def _etag_query(key: Key) -> Select[str]:
    slug, list_id = key
    return (
        select(StatusList.etag)
        .join(Issuer, Issuer.id == StatusList.issuer_id)
        .where(StatusList.id == list_id, Issuer.slug == slug)
    )


def _list_query(key: Key) -> Select[str, str | None, str]:
    slug, list_id = key
    return (
        select(StatusList.document, StatusList.jwt, StatusList.etag)
        .join(Issuer, Issuer.id == StatusList.issuer_id)
        .where(StatusList.id == list_id, Issuer.slug == slug)
    )


def render(document: str, token: str | None, etag: str) -> CachedList:
    """Both forms of a stored list, ready to send (the VC-JWT under both its media types)."""
    forms = {VC_LD_JSON: _form(VC_LD_JSON, document.encode(), etag)}
    if token is not None:
        body, tag = token.encode(), jwt_etag(etag)
        forms |= {media_type: _form(media_type, body, tag) for media_type in (VC_JWT, JWT)}
    return CachedList(etag, forms)


def _form(media_type: str, body: bytes, etag: str) -> Form:
    common = _encode(
        [
            ("etag", etag),
            ("cache-control", f"public, max-age={LIST_MAX_AGE}"),
            ("access-control-allow-origin", "*"),
            # The same URL answers JSON-LD or a JWT: caches must key on Accept.
            ("vary", "Accept"),
        ]
    )
    sized = _encode([("content-length", str(len(body))), ("content-type", media_type)])
    return Form(etag, body, common + sized, common)


def _encode(headers: Iterable[tuple[str, str]]) -> Headers:
    return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers)
