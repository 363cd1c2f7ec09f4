"""Revision 0021 fills the achievement-holdings index from the rows already there: each
credential issued here linked to every educator (of any agency) registered with a lookup key
it names, accepted submissions of a known achievement, pushed credentials naming a
registered identifier; nothing else. Downgrade removes the table."""

from __future__ import annotations

import asyncio
import uuid

from storage import migrate
from tests.storage.conftest import run_sql

_ROWS = (
    "INSERT INTO issuers (id, slug, name, created_at) VALUES "
    "(:issuer, 'provider', 'Provider', CURRENT_TIMESTAMP), "
    "(:state, 'state', 'State', CURRENT_TIMESTAMP), "
    "(:other_state, 'other', 'Other', CURRENT_TIMESTAMP)",
    "INSERT INTO agencies (id, issuer_id, state, created_at) VALUES "
    "(:agency, :state, 'TX', CURRENT_TIMESTAMP), "
    "(:other_agency, :other_state, 'OK', CURRENT_TIMESTAMP)",
    # She is registered by both agencies with the same identifier; he by neither.
    "INSERT INTO educators (id, agency_id, created_at) VALUES "
    "(:educator, :agency, CURRENT_TIMESTAMP), (:other_educator, :other_agency, CURRENT_TIMESTAMP)",
    "INSERT INTO educator_identifiers (id, educator_id, kind, lookup_key) VALUES "
    "(:identifier, :educator, 'email', 'k1'), (:other_identifier, :other_educator, 'email', 'k1')",
    "INSERT INTO achievements (id, issuer_id, lineage_id, revision, is_current, name, "
    "description, achievement_type, tags, alignments, result_descriptions, created_at) "
    "VALUES (:achievement, :issuer, :achievement, 1, TRUE, 'MC', 'An MC', 'MicroCredential', "
    "'[]', '[]', '[]', CURRENT_TIMESTAMP)",
    "INSERT INTO credentials (id, issuer_id, achievement_id, issuer_did, valid_from, "
    "issued_at, document) VALUES "
    "(:hers, :issuer, :achievement, 'did:example:p', '2024-03-01 12:00:00', "
    "CURRENT_TIMESTAMP, '{}'), "
    "(:his, :issuer, :achievement, 'did:example:p', '2024-03-01 12:00:00', "
    "CURRENT_TIMESTAMP, '{}')",
    "INSERT INTO credential_recipients (id, credential_id, position, identity_type, "
    "identity_hash, hashed, lookup_key) VALUES "
    "(:recipient, :hers, 0, 'emailAddress', 'sha256$x', TRUE, 'k1'), "
    "(:his_recipient, :his, 0, 'emailAddress', 'sha256$y', TRUE, 'k2')",
    "INSERT INTO submitted_credentials (id, agency_id, educator_id, content, achievement_iri, "
    "verdict, accepted, report, submitted_at) VALUES "
    "(:submitted, :agency, :educator, '{}', 'https://elsewhere.example/a/1', 'verified', TRUE, "
    "'{}', CURRENT_TIMESTAMP), "
    "(:rejected, :agency, :educator, '{}', 'https://elsewhere.example/a/1', 'invalid', FALSE, "
    "'{}', CURRENT_TIMESTAMP)",
    "INSERT INTO teachers (id, created_at) VALUES (:teacher, CURRENT_TIMESTAMP)",
    "INSERT INTO held_credentials (id, teacher_id, match_key, issuer_iri, credential_iri, "
    "achievement_iri, format, content, valid_from, verdict, lookup_key, created_at, updated_at) "
    "VALUES (:held, :teacher, 'm1', 'https://elsewhere.example', 'urn:uuid:1', "
    "'https://elsewhere.example/a/2', 'ldp_vc', '{}', '2024-03-01 12:00:00', 'verified', 'k1', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
    "(:untied, :teacher, 'm2', 'https://elsewhere.example', 'urn:uuid:2', "
    "'https://elsewhere.example/a/2', 'ldp_vc', '{}', '2024-03-01 12:00:00', 'verified', NULL, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
)


async def test_existing_credentials_are_indexed_for_the_educators_they_name(empty_database: str):
    await asyncio.to_thread(migrate.upgrade, empty_database, "0020")
    names = (
        "issuer state other_state agency other_agency educator other_educator identifier "
        "other_identifier achievement hers his recipient his_recipient submitted rejected "
        "teacher held untied"
    ).split()
    ids = {name: uuid.uuid4() for name in names}
    postgres = empty_database.startswith("postgresql")
    values = {name: str(value) if postgres else value.hex for name, value in ids.items()}
    for statement in _ROWS:
        await run_sql(empty_database, statement, values)

    await asyncio.to_thread(migrate.upgrade, empty_database, "0021")

    rows = await run_sql(
        empty_database,
        "SELECT agency_id, educator_id, achievement_id, achievement_iri, credential_id, "
        "submitted_id, held_id FROM achievement_holdings",
    )
    found = {tuple(None if v is None else str(v).replace("-", "") for v in row) for row in rows}
    key = {name: value.hex for name, value in ids.items()}
    assert found == {
        (key["agency"], key["educator"], key["achievement"], None, key["hers"], None, None),
        (
            key["other_agency"],
            key["other_educator"],
            key["achievement"],
            None,
            key["hers"],
            None,
            None,
        ),
        (
            key["agency"],
            key["educator"],
            None,
            "https://elsewhere.example/a/1",
            None,
            key["submitted"],
            None,
        ),
        (
            key["agency"],
            key["educator"],
            None,
            "https://elsewhere.example/a/2",
            None,
            None,
            key["held"],
        ),
        (
            key["other_agency"],
            key["other_educator"],
            None,
            "https://elsewhere.example/a/2",
            None,
            None,
            key["held"],
        ),
    }

    await asyncio.to_thread(migrate.downgrade, empty_database, "0020")

    tables = await run_sql(
        empty_database,
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'achievement_holdings'"
        if postgres
        else "SELECT name FROM sqlite_master WHERE name = 'achievement_holdings'",
    )
    assert tables == []
