"""Counting: observed status of credentials issued elsewhere, and wallet copies' originals.

`foreign_status_observations` keeps, append-only, each status change this service has seen
of a submitted or pushed credential; `credential_copies` ties every wallet copy to the
credential it copies, so that a copy is never counted beside its original. Copies made
before this revision are found through the exchanges and offers that made them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EARLIER_COPIES = sa.text(
    "INSERT INTO credential_copies (copy_id, original_id, created_at)"
    " SELECT issued_credential_id, credential_id, MIN(created_at) FROM ("
    " SELECT issued_credential_id, credential_id, created_at FROM wallet_exchanges"
    " WHERE issued_credential_id IS NOT NULL"
    " UNION ALL"
    " SELECT issuances.issued_credential_id, offers.credential_id, issuances.issued_at"
    " FROM oid4vci_issuances AS issuances"
    " JOIN oid4vci_pre_authorized_codes AS offers ON offers.id = issuances.offer_id"
    " WHERE issuances.issued_credential_id IS NOT NULL"
    ") AS made GROUP BY issued_credential_id, credential_id"
)


def upgrade() -> None:
    op.create_table(
        "foreign_status_observations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submitted_id", sa.Uuid(), nullable=True),
        sa.Column("held_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["held_id"],
            ["held_credentials.id"],
            name=op.f("fk_foreign_status_observations_held_id_held_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_id"],
            ["submitted_credentials.id"],
            name=op.f("fk_foreign_status_observations_submitted_id_submitted_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_foreign_status_observations")),
    )
    with op.batch_alter_table("foreign_status_observations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_foreign_status_observations_held_id"), ["held_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_foreign_status_observations_submitted_id"),
            ["submitted_id"],
            unique=False,
        )
    op.create_table(
        "credential_copies",
        sa.Column("copy_id", sa.Uuid(), nullable=False),
        sa.Column("original_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["credentials.id"],
            name=op.f("fk_credential_copies_copy_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["credentials.id"],
            name=op.f("fk_credential_copies_original_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("copy_id", name=op.f("pk_credential_copies")),
    )
    with op.batch_alter_table("credential_copies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_copies_original_id"), ["original_id"], unique=False
        )
    op.execute(_EARLIER_COPIES)


def downgrade() -> None:
    with op.batch_alter_table("credential_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_copies_original_id"))
    op.drop_table("credential_copies")
    with op.batch_alter_table("foreign_status_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_foreign_status_observations_submitted_id"))
        batch_op.drop_index(batch_op.f("ix_foreign_status_observations_held_id"))
    op.drop_table("foreign_status_observations")
