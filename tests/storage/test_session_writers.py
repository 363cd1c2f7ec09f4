"""Short write transactions: on SQLite this process's writers take turns at the database's
one write lock in memory, and a turn is always given back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.session import create_engine, write_transaction


async def test_a_write_transaction_that_fails_before_writing_gives_its_turn_back(
    database_url: str,
):
    engine = create_engine(database_url)
    try:
        with pytest.raises(RuntimeError):
            async with write_transaction(engine):
                raise RuntimeError("fails before any statement")

        async with asyncio.timeout(5), write_transaction(engine) as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_a_connection_that_died_while_idle_is_replaced_not_failed(database_url: str):
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            dead = (await connection.get_raw_connection()).driver_connection
        # Behind the pool's back, as a server restart or a network timeout leaves it.
        await dead.close()
        await asyncio.sleep(0.6)  # idle past the window, as after a quiet spell

        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
            assert (await connection.get_raw_connection()).driver_connection is not dead
    finally:
        await engine.dispose()
