"""`storage.session.execute_core`: a Core statement run on the session's connection is part of
the session's transaction, exactly as if the session had run it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.session import create_session_factory, execute_core
from tests.storage.conftest import engine_with_tables

METADATA = MetaData()
NOTES = Table(
    "core_notes",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("text", String(50), nullable=False),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with engine_with_tables(database_url, METADATA) as engine:
        yield engine


async def test_it_sees_and_shares_the_sessions_uncommitted_writes(engine: AsyncEngine) -> None:
    factory = create_session_factory(engine)
    async with factory() as session:
        await session.execute(insert(NOTES).values(id=1, text="by the session"))
        await execute_core(session, insert(NOTES).values(id=2, text="on its connection"))
        seen = await execute_core(session, select(NOTES.c.text).order_by(NOTES.c.id))
        assert seen.scalars().all() == ["by the session", "on its connection"]
        await session.rollback()
    async with factory() as session:
        assert (await execute_core(session, select(NOTES.c.id))).all() == []
        await execute_core(session, insert(NOTES), [{"id": 3, "text": "kept"}])
        await session.commit()
    async with factory() as session:
        assert (await session.execute(select(NOTES.c.text))).scalars().all() == ["kept"]
