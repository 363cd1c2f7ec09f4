"""A stack says when a purpose's approval is asked: on the day an MC was earned, or on the
evaluation date.

Existing stacks get "earned", the rule they are now documented to follow: a vetted MC
earned while its achievement was on the agency's list keeps counting after the approval is
withdrawn (New America's model state policy guide); "evaluation" is the stricter choice.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approval_at", sa.String(length=16), nullable=False, server_default="earned")
        )


def downgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.drop_column("approval_at")
