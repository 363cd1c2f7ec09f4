"""Materialised stack and role completions, their last full runs, and stale educators;
covering indexes for the holders queries and a partial index of credential status events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:53:38.693302
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('completion_runs',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('educators', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_completion_runs_agency_id_agencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agency_id', 'target_kind', 'target_id', name=op.f('pk_completion_runs'))
    )
    op.create_table('completions',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('educator_id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_completions_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['educator_id'], ['educators.id'], name=op.f('fk_completions_educator_id_educators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agency_id', 'target_kind', 'target_id', 'educator_id', name=op.f('pk_completions'))
    )
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completions_educator_id'), ['educator_id'], unique=False)
        batch_op.create_index('ix_completions_expiring', ['agency_id', 'expires_at'], unique=False)

    op.create_table('stale_educators',
    sa.Column('educator_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_stale_educators_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['educator_id'], ['educators.id'], name=op.f('fk_stale_educators_educator_id_educators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('educator_id', name=op.f('pk_stale_educators'))
    )
    with op.batch_alter_table('stale_educators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stale_educators_agency_id'), ['agency_id'], unique=False)

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index('ix_credentials_achievement_cover', ['achievement_id', 'id'], unique=False, postgresql_include=['valid_from', 'valid_until', 'awarded_date'])
    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_credential_recipients_credential_lookup', ['credential_id', 'lookup_key'], unique=False)
    with op.batch_alter_table('educator_identifiers', schema=None) as batch_op:
        batch_op.create_index('ix_educator_identifiers_lookup_educator', ['lookup_key', 'educator_id'], unique=False)
    with op.batch_alter_table('educators', schema=None) as batch_op:
        batch_op.create_index('ix_educators_agency_id_id', ['agency_id', 'id'], unique=False, postgresql_include=['district'])
    status = sa.text("event_type IN ('revoked', 'suspended', 'unsuspended')")
    with op.batch_alter_table('credential_events', schema=None) as batch_op:
        batch_op.create_index('ix_credential_events_status', ['credential_id', 'id'], unique=False, postgresql_where=status, sqlite_where=status)


def downgrade() -> None:
    with op.batch_alter_table('credential_events', schema=None) as batch_op:
        batch_op.drop_index('ix_credential_events_status')
    with op.batch_alter_table('educators', schema=None) as batch_op:
        batch_op.drop_index('ix_educators_agency_id_id')
    with op.batch_alter_table('educator_identifiers', schema=None) as batch_op:
        batch_op.drop_index('ix_educator_identifiers_lookup_educator')
    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_credential_recipients_credential_lookup')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_achievement_cover')

    with op.batch_alter_table('stale_educators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stale_educators_agency_id'))

    op.drop_table('stale_educators')
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index('ix_completions_expiring')
        batch_op.drop_index(batch_op.f('ix_completions_educator_id'))

    op.drop_table('completions')
    op.drop_table('completion_runs')
