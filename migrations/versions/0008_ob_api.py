"""OB 3.0 API: registered apps, authorization codes, tokens, teacher-held credentials, profiles.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:02:10.165197
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ob_api_clients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('grant_types', sa.JSON(), nullable=False),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('client_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ob_api_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_ob_api_clients_client_id'))
    )
    op.create_table('held_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('match_key', sa.String(length=64), nullable=False),
    sa.Column('issuer_iri', sa.String(length=2000), nullable=False),
    sa.Column('credential_iri', sa.String(length=2000), nullable=False),
    sa.Column('achievement_iri', sa.String(length=2000), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('lookup_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['ob_api_clients.id'], name=op.f('fk_held_credentials_client_id_ob_api_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_held_credentials_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_credentials')),
    sa.UniqueConstraint('teacher_id', 'match_key', name=op.f('uq_held_credentials_teacher_id'))
    )
    with op.batch_alter_table('held_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_credentials_achievement_iri'), ['achievement_iri'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_credentials_lookup_key'), ['lookup_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_credentials_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('ob_authorization_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['ob_api_clients.id'], name=op.f('fk_ob_authorization_codes_client_id_ob_api_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_ob_authorization_codes_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ob_authorization_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_ob_authorization_codes_code_hash'))
    )
    with op.batch_alter_table('ob_authorization_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ob_authorization_codes_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ob_authorization_codes_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('teacher_profiles',
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_teacher_profiles_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('teacher_id', name=op.f('pk_teacher_profiles'))
    )
    op.create_table('ob_api_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=True),
    sa.Column('scope', sa.String(length=2000), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['ob_api_clients.id'], name=op.f('fk_ob_api_tokens_client_id_ob_api_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['ob_authorization_codes.id'], name=op.f('fk_ob_api_tokens_grant_id_ob_authorization_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_ob_api_tokens_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ob_api_tokens')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_ob_api_tokens_access_token_hash')),
    sa.UniqueConstraint('refresh_token_hash', name=op.f('uq_ob_api_tokens_refresh_token_hash'))
    )
    with op.batch_alter_table('ob_api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ob_api_tokens_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ob_api_tokens_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ob_api_tokens_teacher_id'), ['teacher_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ob_api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ob_api_tokens_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_ob_api_tokens_grant_id'))
        batch_op.drop_index(batch_op.f('ix_ob_api_tokens_client_id'))

    op.drop_table('ob_api_tokens')
    op.drop_table('teacher_profiles')
    with op.batch_alter_table('ob_authorization_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ob_authorization_codes_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_ob_authorization_codes_client_id'))

    op.drop_table('ob_authorization_codes')
    with op.batch_alter_table('held_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_credentials_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_held_credentials_lookup_key'))
        batch_op.drop_index(batch_op.f('ix_held_credentials_achievement_iri'))

    op.drop_table('held_credentials')
    op.drop_table('ob_api_clients')
