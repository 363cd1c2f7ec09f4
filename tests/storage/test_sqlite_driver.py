"""The SQLite engine's driver adapter: each statement is one trip to aiosqlite's thread, and
SQLAlchemy sees exactly what its own adapter would have shown it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.session import create_engine

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


async def _engine(url: str, own: bool) -> AsyncEngine:
    engine = create_engine(url) if own else create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    return engine


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """(SQLAlchemy's own aiosqlite adapter, the service's), each on a file of its own."""
    theirs = await _engine(f"sqlite+aiosqlite:///{tmp_path / 'theirs.db'}", own=False)
    ours = await _engine(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}", own=True)
    yield theirs, ours
    await theirs.dispose()
    await ours.dispose()


async def _script(engine: AsyncEngine) -> list[Any]:
    """Every kind of statement the service runs, and what SQLAlchemy reports of each."""
    seen: list[Any] = []
    async with engine.begin() as connection:
        one = await connection.execute(insert(ITEMS).values(name="a"))
        seen.append(("insert", one.rowcount, one.inserted_primary_key))
        many = await connection.execute(insert(ITEMS), [{"name": "b"}, {"name": "c"}])
        seen.append(("executemany", many.rowcount))
        returned = await connection.execute(
            insert(ITEMS).values(name="d").returning(ITEMS.c.id, ITEMS.c.name)
        )
        seen.append(("returning", returned.all()))
        changed = await connection.execute(
            update(ITEMS).where(ITEMS.c.name.in_(["a", "b"])).values(name=func.upper(ITEMS.c.name))
        )
        seen.append(("update", changed.rowcount))
        rows = await connection.execute(select(ITEMS).order_by(ITEMS.c.id))
        seen.append(("select", list(rows.keys()), rows.all()))
        first = await connection.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))
        seen.append(("fetchmany", first.fetchmany(2), first.fetchone(), first.fetchall()))
        streamed = await connection.stream(select(ITEMS.c.name).order_by(ITEMS.c.id))
        seen.append(("stream", [row async for row in streamed]))
        empty = await connection.execute(select(ITEMS).where(ITEMS.c.id < 0))
        seen.append(("empty", empty.all()))
        gone = await connection.execute(delete(ITEMS).where(ITEMS.c.name == "d"))
        seen.append(("delete", gone.rowcount))
        ddl = await connection.execute(text("CREATE TABLE other (x INTEGER)"))
        seen.append(("ddl", ddl.returns_rows))
    return seen


async def test_every_kind_of_statement_reports_what_sqlalchemys_adapter_reports(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    theirs, ours = engines
    assert await _script(ours) == await _script(theirs)


async def test_errors_are_sqlalchemys_errors_and_the_connection_stays_usable(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, ours = engines
    async with ours.begin() as connection:
        await connection.execute(insert(ITEMS).values(name="a"))
    with pytest.raises(IntegrityError):
        async with ours.begin() as connection:
            await connection.execute(insert(ITEMS).values(name="a"))
    with pytest.raises(OperationalError):
        async with ours.begin() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))
    async with ours.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(ITEMS))).scalar() == 1


async def test_a_statement_is_one_trip_to_the_drivers_thread(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs, ours = engines
    trips: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    async def statement_trips(engine: AsyncEngine) -> int:
        async with engine.connect() as connection:
            await connection.execute(select(ITEMS))  # the transaction has begun
            trips.clear()
            await connection.execute(select(ITEMS).where(ITEMS.c.id > 0))
            return len(trips)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    assert await statement_trips(ours) == 1
    assert await statement_trips(theirs) > 1  # what the adapter exists to save
