"""Status lists: Bitstring Status Lists per issuer and purpose, and where each credential sits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:23:03.491836
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('status_lists',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('signing_did', sa.String(length=500), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('is_full', sa.Boolean(), nullable=False),
    sa.Column('permutation_seed', sa.LargeBinary(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('etag', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_status_lists_issuer_id_issuers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists')),
    sa.UniqueConstraint('issuer_id', 'purpose', 'signing_did', 'sequence', name=op.f('uq_status_lists_issuer_id'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('credential_status_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('status_list_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('list_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_status_entries_credential_id_credentials'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['status_list_id'], ['status_lists.id'], name=op.f('fk_credential_status_entries_status_list_id_status_lists'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_status_entries')),
    sa.UniqueConstraint('status_list_id', 'list_index', name=op.f('uq_credential_status_entries_status_list_id'))
    )
    with op.batch_alter_table('credential_status_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_status_entries_credential_id'), ['credential_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('credential_status_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_status_entries_credential_id'))

    op.drop_table('credential_status_entries')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_issuer_id'))

    op.drop_table('status_lists')
