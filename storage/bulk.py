"""Writing many rows at once, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
