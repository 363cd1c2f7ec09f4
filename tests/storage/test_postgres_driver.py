"""The PostgreSQL engine's driver adapter: a transaction begins at its first write, and what
a transaction must hold (its writes, row locks, advisory locks, a cursor) it still holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.postgres_driver import reads_only
from storage.session import create_engine, create_session_factory
from tests.storage.conftest import engine_with_tables

SERIAL = "serializable"
METADATA = MetaData()
ITEMS = Table(
    "driver_items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
)


@pytest.mark.parametrize(
    ("statement", "plain_read"),
    [
        ("SELECT items.id FROM items WHERE items.id = $1", True),
        ("\n  select count(*) from items", True),
        ("SELECT items.id FROM items WHERE items.id = $1 FOR UPDATE", False),
        ("SELECT items.id FROM items FOR NO KEY UPDATE SKIP LOCKED", False),
        ("SELECT items.id FROM items FOR SHARE", False),
        ("SELECT items.id FROM items FOR KEY SHARE", False),
        ("SELECT pg_advisory_xact_lock($1, bucket) FROM unnest($2) AS bucket", False),
        ("SELECT pg_try_advisory_lock($1)", False),
        ("SELECT set_config('x.y', '1', true)", False),
        ("SELECT pg_notify('channel', 'payload')", False),
        ("SELECT nextval('items_id_seq')", False),
        ("INSERT INTO items (name) VALUES ($1)", False),
        ("UPDATE items SET name = $1", False),
        ("WITH gone AS (DELETE FROM items RETURNING id) SELECT count(*) FROM gone", False),
        ("LOCK TABLE items IN SHARE ROW EXCLUSIVE MODE", False),
    ],
)
def test_only_plain_selects_run_before_a_transaction_begins(
    statement: str, plain_read: bool
) -> None:
    assert reads_only(statement) is plain_read


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the asyncpg adapter serves PostgreSQL deployments")
    async with engine_with_tables(database_url, METADATA) as engine:
        yield engine


async def _in_transaction(session: AsyncSession) -> bool:
    raw = await (await session.connection()).get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    return driver.is_in_transaction()


async def test_a_session_that_only_reads_never_begins_a_transaction(engine: AsyncEngine) -> None:
    async with create_session_factory(engine)() as session:
        first = (await session.execute(text("SELECT clock_timestamp(), now()"))).one()
        await asyncio.sleep(0.01)
        second = (await session.execute(text("SELECT now()"))).scalar_one()
        assert not await _in_transaction(session)
        # Each read is a transaction of its own: its now() is its own start.
        assert second > first[1]
        await session.commit()


@pytest.mark.parametrize(
    ("engine_options", "why"),
    [
        (
            {
                "connect_args": {
                    "server_settings": {"default_transaction_isolation": "serializable"}
                }
            },
            "the server's default",
        ),
        ({"isolation_level": "REPEATABLE READ"}, "the engine's"),
    ],
)
async def test_under_a_stricter_isolation_level_reads_share_one_transaction(
    engine: AsyncEngine, database_url: str, engine_options: dict[str, Any], why: str
) -> None:
    strict = create_engine(database_url, **engine_options)
    try:
        async with create_session_factory(strict)() as session:
            first = (await session.execute(text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            second = (await session.execute(text("SELECT now()"))).scalar_one()
            assert await _in_transaction(session), why
            # One snapshot for the whole transaction: its reads must not be split apart.
            assert second == first
            await session.commit()
    finally:
        await strict.dispose()


async def test_the_first_write_begins_the_transaction_and_what_follows_is_inside_it(
    engine: AsyncEngine,
) -> None:
    factory = create_session_factory(engine)
    async with factory() as session:
        await session.execute(select(ITEMS.c.id))
        await session.execute(insert(ITEMS).values(id=1, name="kept"))
        assert await _in_transaction(session)
        began = (await session.execute(text("SELECT now()"))).scalar_one()
        await asyncio.sleep(0.01)
        assert (await session.execute(text("SELECT now()"))).scalar_one() == began
        # Its own write is visible to it, and to nobody else yet.
        assert (await session.execute(select(ITEMS.c.name))).scalars().all() == ["kept"]
        async with factory() as other:
            assert (await other.execute(select(ITEMS.c.name))).all() == []
        await session.commit()
    async with factory() as session:
        await session.execute(insert(ITEMS).values(id=2, name="undone"))
        await session.rollback()
        names = (await session.execute(select(ITEMS.c.name))).scalars().all()
    assert names == ["kept"]


async def test_a_row_lock_taken_by_a_read_is_held_until_commit(engine: AsyncEngine) -> None:
    factory = create_session_factory(engine)
    async with factory() as session:
        await session.execute(insert(ITEMS).values(id=1, name="locked"))
        await session.commit()
    async with factory() as holder, factory() as other:
        await holder.execute(select(ITEMS.c.id).where(ITEMS.c.id == 1).with_for_update())
        assert await _in_transaction(holder)
        with pytest.raises(Exception, match="could not obtain lock"):
            await other.execute(
                select(ITEMS.c.id).where(ITEMS.c.id == 1).with_for_update(nowait=True)
            )
        await other.rollback()
        await holder.commit()
        taken = await other.execute(
            select(ITEMS.c.id).where(ITEMS.c.id == 1).with_for_update(nowait=True)
        )
        assert taken.scalar_one() == 1
        await other.commit()


async def test_an_advisory_transaction_lock_is_held_until_commit(engine: AsyncEngine) -> None:
    factory = create_session_factory(engine)
    try_lock = text("SELECT pg_try_advisory_xact_lock(4242)")
    async with factory() as holder, factory() as other:
        await holder.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        assert await _in_transaction(holder)
        assert (await other.execute(try_lock)).scalar_one() is False
        await other.rollback()
        await holder.commit()
        assert (await other.execute(try_lock)).scalar_one() is True
        await other.commit()


async def test_streamed_rows_are_read_through_a_cursor_in_a_transaction(
    engine: AsyncEngine,
) -> None:
    factory = create_session_factory(engine)
    async with factory() as session:
        await session.execute(insert(ITEMS), [{"id": n, "name": f"item {n}"} for n in range(120)])
        await session.commit()
    async with factory() as session:
        streamed = await session.stream(select(ITEMS.c.id).order_by(ITEMS.c.id))
        assert [row.id async for row in streamed] == list(range(120))
        await session.commit()
