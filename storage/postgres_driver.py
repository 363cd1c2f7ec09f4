"""SQLAlchemy's asyncpg adapter, with each transaction begun at its first write.

SQLAlchemy's adapter sends `BEGIN` before a connection's first statement, whatever it is, and
`COMMIT` when the session commits: two round trips, each also a statement for the server to
run. Most requests only read (every authenticated request reads its token, every public GET
reads and nothing else), and an issuing request reads in a session of its own before its
credentials are written in a short write transaction. Here plain reads that come before any
write run outside a transaction; `BEGIN` is sent just before the first statement that is not
one, and a session that only read commits with no round trip at all.

The answers are the same. At READ COMMITTED (PostgreSQL's default, and the service's) every
statement takes a fresh snapshot whether or not a transaction is open, so a read before
`BEGIN` sees what it would have seen after it; under another isolation level (set on the
server, or by an engine's `isolation_level`) every transaction begins at once, as before.
What a transaction must hold until it ends still begins it: row locks (`FOR UPDATE`,
`FOR SHARE`), advisory locks, and every statement that is not a `SELECT` (writes,
`LOCK TABLE`, `WITH` queries, DDL). It is also how SQLite behaves (pysqlite begins a
transaction just before the first write), so both databases now run a transaction the same
way. Streamed (server-side) cursors begin one as before: PostgreSQL keeps a cursor only
inside a transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from functools import lru_cache
from typing import Any, Final

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.util.concurrency import await_

# What, in a SELECT, must hold until the transaction ends, or has effects of its own.
_NEEDS_TRANSACTION: Final = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b"
    r"|\bpg_advisory|\bpg_try_advisory|\bset_config\b|\bpg_notify\b|\bnextval\b|\bsetval\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=1024)  # statements are SQLAlchemy's cached compilations: few and reused
def reads_only(operation: str) -> bool:
    """Whether a statement is a plain read, which needs no transaction begun for it."""
    return operation.lstrip()[:6].upper() == "SELECT" and not _NEEDS_TRANSACTION.search(operation)


class _DeferredBeginCursor(AsyncAdapt_asyncpg_cursor):
    __slots__ = ()

    async def _prepare_and_execute(self, operation: Any, parameters: Any) -> None:
        connection: _DeferredBeginConnection = self._adapt_connection  # type: ignore[assignment]
        if self.server_side or not reads_only(operation):
            await super()._prepare_and_execute(operation, parameters)  # type: ignore[no-untyped-call]
            return
        # Read by `_start_transaction`, which SQLAlchemy's method calls when none is open.
        connection.reading = True
        try:
            await super()._prepare_and_execute(operation, parameters)  # type: ignore[no-untyped-call]
        finally:
            connection.reading = False


class _DeferredBeginConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ("read_committed_by_default", "reading")
    _cursor_cls = _DeferredBeginCursor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.reading = False
        self.read_committed_by_default = False  # until the server says so

    async def _start_transaction(self) -> None:
        if not (self.reading and self._snapshot_per_statement()):
            await super()._start_transaction()  # type: ignore[no-untyped-call]

    def _snapshot_per_statement(self) -> bool:
        """Whether the transaction would be READ COMMITTED: only then is a read the same
        inside a transaction and out (REPEATABLE READ and SERIALIZABLE keep one snapshot for
        the whole transaction, taken at its first statement)."""
        level = self.isolation_level  # set by an engine's `isolation_level`, else None
        return level == "read_committed" or (level is None and self.read_committed_by_default)


class DeferredBeginDBAPI(AsyncAdapt_asyncpg_dbapi):
    """The DBAPI module to give `create_async_engine(..., module=...)` for asyncpg URLs."""

    def __init__(self) -> None:
        super().__init__(asyncpg)  # type: ignore[no-untyped-call]

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_asyncpg_connection:
        # As SQLAlchemy's own `connect` (the same keywords), with our connection class.
        creator = kw.pop("async_creator_fn", asyncpg.connect)
        options = {
            "prepared_statement_cache_size": kw.pop("prepared_statement_cache_size", 100),
            "prepared_statement_name_func": kw.pop("prepared_statement_name_func", None),
        }
        return await_(self._connect(creator(*arg, **kw), options))

    async def _connect(
        self, opening: Awaitable[Any], options: dict[str, Any]
    ) -> _DeferredBeginConnection:
        connection = await _DeferredBeginConnection.create(self, opening, **options)
        # A server (or database, or role) may set another default isolation level.
        driver: asyncpg.Connection = connection._connection
        default = await driver.fetchval("SHOW default_transaction_isolation")
        connection.read_committed_by_default = default == "read committed"
        return connection
