"""Keeping the achievement-holdings index (`storage.models.AchievementHolding`) in step with
the rows it links: each write that makes a credential row name one of an agency's educators
adds the link in the same transaction.

A link appears when a credential is issued (`credentials_written`), a submission is recorded
(`submission_recorded`), a teacher's app pushes or re-ties a credential (`held_changed`) or an
agency registers an identifier that credentials already name (`identifiers_added`). Every
write inserts what the source rows say now and ignores links already there, so writing twice
is harmless and `rebuild` can fill the table from scratch (after a bulk load).

On PostgreSQL a credential naming an identifier and the identifier itself may be written by
two transactions at once, each blind to the other's rows until it commits. Both sides take a
transaction lock on the identifier's lookup key with or after writing their row, and read the
other side in a later statement (one with a snapshot taken after the lock was granted), so
whichever comes second sees the first one's committed row. Issuance takes the lock in the
statement that writes its rows (`lock_for`, `storage.bulk.insert_rows`'s `then`).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Iterable
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.bulk import Query, chunks, dialect_of, insert_into
from storage.models import (
    AchievementHolding,
    Credential,
    CredentialRecipient,
    Educator,
    EducatorIdentifier,
    HeldCredential,
    SubmittedCredential,
)
from storage.session import execute_core

Executor = AsyncSession | AsyncConnection
AnySelect = Select[*tuple[Any, ...]]

_HOLDINGS: Final = cast(Table, AchievementHolding.__table__)
_COLUMNS = {
    "issued": ["agency_id", "educator_id", "achievement_id", "credential_id"],
    "submitted": ["agency_id", "educator_id", "achievement_iri", "submitted_id"],
    "held": ["agency_id", "educator_id", "achievement_iri", "held_id"],
}
# Lookup keys are locked by bucket: a batch of thousands takes at most this many locks.
_LOCK_SPACE = 0x4C48  # "LH": this module's namespace of PostgreSQL advisory locks
_LOCK_BUCKETS = 1024


def _issued_links() -> AnySelect:
    """(agency, educator, achievement id, credential) for each educator a credential names."""
    return (
        select(Educator.agency_id, Educator.id, Credential.achievement_id, Credential.id)
        .select_from(CredentialRecipient)
        .join(EducatorIdentifier, EducatorIdentifier.lookup_key == CredentialRecipient.lookup_key)
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .join(Credential, Credential.id == CredentialRecipient.credential_id)
    )


def _submitted_links() -> AnySelect:
    """Submissions that can count: accepted, of a known achievement (`state_queries`)."""
    return select(
        SubmittedCredential.agency_id,
        SubmittedCredential.educator_id,
        SubmittedCredential.achievement_iri,
        SubmittedCredential.id,
    ).where(
        SubmittedCredential.accepted.is_(True), SubmittedCredential.achievement_iri.is_not(None)
    )


def _held_links() -> AnySelect:
    """Pushed credentials of a known achievement naming an identifier an agency registered."""
    return (
        select(Educator.agency_id, Educator.id, HeldCredential.achievement_iri, HeldCredential.id)
        .select_from(HeldCredential)
        .join(EducatorIdentifier, EducatorIdentifier.lookup_key == HeldCredential.lookup_key)
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .where(HeldCredential.achievement_iri.is_not(None))
    )


async def _add(executor: Executor, kind: str, links: AnySelect) -> None:
    """INSERT ... SELECT `links`, leaving out those already there."""
    await executor.execute(_insert_links(executor, kind, links))


def _insert_links(executor: Executor, kind: str, links: AnySelect) -> Any:
    # The table, not the ORM class: executed with parameters, an INSERT of the class would be
    # taken for an ORM bulk insert. SQLite reads the ON of ON CONFLICT as a join's unless
    # the SELECT has a WHERE.
    statement = insert_into(executor, _HOLDINGS).from_select(_COLUMNS[kind], links.where(true()))
    return statement.on_conflict_do_nothing()


def lock_for(executor: Executor, lookup_keys: Iterable[str]) -> Query | None:
    """The query that takes the lookup keys' advisory locks until the transaction ends, or
    None where none is needed (no keys; SQLite, which has one writer at a time)."""
    if dialect_of(executor) != "postgresql":
        return None
    buckets = sorted({zlib.crc32(key.encode()) % _LOCK_BUCKETS for key in lookup_keys})
    return Query(_LOCK, {"lock_buckets": buckets}) if buckets else None


# Built once: every issuance runs it (see `badge_alignments._VERSION`). The buckets are
# locked in one order everywhere, so two writers never wait for each other's locks.
_ORDERED_BUCKETS: Final = (
    select(func.unnest(bindparam("lock_buckets", type_=ARRAY(Integer))).label("bucket"))
    .order_by(literal_column("bucket"))
    .subquery("ordered")
)
_LOCK: Final = select(
    func.pg_advisory_xact_lock(literal(_LOCK_SPACE, Integer), _ORDERED_BUCKETS.c.bucket)
)


async def _lock(session: AsyncSession, lookup_keys: Iterable[str]) -> None:
    lock = lock_for(session, lookup_keys)
    if lock is not None:
        await execute_core(session, lock.statement, lock.parameters)


async def credentials_written(
    session: AsyncSession, named: Collection[tuple[uuid.UUID, str]], *, locked: bool = False
) -> dict[uuid.UUID, uuid.UUID]:
    """Link the credentials just flushed, as (credential id, lookup key of a recipient), to
    the educators registered with those keys; returns those educators (id -> agency id).
    `locked`: the caller already holds `lock_for` the keys (taken with the rows' INSERT).

    The credentials are new, so every link is new and the INSERT's RETURNING names every
    educator they name: the caller needs no second look-up to mark them."""
    linked: dict[uuid.UUID, uuid.UUID] = {}
    if not named:
        return linked
    if not locked:
        await _lock(session, {key for _, key in named})
    statement = _credential_links(session)
    for chunk in chunks(sorted({credential_id for credential_id, _ in named})):
        found = await execute_core(session, statement, {"credential_ids": list(chunk)})
        linked.update((educator_id, agency_id) for educator_id, agency_id in found)
    return linked


# Per dialect, built once: every issuance runs it (see `badge_alignments._VERSION`).
_CREDENTIAL_LINKS: dict[str, Any] = {}


def _credential_links(executor: Executor) -> Any:
    """INSERT the links of the credentials `credential_ids`, RETURNING their educators."""
    dialect = dialect_of(executor)
    statement = _CREDENTIAL_LINKS.get(dialect)
    if statement is None:
        chosen = CredentialRecipient.credential_id.in_(bindparam("credential_ids", expanding=True))
        statement = _CREDENTIAL_LINKS[dialect] = _insert_links(
            executor, "issued", _issued_links().where(chosen)
        ).returning(_HOLDINGS.c.educator_id, _HOLDINGS.c.agency_id)
    return statement


async def submission_recorded(session: AsyncSession, row: SubmittedCredential) -> None:
    """Link a submission just flushed (if it can count: accepted, of an achievement)."""
    await _add(session, "submitted", _submitted_links().where(SubmittedCredential.id == row.id))


async def held_changed(session: AsyncSession, rows: Collection[HeldCredential]) -> None:
    """Re-link pushed credentials just flushed: a replacement may name another achievement
    or, re-tied, another identifier."""
    if not rows:
        return
    ids = [row.id for row in rows]
    await session.execute(delete(AchievementHolding).where(AchievementHolding.held_id.in_(ids)))
    await _lock(session, {row.lookup_key for row in rows if row.lookup_key})
    await _add(session, "held", _held_links().where(HeldCredential.id.in_(ids)))


async def identifiers_added(
    session: AsyncSession, educator_id: uuid.UUID, lookup_keys: Collection[str]
) -> None:
    """Link the credentials issued here and pushed that already name identifiers just
    registered (flushed) for the educator."""
    if not lookup_keys:
        return
    await _lock(session, lookup_keys)
    keys = sorted(lookup_keys)
    mine: ColumnElement[bool] = EducatorIdentifier.educator_id == educator_id
    await _add(
        session, "issued", _issued_links().where(mine, CredentialRecipient.lookup_key.in_(keys))
    )
    await _add(session, "held", _held_links().where(mine, HeldCredential.lookup_key.in_(keys)))


async def rebuild(executor: Executor) -> None:
    """Add every link the source rows make (after rows were loaded around the service, as a
    bulk load does); existing links stay."""
    await _add(executor, "issued", _issued_links())
    await _add(executor, "submitted", _submitted_links())
    await _add(executor, "held", _held_links())
