"""A second, brand-new service for first-run tests: its own empty, migrated database of the
suite's backend, served on its own port (the shared test database has staff accounts made by
other tests, so it is never "before the first account").

On SQLite the database is a file in the test's tmp_path; on PostgreSQL it is a database
made for the test on the suite's server (through LATTICE_TEST_PG_ADMIN_URL, which
scripts/test sets) and dropped after it, so the races of first-run setup are tested on
both databases.

Import the fixtures into a test module to use them (`from tests.app.console.fresh import
fresh_settings, fresh_server, fresh_sessions  # noqa: F401`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from app.startup import first_run_link
from storage import migrate
from storage.session import create_engine, create_session_factory
from tests.conftest import serve
from tests.processes import free_port


async def _as_admin(admin_url: str, statement: str) -> None:
    """Run `statement` outside a transaction (CREATE and DROP DATABASE refuse to run in one)."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def _fresh_database(shared_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, migrated to head, on the backend of the shared test database."""
    if make_url(shared_url).get_backend_name() != "postgresql":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
        return
    admin_url = os.environ.get("LATTICE_TEST_PG_ADMIN_URL")
    if not admin_url:
        pytest.fail(
            "the suite runs on PostgreSQL but LATTICE_TEST_PG_ADMIN_URL is not set (a URL to "
            "the server's `postgres` database, allowed to create databases): run scripts/test"
        )
    # Unique per test, so the SQLite and PostgreSQL suites or reruns never meet.
    name = f"lattice_fresh_{uuid.uuid4().hex[:16]}"
    await _as_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        # FORCE: a connection the test's service left open must not keep the database alive.
        await _as_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_settings(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """The test settings (same master key), on an empty database of this test's own, of the
    suite's backend (dropped after the test on PostgreSQL)."""
    async with _fresh_database(settings.database_url, tmp_path) as database_url:
        port = free_port()
        yield settings.model_copy(
            update={
                "port": port,
                "public_url": f"http://127.0.0.1:{port}",
                "database_url": database_url,
                "data_dir": tmp_path / "data",
            }
        )


@pytest.fixture
def fresh_server(fresh_settings: Settings) -> Iterator[str]:
    yield from serve(fresh_settings)


@pytest.fixture
async def fresh_sessions(
    fresh_settings: Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_settings.database_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def setup_link(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> str:
    """The link `lattice serve` prints at start-up (the same function makes it)."""
    link = await first_run_link(sessions, settings)
    assert link is not None, "the fresh service already has staff"
    return link
