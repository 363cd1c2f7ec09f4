"""Suspension is a per-issuer opt-in; status lists are also kept as VC-JWTs.

Existing issuers start with suspension off: their new credentials carry only a revocation
entry (the strict OB 3.0 schema allows one). Credentials issued earlier keep their suspension
entry and can still be suspended. Existing lists get their VC-JWT the next time they are
signed (or on the first request for it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'suspension_enabled', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jwt', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_column('jwt')
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('suspension_enabled')
