"""Wallet hand-offs: VC-API exchanges, OpenID4VCI pre-authorized offers and their nonces.

Each row is short-lived and single-use: a wallet proves a DID (VC-API DIDAuth) or holds a
key (OpenID4VCI proof of possession) and gets a new copy of one of the teacher's
credentials bound to it. Secrets (pre-authorized codes, transaction codes, access tokens,
nonces) are kept only as SHA-256 digests; the exchange challenge is not a secret (it
travels in the wallet link), the exchange id is the capability.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class WalletExchange(Base):
    """A W3C VC-API exchange: DIDAuth, then the credential re-issued to the proven DID."""

    __tablename__ = "wallet_exchanges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    challenge: Mapped[str] = mapped_column(String(64))
    # pending -> complete; a completed exchange answers nothing more.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class PreAuthorizedCode(Base):
    """An OpenID4VCI credential offer's pre-authorized code, and the access token it became."""

    __tablename__ = "oid4vci_pre_authorized_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    access_token_expires_at: Mapped[datetime | None]


class Oid4vciIssuance(Base):
    """One credential issued under an offer, at most one per credential configuration."""

    __tablename__ = "oid4vci_issuances"

    offer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oid4vci_pre_authorized_codes.id", ondelete="CASCADE"), primary_key=True
    )
    configuration_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class CNonce(Base):
    """A `c_nonce` from the nonce endpoint: a key proof must carry one, and uses it up."""

    __tablename__ = "oid4vci_nonces"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
