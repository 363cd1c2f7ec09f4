"""Initial schema: issuers, keys, clients, achievements, credentials and their event log.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 16:07:23.875681
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('issuers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('image_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuers')),
    sa.UniqueConstraint('slug', name=op.f('uq_issuers_slug'))
    )
    op.create_table('achievements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('lineage_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('criteria_narrative', sa.Text(), nullable=True),
    sa.Column('criteria_url', sa.String(length=2000), nullable=True),
    sa.Column('image_url', sa.String(length=2000), nullable=True),
    sa.Column('image_caption', sa.String(length=500), nullable=True),
    sa.Column('achievement_type', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('alignments', sa.JSON(), nullable=False),
    sa.Column('result_descriptions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_achievements_issuer_id_issuers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_achievements')),
    sa.UniqueConstraint('lineage_id', 'revision', name=op.f('uq_achievements_lineage_id'))
    )
    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_achievements_issuer_id'), ['issuer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_achievements_lineage_id'), ['lineage_id'], unique=False)

    op.create_table('clients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_clients_issuer_id_issuers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_clients_client_id'))
    )
    op.create_table('issuer_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_issuer_keys_issuer_id_issuers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_keys')),
    sa.UniqueConstraint('issuer_id', 'key_id', name=op.f('uq_issuer_keys_issuer_id'))
    )
    op.create_table('oauth_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('scopes', sa.String(length=1000), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_oauth_tokens_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_oauth_tokens_token_hash'))
    )
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_tokens_client_id'), ['client_id'], unique=False)

    op.create_table('credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('issuer_id', sa.Uuid(), nullable=False),
    sa.Column('achievement_id', sa.Uuid(), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('issuer_did', sa.String(length=500), nullable=False),
    sa.Column('subject_id', sa.String(length=2000), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('awarded_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('jwt', sa.Text(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_credentials_achievement_id_achievements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_credentials_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], name=op.f('fk_credentials_issuer_id_issuers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('issuer_id', 'idempotency_key', name=op.f('uq_credentials_issuer_id'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credentials_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('credential_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_events_credential_id_credentials'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_events'))
    )
    with op.batch_alter_table('credential_events', schema=None) as batch_op:
        batch_op.create_index('ix_credential_events_credential_time', ['credential_id', 'id'], unique=False)

    op.create_table('credential_evidence',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=True),
    sa.Column('narrative', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('genre', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_evidence_credential_id_credentials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_evidence'))
    )
    with op.batch_alter_table('credential_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_evidence_credential_id'), ['credential_id'], unique=False)

    op.create_table('credential_recipients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('identity_type', sa.String(length=100), nullable=False),
    sa.Column('identity_hash', sa.String(length=500), nullable=False),
    sa.Column('salt', sa.String(length=100), nullable=True),
    sa.Column('hashed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_credential_recipients_credential_id_credentials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_recipients'))
    )
    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_recipients_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_recipients_identity_hash'), ['identity_hash'], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('credential_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_recipients_identity_hash'))
        batch_op.drop_index(batch_op.f('ix_credential_recipients_credential_id'))

    op.drop_table('credential_recipients')
    with op.batch_alter_table('credential_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_evidence_credential_id'))

    op.drop_table('credential_evidence')
    with op.batch_alter_table('credential_events', schema=None) as batch_op:
        batch_op.drop_index('ix_credential_events_credential_time')

    op.drop_table('credential_events')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentials_issuer_id'))
        batch_op.drop_index(batch_op.f('ix_credentials_achievement_id'))

    op.drop_table('credentials')
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_client_id'))

    op.drop_table('oauth_tokens')
    op.drop_table('issuer_keys')
    op.drop_table('clients')
    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_achievements_lineage_id'))
        batch_op.drop_index(batch_op.f('ix_achievements_issuer_id'))

    op.drop_table('achievements')
    op.drop_table('issuers')


# The event log is evidence (a state may ask whether a badge was in good standing on a
# given day), so the database itself refuses to rewrite or delete history.
_PG_FUNCTION = """
CREATE FUNCTION credential_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credential_events is append-only';
END;
$$ LANGUAGE plpgsql
"""


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER credential_events_append_only BEFORE UPDATE OR DELETE "
            "ON credential_events FOR EACH ROW EXECUTE FUNCTION credential_events_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER credential_events_no_{action.lower()} BEFORE {action} "
            "ON credential_events BEGIN "
            "SELECT RAISE(ABORT, 'credential_events is append-only'); END"
        )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credential_events_append_only ON credential_events")
        op.execute("DROP FUNCTION IF EXISTS credential_events_append_only()")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS credential_events_no_{action}")
