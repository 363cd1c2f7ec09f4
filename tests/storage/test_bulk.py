"""Writing many rows of several tables at once (`storage.bulk.insert_rows`): on PostgreSQL one
statement for all the tables, with the same outcome as one INSERT per table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    event,
    func,
    literal,
    select,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.bulk import Query, insert_rows
from storage.session import create_session_factory
from storage.types import UTCDateTime
from tests.storage.conftest import engine_with_tables

METADATA = MetaData()
PARENTS = Table(
    "bulk_parents",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("body", Text),
    Column("at", UTCDateTime),
)
CHILDREN = Table(
    "bulk_children",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("parent_id", Uuid, ForeignKey("bulk_parents.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("flag", Boolean, nullable=False),
)
EVENTS = Table(
    "bulk_events",
    METADATA,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("parent_id", Uuid, ForeignKey("bulk_parents.id"), nullable=False),
    Column("kind", String(32), nullable=False),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with engine_with_tables(database_url, METADATA) as engine:
        yield engine


def _parent(name: str, **values: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "name": name, "body": None, "at": None, **values}


def _child(parent: dict[str, Any], position: int, flag: bool = False) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "parent_id": parent["id"], "position": position, "flag": flag}


async def _stored(session: AsyncSession, table: Table) -> list[dict[str, Any]]:
    rows = await session.execute(select(table).order_by(*table.primary_key.columns))
    return [dict(row._mapping) for row in rows]


async def test_parents_and_children_are_stored_with_their_values(engine: AsyncEngine) -> None:
    moment = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    parents = [
        _parent("first", body="quotes \" ' , {braces} \\ and ünïcödé", at=moment),
        _parent("second"),
    ]
    children = [_child(parents[0], 0, True), _child(parents[0], 1), _child(parents[1], 0)]
    events = [{"parent_id": parent["id"], "kind": "made"} for parent in parents]
    factory = create_session_factory(engine)
    async with factory() as session:
        await insert_rows(session, [(PARENTS, parents), (CHILDREN, children), (EVENTS, events)])
        await session.commit()
    async with factory() as session:
        stored_parents = await _stored(session, PARENTS)
        stored_children = await _stored(session, CHILDREN)
        stored_events = await _stored(session, EVENTS)
    assert sorted(stored_parents, key=lambda row: row["name"]) == [
        {**parents[0], "at": moment.astimezone(UTC)},
        parents[1],
    ]
    assert sorted(stored_children, key=lambda row: str(row["id"])) == sorted(
        children, key=lambda row: str(row["id"])
    )
    # A column left out takes the database's default: here, the next id.
    assert sorted(row["parent_id"] for row in stored_events) == sorted(
        parent["id"] for parent in parents
    )
    assert len({row["id"] for row in stored_events}) == 2


async def test_tables_without_rows_are_left_out(engine: AsyncEngine) -> None:
    parent = _parent("alone")
    factory = create_session_factory(engine)
    async with factory() as session:
        await insert_rows(session, [])
        await insert_rows(session, [(PARENTS, [parent]), (CHILDREN, []), (EVENTS, [])])
        await session.commit()
        assert await _stored(session, PARENTS) == [parent]
        assert await _stored(session, CHILDREN) == []


async def test_one_refused_row_stores_nothing_of_any_table(engine: AsyncEngine) -> None:
    parent = _parent("refused")
    twice = _child(parent, 0)
    factory = create_session_factory(engine)
    async with factory() as session:
        with pytest.raises(IntegrityError):
            await insert_rows(session, [(PARENTS, [parent]), (CHILDREN, [twice, twice])])
        await session.rollback()
    async with factory() as session:
        with pytest.raises(IntegrityError):  # a child whose parent is in neither place
            await insert_rows(session, [(CHILDREN, [_child(_parent("nowhere"), 0)])])
        await session.rollback()
        assert await _stored(session, PARENTS) == []
        assert await _stored(session, CHILDREN) == []


async def test_values_pass_through_their_column_types(engine: AsyncEngine) -> None:
    naive = _parent("naive", at=datetime(2026, 12, 4, 10, 30))
    async with create_session_factory(engine)() as session:
        with pytest.raises(StatementError, match="naive datetimes are not stored"):
            await insert_rows(session, [(PARENTS, [naive])])
        await session.rollback()


async def test_on_postgresql_every_table_is_written_by_one_statement(
    engine: AsyncEngine,
) -> None:
    parents = [_parent("a"), _parent("b")]
    children = [_child(parents[0], 0), _child(parents[1], 0)]
    statements, stop = _statements(engine)
    try:
        async with create_session_factory(engine)() as session:
            await insert_rows(session, [(PARENTS, parents), (CHILDREN, children)])
            await session.commit()
    finally:
        stop()
    inserts = [sql for sql, _ in statements if "INSERT" in sql]
    expected = 1 if engine.dialect.name == "postgresql" else 2
    assert len(inserts) == expected


def _statements(engine: AsyncEngine) -> tuple[list[tuple[str, Any]], Any]:
    """The statements `engine` runs from now on, with their parameters, and how to stop."""
    statements: list[tuple[str, Any]] = []

    def seen(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    return statements, lambda: event.remove(engine.sync_engine, "before_cursor_execute", seen)


async def test_then_runs_after_the_rows_in_their_statement_on_postgresql(
    engine: AsyncEngine,
) -> None:
    """`then` and its parameters ride with the rows: on PostgreSQL in the same statement (one
    round trip), on SQLite as the statement after them."""
    parent = _parent("with a query after it")
    then = Query(select(bindparam("marker", type_=String)), {"marker": "after the rows"})
    statements, stop = _statements(engine)
    try:
        async with create_session_factory(engine)() as session:
            await insert_rows(session, [(PARENTS, [parent])], then=then)
            await session.commit()
    finally:
        stop()
    if engine.dialect.name == "postgresql":
        assert len(statements) == 1
        sql, parameters = statements[0]
        assert "INSERT INTO bulk_parents" in sql
        assert "after the rows" in parameters
    else:
        assert [sql.split()[0] for sql, _ in statements] == ["INSERT", "SELECT"]
        assert "after the rows" in statements[1][1]
    async with create_session_factory(engine)() as session:
        assert await _stored(session, PARENTS) == [parent]


async def test_then_alone_runs_without_rows(engine: AsyncEngine) -> None:
    then = Query(select(bindparam("marker", type_=String)), {"marker": "no rows"})
    statements, stop = _statements(engine)
    try:
        async with create_session_factory(engine)() as session:
            await insert_rows(session, [(PARENTS, [])], then=then)
    finally:
        stop()
    assert [parameters for _, parameters in statements if "no rows" in parameters]


async def test_then_parameters_may_not_take_the_names_of_the_rows_arrays(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the arrays are PostgreSQL's")
    then = Query(select(bindparam("t0_name", type_=String)), {"t0_name": "clash"})
    async with create_session_factory(engine)() as session:
        with pytest.raises(ValueError, match="t0_name"):
            await insert_rows(session, [(PARENTS, [_parent("a")])], then=then)


async def test_a_lock_taken_by_then_is_held_until_the_transaction_ends(
    engine: AsyncEngine,
) -> None:
    """What issuance relies on: the lookup keys' advisory lock, taken with the rows, is held
    when `insert_rows` returns, so a later statement of the transaction reads after it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    lock = Query(select(func.pg_advisory_xact_lock(literal(4242), literal(7))), {})
    probe = select(func.pg_try_advisory_xact_lock(literal(4242), literal(7)))
    factory = create_session_factory(engine)
    async with factory() as session:
        await insert_rows(session, [(PARENTS, [_parent("locked")])], then=lock)
        async with factory() as other:
            assert (await other.execute(probe)).scalar_one() is False
            await other.rollback()
        await session.commit()
    async with factory() as other:
        assert (await other.execute(probe)).scalar_one() is True
