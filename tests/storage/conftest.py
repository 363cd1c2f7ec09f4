"""What the migration tests share: an empty database, and raw SQL run against it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

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
