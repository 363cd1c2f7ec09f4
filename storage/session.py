"""The async engine and session factory, configured the same way for every caller.

SQLite lets one transaction at a time write. A writer that finds the lock taken waits in
SQLite's busy handler, which sleeps between tries (up to 100 ms each) and so wakes long after
the lock is free; under a few concurrent issuers that made latency spike to seconds. Writers
of this process therefore queue for the lock here instead (`begin_write`), on an asyncio
lock that wakes the next one the moment the holder's transaction ends. The session's first
write then starts the SQLite transaction (pysqlite begins it just before the first
INSERT/UPDATE/DELETE, so it takes the write lock at once: `BEGIN IMMEDIATE` in effect, never
a read transaction upgraded later). Holders must not await CPU work (signing) while they hold
it. On PostgreSQL row locks serialise only what conflicts, so `begin_write` does nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import Executable, event
from sqlalchemy.engine import CursorResult, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from storage.postgres_driver import DeferredBeginDBAPI
from storage.sqlite_driver import OneTripDBAPI

# session.info key: the writer lock this session's transaction holds until it ends.
_WRITER: Final = "lattice.sqlite_writer"
# As long as the busy timeout below: past it SQLite itself would have given up.
_WRITER_WAIT_SECONDS: Final = 30.0


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An engine; on SQLite, foreign keys on, WAL, and a busy timeout for concurrent writers."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": _WRITER_WAIT_SECONDS})
        if url.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", OneTripDBAPI())
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        if url.get_driver_name() == "asyncpg":
            kwargs.setdefault("module", DeferredBeginDBAPI())
        engine = create_async_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


# A pooled connection idle for longer than this is pinged before it is used again.
_PING_AFTER_IDLE_SECONDS: Final = 0.5
_RETURNED_AT: Final = "lattice.returned_at"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection before reuse only if it sat idle (HikariCP's "alive bypass
    window"), so that a database restart or a connection dropped by the network while the
    service was quiet costs a reconnect, not a failed request. (On SQLite nothing drops a
    connection but a crash of its thread; the same rule keeps one code path.)

    SQLAlchemy's `pool_pre_ping` pings at every checkout; on asyncpg its ping is a
    transaction round trip of its own (BEGIN, a statement, ROLLBACK), about 7 % of the CPU
    of a single issuance, spent on connections that answered a moment ago."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is None or time.monotonic() - returned < _PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one that just answered
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("a pooled connection no longer answers") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A short write transaction of its own, committed when the block ends (rolled back if
    it raises), that takes its turn to write (`begin_write`) before it starts."""
    async with AsyncSession(engine, expire_on_commit=False, autoflush=False) as own:
        try:
            if engine.dialect.name == "sqlite":
                # A fresh session cannot hold the lock yet: queue before taking a connection,
                # so waiters do not tie up the pool.
                await _queue_to_write(own)
            yield own
            await own.commit()
        except BaseException:
            await own.rollback()
            raise
        finally:
            # A transaction that never began (nothing ran) ends without the event below.
            _release_writer_of(own.sync_session)


async def execute_core(
    session: AsyncSession, statement: Executable, parameters: Any = None
) -> CursorResult[*tuple[Any, ...]]:
    """Run a Core statement (one whose rows are plain values, not ORM objects) in `session`'s
    transaction, on its connection.

    `session.execute` runs it the same way with the ORM's per-statement work on top (its
    execution options and events, its wrapping of the result): about 0.15 ms a statement,
    as much as asyncpg spends on the round trip. Statements every issuance runs use this."""
    connection = await session.connection()
    return await connection.execute(statement, parameters)


def sibling_transaction(session: AsyncSession) -> AbstractAsyncContextManager[AsyncSession]:
    """`write_transaction` on `session`'s database: for writes that must neither wait for nor
    hold locks until the caller's transaction commits."""
    return write_transaction(engine_of(session))


def engine_of(session: AsyncSession) -> AsyncEngine:
    if not isinstance(session.bind, AsyncEngine):
        raise TypeError("the session is not bound to an engine")
    return session.bind


async def begin_write(session: AsyncSession) -> None:
    """Call before the first write of `session`'s transaction: on SQLite, wait for this
    process's turn to write, held until the transaction commits or rolls back.

    A session that already writes holds SQLite's lock and keeps it: waiting for the queue
    then could wait for a writer that itself waits for this session's lock."""
    if session.info.get(_WRITER) is not None or not _is_sqlite(session):
        return
    if await _sqlite_in_transaction(session):
        return
    await _queue_to_write(session)


async def _queue_to_write(session: AsyncSession) -> None:
    lock = _writer_lock(session.get_bind().engine)
    async with asyncio.timeout(_WRITER_WAIT_SECONDS):
        await lock.acquire()
    session.info[_WRITER] = lock


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def _sqlite_in_transaction(session: AsyncSession) -> bool:
    """Whether the connection has begun a transaction, which pysqlite does only for a write."""
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    return driver is not None and bool(driver.in_transaction)


@dataclass
class _WriterLock:
    loop: asyncio.AbstractEventLoop
    lock: asyncio.Lock


_writer_locks: WeakKeyDictionary[Engine, _WriterLock] = WeakKeyDictionary()


def _writer_lock(engine: Engine) -> asyncio.Lock:
    """The engine's writer lock; an asyncio lock serves one event loop, so a new loop (a test
    run's) gets its own."""
    loop = asyncio.get_running_loop()
    found = _writer_locks.get(engine)
    if found is None or found.loop is not loop:
        found = _writer_locks[engine] = _WriterLock(loop, asyncio.Lock())
    return found.lock


@event.listens_for(Session, "after_transaction_end")
def _release_writer(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        _release_writer_of(session)


def _release_writer_of(session: Session) -> None:
    lock = session.info.pop(_WRITER, None)
    if lock is not None:
        lock.release()


# session.info key: what callers keep until the session's outermost transaction ends.
_KEPT: Final = "lattice.kept_for_transaction"


def kept_for_transaction(session: Session | AsyncSession, key: str) -> list[Any]:
    """A list under `key` that lives until the session's outermost transaction ends, committed
    or rolled back: for writes queued now and made later in the same transaction (rows
    written together, webhook events), which a rollback must drop."""
    kept: dict[str, list[Any]] = session.info.setdefault(_KEPT, {})
    return kept.setdefault(key, [])


def take_kept(session: Session | AsyncSession, key: str) -> list[Any]:
    """What `kept_for_transaction` holds under `key`, removed (empty if nothing)."""
    kept: dict[str, list[Any]] = session.info.get(_KEPT, {})
    return kept.pop(key, [])


def has_kept(session: Session | AsyncSession, key: str) -> bool:
    return bool(session.info.get(_KEPT, {}).get(key))


@event.listens_for(Session, "after_transaction_end")
def _drop_kept(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEPT, None)
