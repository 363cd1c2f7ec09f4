"""Revision 0014 keeps every answer: a district becomes one open membership with no start,
a completion one open period from its completion date; and back again on downgrade."""

from __future__ import annotations

import asyncio
import uuid

from storage import migrate
from tests.storage.conftest import run_sql


async def test_existing_districts_and_completions_carry_over_and_back(empty_database: str):
    await asyncio.to_thread(migrate.upgrade, empty_database, "0013")
    names = ("issuer", "agency", "educator", "identifier", "target", "rule")
    ids = {name: uuid.uuid4() for name in names}
    postgres = empty_database.startswith("postgresql")
    values = {name: str(value) if postgres else value.hex for name, value in ids.items()}
    for statement in (
        "INSERT INTO issuers (id, slug, name, created_at) "
        "VALUES (:issuer, 'state', 'State', CURRENT_TIMESTAMP)",
        "INSERT INTO agencies (id, issuer_id, state, created_at) "
        "VALUES (:agency, :issuer, 'TX', CURRENT_TIMESTAMP)",
        "INSERT INTO educators (id, agency_id, district, created_at) "
        "VALUES (:educator, :agency, 'Austin ISD', CURRENT_TIMESTAMP)",
        "INSERT INTO educator_identifiers (id, educator_id, kind, lookup_key) "
        "VALUES (:identifier, :educator, 'email', 'k1')",
        "INSERT INTO completions (agency_id, target_kind, target_id, educator_id, rule_id, "
        "completed_at, expires_at, evaluated_at) VALUES (:agency, 'stack', :target, :educator, "
        ":rule, '2024-03-01 12:00:00', NULL, CURRENT_TIMESTAMP)",
    ):
        await run_sql(empty_database, statement, values)

    await asyncio.to_thread(migrate.upgrade, empty_database, "0014")

    memberships = await run_sql(
        empty_database, "SELECT district, valid_from, valid_until FROM educator_districts"
    )
    periods = await run_sql(
        empty_database,
        "SELECT started_at, ended_at, continues FROM completion_periods",
    )
    assert [tuple(row) for row in memberships] == [("Austin ISD", None, None)]
    # Her other rows stay: the column goes in place, the table is never rebuilt.
    assert len(await run_sql(empty_database, "SELECT id FROM educator_identifiers")) == 1
    assert len(periods) == 1
    assert str(periods[0][0]).startswith("2024-03-01 12:00:00")
    assert (periods[0][1], bool(periods[0][2])) == (None, False)

    await asyncio.to_thread(migrate.downgrade, empty_database, "0013")

    assert [
        tuple(row) for row in await run_sql(empty_database, "SELECT district FROM educators")
    ] == [("Austin ISD",)]
    assert len(await run_sql(empty_database, "SELECT educator_id FROM completions")) == 1
