"""The achievement-holdings index: which of an agency's educators each credential row names
(issued here, submitted, pushed), by achievement, so holders of one achievement are read in
educator order. The table is new and filled from the rows already there.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ISSUED = sa.text("credential_id IS NOT NULL")
_SUBMITTED = sa.text("submitted_id IS NOT NULL")
_HELD = sa.text("held_id IS NOT NULL")

# The links the rows already make, as `badges.status.achievement_holdings` writes them
# (`WHERE` before `ON CONFLICT` so SQLite does not read its ON as a join's).
_BACKFILL = (
    "INSERT INTO achievement_holdings (agency_id, educator_id, achievement_id, credential_id) "
    "SELECT e.agency_id, e.id, c.achievement_id, c.id FROM credential_recipients r "
    "JOIN educator_identifiers i ON i.lookup_key = r.lookup_key "
    "JOIN educators e ON e.id = i.educator_id "
    "JOIN credentials c ON c.id = r.credential_id "
    "WHERE r.lookup_key IS NOT NULL ON CONFLICT DO NOTHING",
    "INSERT INTO achievement_holdings (agency_id, educator_id, achievement_iri, submitted_id) "
    "SELECT s.agency_id, s.educator_id, s.achievement_iri, s.id FROM submitted_credentials s "
    "WHERE s.accepted AND s.achievement_iri IS NOT NULL ON CONFLICT DO NOTHING",
    "INSERT INTO achievement_holdings (agency_id, educator_id, achievement_iri, held_id) "
    "SELECT e.agency_id, e.id, h.achievement_iri, h.id FROM held_credentials h "
    "JOIN educator_identifiers i ON i.lookup_key = h.lookup_key "
    "JOIN educators e ON e.id = i.educator_id "
    "WHERE h.achievement_iri IS NOT NULL ON CONFLICT DO NOTHING",
)


def upgrade() -> None:
    op.create_table(
        "achievement_holdings",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("achievement_iri", sa.String(length=2000), nullable=True),
        sa.Column("credential_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_id", sa.Uuid(), nullable=True),
        sa.Column("held_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "CAST(credential_id IS NOT NULL AS INTEGER) + CAST(submitted_id IS NOT NULL AS INTEGER)"
            " + CAST(held_id IS NOT NULL AS INTEGER) = 1",
            name=op.f("ck_achievement_holdings_one_source"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_achievement_holdings_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_achievement_holdings_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_achievement_holdings_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_id"],
            ["submitted_credentials.id"],
            name=op.f("fk_achievement_holdings_submitted_id_submitted_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["held_id"],
            ["held_credentials.id"],
            name=op.f("fk_achievement_holdings_held_id_held_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievement_holdings")),
    )
    for name, source, where in (
        ("uq_achievement_holdings_credential", "credential_id", _ISSUED),
        ("uq_achievement_holdings_submitted", "submitted_id", _SUBMITTED),
        ("uq_achievement_holdings_held", "held_id", _HELD),
    ):
        op.create_index(
            name,
            "achievement_holdings",
            [source, "educator_id"],
            unique=True,
            postgresql_where=where,
            sqlite_where=where,
        )
    for statement in _BACKFILL:
        op.execute(statement)
    # The reading indexes after the rows: one sort each instead of a row-by-row insert.
    op.create_index(
        "ix_achievement_holdings_own",
        "achievement_holdings",
        ["agency_id", "achievement_id", "educator_id"],
        postgresql_include=["credential_id"],
    )
    op.create_index(
        "ix_achievement_holdings_iri",
        "achievement_holdings",
        ["agency_id", "achievement_iri", "educator_id"],
        postgresql_include=["submitted_id", "held_id"],
    )
    op.create_index(
        "ix_achievement_holdings_educator", "achievement_holdings", ["educator_id", "agency_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_achievement_holdings_educator", table_name="achievement_holdings")
    op.drop_index("ix_achievement_holdings_iri", table_name="achievement_holdings")
    op.drop_index("ix_achievement_holdings_own", table_name="achievement_holdings")
    op.drop_index("uq_achievement_holdings_held", table_name="achievement_holdings")
    op.drop_index("uq_achievement_holdings_submitted", table_name="achievement_holdings")
    op.drop_index("uq_achievement_holdings_credential", table_name="achievement_holdings")
    op.drop_table("achievement_holdings")
