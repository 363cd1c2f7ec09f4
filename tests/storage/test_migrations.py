"""The schema is made by Alembic only, and the models agree with it on both databases."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage import migrate
from storage.models import Base
from storage.session import create_engine


async def _inspect(url: str, check: object) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(check)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_head_on_an_empty_database_matches_the_models(empty_database: str):
    await asyncio.to_thread(migrate.upgrade, empty_database)

    assert await _inspect(empty_database, _differences) == []


async def test_downgrade_base_removes_everything(empty_database: str):
    await asyncio.to_thread(migrate.upgrade, empty_database)
    await asyncio.to_thread(migrate.downgrade, empty_database, "base")

    assert await _inspect(empty_database, _tables) <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, empty_database)
    assert await _inspect(empty_database, _differences) == []


async def test_the_event_log_refuses_updates_and_deletes(empty_database: str):
    await asyncio.to_thread(migrate.upgrade, empty_database)
    engine = create_engine(empty_database)
    issuer_id, credential_id = uuid.uuid4(), uuid.uuid4()
    hexes = {"i": issuer_id.hex, "c": credential_id.hex}
    if engine.dialect.name == "postgresql":
        hexes = {"i": str(issuer_id), "c": str(credential_id)}
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO issuers (id, slug, name, created_at) "
                    "VALUES (:i, 'log', 'Log', CURRENT_TIMESTAMP)"
                ),
                hexes,
            )
            await connection.execute(
                text(
                    "INSERT INTO credentials (id, issuer_id, issuer_did, valid_from, issued_at, "
                    "document) VALUES (:c, :i, 'did:web:x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "'{}')"
                ),
                hexes,
            )
            await connection.execute(
                text(
                    "INSERT INTO credential_events (credential_id, event_type, occurred_at) "
                    "VALUES (:c, 'issued', CURRENT_TIMESTAMP)"
                ),
                hexes,
            )
        for statement in (
            "UPDATE credential_events SET event_type = 'revoked'",
            "DELETE FROM credential_events",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()
