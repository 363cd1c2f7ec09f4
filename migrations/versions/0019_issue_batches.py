"""Badges issued from an uploaded spreadsheet (a batch and its rows), and the index that
lists an issuer's credentials newest first. Every table is new.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index(
        "ix_credentials_issuer_issued",
        "credentials",
        ["issuer_id", "issued_at", "id"],
        unique=False,
    )
    op.create_table(
        "issue_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
            name=op.f("fk_issue_batches_issuer_id_issuers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_issue_batches_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_issue_batches_achievement_id_achievements"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_batches")),
    )
    op.create_index("ix_issue_batches_issuer_created", "issue_batches", ["issuer_id", "created_at"])
    op.create_table(
        "issue_batch_rows",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("achievement_text", sa.String(length=2000), nullable=True),
        sa.Column("evidence_url", sa.String(length=2000), nullable=True),
        sa.Column("evidence_narrative", sa.Text(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("educator_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["issue_batches.id"],
            name=op.f("fk_issue_batch_rows_batch_id_issue_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_issue_batch_rows_achievement_id_achievements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_issue_batch_rows_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_batch_rows")),
        sa.UniqueConstraint("batch_id", "row_number", name=op.f("uq_issue_batch_rows_batch_id")),
    )
    op.create_index("ix_issue_batch_rows_batch_status", "issue_batch_rows", ["batch_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_issue_batch_rows_batch_status", table_name="issue_batch_rows")
    op.drop_table("issue_batch_rows")
    op.drop_index("ix_issue_batches_issuer_created", table_name="issue_batches")
    op.drop_table("issue_batches")
    op.drop_index("ix_credentials_issuer_issued", table_name="credentials")
