"""Agencies: approvals, stacks, lattices and roles, educators, submitted credentials.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:38:39.375216
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_agencies_issuer_id_issuers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('issuer_id', name=op.f('uq_agencies_issuer_id'))
    )
    op.create_table('approvals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('achievement_iri', sa.String(length=2000), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('effective_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_approvals_agency_id_agencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals'))
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_lookup', ['agency_id', 'achievement_iri', 'purpose'], unique=False)

    op.create_table('educators',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('district', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_educators_agency_id_agencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_educators'))
    )
    with op.batch_alter_table('educators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_educators_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_educators_district'), ['district'], unique=False)

    op.create_table('lattices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_lattices_agency_id_agencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lattices'))
    )
    with op.batch_alter_table('lattices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lattices_agency_id'), ['agency_id'], unique=False)

    op.create_table('stacks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('lineage_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_stacks_agency_id_agencies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stacks')),
    sa.UniqueConstraint('lineage_id', 'revision', name=op.f('uq_stacks_lineage_id'))
    )
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stacks_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stacks_lineage_id'), ['lineage_id'], unique=False)

    op.create_table('educator_identifiers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('educator_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lookup_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['educator_id'], ['educators.id'], name=op.f('fk_educator_identifiers_educator_id_educators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_educator_identifiers')),
    sa.UniqueConstraint('educator_id', 'lookup_key', name=op.f('uq_educator_identifiers_educator_id'))
    )
    with op.batch_alter_table('educator_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_educator_identifiers_lookup_key'), ['lookup_key'], unique=False)

    op.create_table('lattice_roles',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('lattice_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('precedes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['lattice_id'], ['lattices.id'], name=op.f('fk_lattice_roles_lattice_id_lattices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lattice_roles')),
    sa.UniqueConstraint('lattice_id', 'key', name=op.f('uq_lattice_roles_lattice_id'))
    )
    op.create_table('submitted_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('educator_id', sa.Uuid(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('credential_iri', sa.String(length=2000), nullable=True),
    sa.Column('issuer_iri', sa.String(length=2000), nullable=True),
    sa.Column('achievement_iri', sa.String(length=2000), nullable=True),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_submitted_credentials_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['educator_id'], ['educators.id'], name=op.f('fk_submitted_credentials_educator_id_educators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submitted_credentials'))
    )
    with op.batch_alter_table('submitted_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submitted_credentials_achievement_iri'), ['achievement_iri'], unique=False)
        batch_op.create_index(batch_op.f('ix_submitted_credentials_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submitted_credentials_educator_id'), ['educator_id'], unique=False)

    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lookup_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_credential_recipients_lookup_key'), ['lookup_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_recipients_lookup_key'))
        batch_op.drop_column('lookup_key')

    with op.batch_alter_table('submitted_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submitted_credentials_educator_id'))
        batch_op.drop_index(batch_op.f('ix_submitted_credentials_agency_id'))
        batch_op.drop_index(batch_op.f('ix_submitted_credentials_achievement_iri'))

    op.drop_table('submitted_credentials')
    op.drop_table('lattice_roles')
    with op.batch_alter_table('educator_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_educator_identifiers_lookup_key'))

    op.drop_table('educator_identifiers')
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stacks_lineage_id'))
        batch_op.drop_index(batch_op.f('ix_stacks_agency_id'))

    op.drop_table('stacks')
    with op.batch_alter_table('lattices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lattices_agency_id'))

    op.drop_table('lattices')
    with op.batch_alter_table('educators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_educators_district'))
        batch_op.drop_index(batch_op.f('ix_educators_agency_id'))

    op.drop_table('educators')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_lookup')

    op.drop_table('approvals')
    op.drop_table('agencies')
