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
