"""Writing many rows at once, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Select, Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.session import execute_core

BATCH = 1000
T = TypeVar("T")


def dialect_of(executor: AsyncSession | AsyncConnection) -> str:
    """ "postgresql" or "sqlite", for a session or a connection alike."""
    if isinstance(executor, AsyncSession):
        return executor.get_bind().dialect.name
    return executor.dialect.name


def insert_into(executor: AsyncSession | AsyncConnection, table: Any) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (both dialects spell them alike)."""
    if dialect_of(executor) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[T], size: int = BATCH) -> list[Sequence[T]]:
    """`items` in slices of at most `size` (bounded IN lists and statement batches)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    batch: int = BATCH,
) -> None:
    """Insert `rows`, replacing the other columns of rows whose `keys` already exist."""
    if not rows:
        return
    statement = insert_into(session, table)
    changed = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changed)
    for chunk in chunks(rows, batch):
        await session.execute(statement, list(chunk))


Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Query:
    """A SELECT to run right after the rows are written, with its parameters (see
    `insert_rows`). `statement` should be built once: it keys a cache of statements."""

    statement: Select[Any]
    parameters: Mapping[str, Any]


async def insert_rows(
    session: AsyncSession, writes: Sequence[tuple[Table, Rows]], *, then: Query | None = None
) -> None:
    """Insert each table's rows, tables in the order given (parents before children); every
    row of a table names the same columns. Then run `then`, if given, for its effects (a
    lock it takes, say): its result is discarded.

    On PostgreSQL all of it is one statement, one round trip: each table's rows travel as
    one array per column, unnested by an INSERT ... SELECT, and the INSERTs are
    data-modifying WITH queries of the last one or of `then`. A child may name a parent
    inserted by an earlier one: PostgreSQL checks foreign keys at the end of the statement.
    `then` does not see the rows (one statement reads one snapshot, taken before they were
    written). On SQLite a statement is a call on the driver's thread, not a round trip: one
    executemany per table, then `then`.
    """
    writes = [(table, rows) for table, rows in writes if rows]
    if dialect_of(session) != "postgresql" or not writes:
        for table, rows in writes:
            await execute_core(session, _insert(table), list(rows))
        if then is not None:
            await execute_core(session, then.statement, then.parameters)
        return
    shape = tuple((table, tuple(rows[0])) for table, rows in writes)
    parameters = {
        _array_name(position, column): [row[column] for row in rows]
        for position, (table, rows) in enumerate(writes)
        for column in rows[0]
    }
    if then is not None:
        clash = parameters.keys() & then.parameters.keys()
        if clash:
            raise ValueError(f"parameter names of `then` taken by the rows: {sorted(clash)}")
        parameters.update(then.parameters)
    await execute_core(session, _unnested_inserts(shape, then and then.statement), parameters)


# Statements are built once per table or shape: a statement object built anew is compiled
# from SQLAlchemy's cache only after its cache key is computed again, at a cost of its own.
@lru_cache(maxsize=64)
def _insert(table: Table) -> Any:
    return insert(table)


def _array_name(position: int, column: str) -> str:
    return f"t{position}_{column}"


@lru_cache(maxsize=64)  # a handful of shapes: with or without evidence, say
def _unnested_inserts(
    shape: tuple[tuple[Table, tuple[str, ...]], ...], then: Select[Any] | None
) -> Any:
    inserts = [
        insert(table).from_select(
            list(columns),
            select(
                *(
                    func.unnest(
                        bindparam(
                            _array_name(position, column),
                            type_=postgresql.ARRAY(table.c[column].type),
                        )
                    )
                    for column in columns
                )
            ),
        )
        for position, (table, columns) in enumerate(shape)
    ]
    main: Select[Any] | Insert = then if then is not None else inserts.pop()
    return main.add_cte(
        *(statement.cte(f"t{position}") for position, statement in enumerate(inserts))
    )
