"""Wallets: VC-API exchanges, OpenID4VCI pre-authorized codes, issuances and nonces.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:12:05.118204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oid4vci_nonces',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_nonces')),
    sa.UniqueConstraint('nonce_hash', name=op.f('uq_oid4vci_nonces_nonce_hash'))
    )
    with op.batch_alter_table('oid4vci_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('oid4vci_pre_authorized_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('tx_code_hash', sa.String(length=64), nullable=True),
    sa.Column('tx_code_attempts', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('access_token_hash', sa.String(length=64), nullable=True),
    sa.Column('access_token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_oid4vci_pre_authorized_codes_credential_id_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_oid4vci_pre_authorized_codes_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_pre_authorized_codes')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_oid4vci_pre_authorized_codes_access_token_hash')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oid4vci_pre_authorized_codes_code_hash'))
    )
    with op.batch_alter_table('oid4vci_pre_authorized_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_pre_authorized_codes_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_pre_authorized_codes_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('oid4vci_issuances',
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('configuration_id', sa.String(length=64), nullable=False),
    sa.Column('issued_credential_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issued_credential_id'], ['credentials.id'], name=op.f('fk_oid4vci_issuances_issued_credential_id_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['offer_id'], ['oid4vci_pre_authorized_codes.id'], name=op.f('fk_oid4vci_issuances_offer_id_oid4vci_pre_authorized_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('offer_id', 'configuration_id', name=op.f('pk_oid4vci_issuances'))
    )
    op.create_table('wallet_exchanges',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('teacher_id', sa.Uuid(), nullable=False),
    sa.Column('challenge', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('issued_credential_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_wallet_exchanges_credential_id_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_credential_id'], ['credentials.id'], name=op.f('fk_wallet_exchanges_issued_credential_id_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_wallet_exchanges_teacher_id_teachers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_exchanges'))
    )
    with op.batch_alter_table('wallet_exchanges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_exchanges_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_exchanges_teacher_id'), ['teacher_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wallet_exchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_exchanges_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_wallet_exchanges_credential_id'))

    op.drop_table('wallet_exchanges')
    op.drop_table('oid4vci_issuances')
    with op.batch_alter_table('oid4vci_pre_authorized_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_pre_authorized_codes_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_pre_authorized_codes_credential_id'))

    op.drop_table('oid4vci_pre_authorized_codes')
    with op.batch_alter_table('oid4vci_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_nonces_expires_at'))

    op.drop_table('oid4vci_nonces')
