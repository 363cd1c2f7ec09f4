"""Teachers: accounts, identifiers (keyed hashes), sign-in codes, sessions, e-mail outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:51:40.776258
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_emails',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_emails'))
    )
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_emails_recipient'), ['recipient'], unique=False)

    op.create_table('teachers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teachers'))
    )
    op.create_table('sign_in_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email_key', sa.String(length=64), nullable=False),
    sa.Column('email_label', sa.String(length=320), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=True),
    sa.Column('next_path', sa.String(length=500), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_sign_in_codes_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_sign_in_codes_link_hash'))
    )
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_codes_client_address'), ['client_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_codes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_codes_email_key'), ['email_key'], unique=False)

    op.create_table('teacher_identifiers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lookup_key', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=320), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_teacher_identifiers_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teacher_identifiers')),
    sa.UniqueConstraint('lookup_key', name=op.f('uq_teacher_identifiers_lookup_key'))
    )
    with op.batch_alter_table('teacher_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teacher_identifiers_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('teacher_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_teacher_sessions_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teacher_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_teacher_sessions_token_hash'))
    )
    with op.batch_alter_table('teacher_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teacher_sessions_teacher_id'), ['teacher_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('teacher_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teacher_sessions_teacher_id'))

    op.drop_table('teacher_sessions')
    with op.batch_alter_table('teacher_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teacher_identifiers_teacher_id'))

    op.drop_table('teacher_identifiers')
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_codes_email_key'))
        batch_op.drop_index(batch_op.f('ix_sign_in_codes_created_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_codes_client_address'))

    op.drop_table('sign_in_codes')
    op.drop_table('teachers')
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_emails_recipient'))

    op.drop_table('outbox_emails')
