"""An educator ID is a claim per account; an e-mail address stays with one account.

Several teacher accounts may now claim the same state educator ID, each with its own proof
(`badges.wallets.teachers.badge_scope`), so that whoever claimed an ID first cannot lock its owner
out. The unique key becomes (teacher, lookup key); e-mail addresses, proven by sign-in,
stay unique across accounts (a partial unique index).

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMAILS_ONLY = sa.text("kind = 'email'")
# Every claim of an educator ID but the first one made: the old schema held one per ID.
_LATER_CLAIMS = sa.text(
    "DELETE FROM teacher_identifiers WHERE kind <> 'email' AND EXISTS ("
    "SELECT 1 FROM teacher_identifiers AS earlier"
    " WHERE earlier.lookup_key = teacher_identifiers.lookup_key"
    " AND (earlier.created_at < teacher_identifiers.created_at"
    " OR (earlier.created_at = teacher_identifiers.created_at"
    " AND earlier.id < teacher_identifiers.id)))"
)


def upgrade() -> None:
    with op.batch_alter_table("teacher_identifiers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_teacher_identifiers_lookup_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_teacher_identifiers_teacher_id", ["teacher_id", "lookup_key"]
        )
        batch_op.create_index(
            "uq_teacher_identifiers_email",
            ["lookup_key"],
            unique=True,
            sqlite_where=_EMAILS_ONLY,
            postgresql_where=_EMAILS_ONLY,
        )


def downgrade() -> None:
    op.execute(_LATER_CLAIMS)
    with op.batch_alter_table("teacher_identifiers", schema=None) as batch_op:
        batch_op.drop_index("uq_teacher_identifiers_email")
        batch_op.drop_constraint("uq_teacher_identifiers_teacher_id", type_="unique")
        batch_op.create_unique_constraint("uq_teacher_identifiers_lookup_key", ["lookup_key"])
