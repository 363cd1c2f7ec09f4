"""What the storage tests share: an empty database, raw SQL run against it, and an engine
with tables of a test's own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.session import create_engine


@pytest.fixture
def empty_database(tmp_path: Path) -> str:
    """A database with no tables: a fresh SQLite file, or the spare PostgreSQL database."""
    url = os.environ.get("LATTICE_TEST_MIGRATIONS_DATABASE_URL")
    if url is None:
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    migrate.downgrade(url, "base")
    return url


async def run_sql(url: str, statement: str, values: dict[str, Any] | None = None) -> list[Any]:
    """One statement in a transaction of its own, on an engine of its own; its rows."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), values or {})
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


@asynccontextmanager
async def engine_with_tables(url: str, metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """The service's engine for `url`, with `metadata`'s tables made for the block."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()
