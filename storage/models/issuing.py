"""Issuers, their keys and API clients, achievements, and issued credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigIntPK, utcnow


class Issuer(Base):
    """A provider organisation; its public OB `Profile` is built from these columns."""

    __tablename__ = "issuers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2000))
    # Opt-in: credentials then carry a suspension entry besides the revocation one. Off by
    # default, because two entries break the strict OB 3.0 JSON schema (credentialStatus 0..1).
    suspension_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    keys: Mapped[list[IssuerKey]] = relationship(
        back_populates="issuer", order_by="IssuerKey.created_at", lazy="selectin"
    )


class IssuerKey(Base):
    """One signing key. Retired keys stay: credentials signed with them must keep verifying."""

    __tablename__ = "issuer_keys"
    __table_args__ = (UniqueConstraint("issuer_id", "key_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    issuer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"))
    # The DID URL fragment (`key-3`), unique per issuer.
    key_id: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]]
    # PKCS#8 private key sealed with the master key (AES-256-GCM, row id as associated data).
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    issuer: Mapped[Issuer] = relationship(back_populates="keys")


class Client(Base):
    """A provider's machine client (OAuth 2.0 client credentials), bound to one issuer."""

    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    issuer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class Achievement(Base):
    """One version of a micro-credential definition.

    Versions of the same achievement share `lineage_id`; once a version has been issued it
    is frozen and an edit inserts the next version with a new id (and a new public URL).
    """

    __tablename__ = "achievements"
    __table_args__ = (UniqueConstraint("lineage_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    issuer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), index=True
    )
    lineage_id: Mapped[uuid.UUID] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    criteria_narrative: Mapped[str | None] = mapped_column(Text)
    criteria_url: Mapped[str | None] = mapped_column(String(2000))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    image_caption: Mapped[str | None] = mapped_column(String(500))
    achievement_type: Mapped[str] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[Any]]
    alignments: Mapped[list[Any]]
    result_descriptions: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]


class Credential(Base):
    """An issued credential, kept as the exact bytes that were signed and returned."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("issuer_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    issuer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("issuers.id", ondelete="RESTRICT"), index=True
    )
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL")
    )
    issuer_did: Mapped[str] = mapped_column(String(500))
    subject_id: Mapped[str | None] = mapped_column(String(2000))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    awarded_date: Mapped[datetime | None]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The JSON text exactly as returned; never re-serialised (a re-serialisation may not verify).
    document: Mapped[str] = mapped_column(Text)
    jwt: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the request that created it: a retried key with another body is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))

    recipients: Mapped[list[CredentialRecipient]] = relationship(
        back_populates="credential", lazy="selectin", order_by="CredentialRecipient.position"
    )
    evidence: Mapped[list[CredentialEvidence]] = relationship(
        back_populates="credential", lazy="selectin", order_by="CredentialEvidence.position"
    )


class CredentialRecipient(Base):
    """A recipient identifier as written in the credential (hashed when the credential hashes)."""

    __tablename__ = "credential_recipients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    identity_type: Mapped[str] = mapped_column(String(100))
    identity_hash: Mapped[str] = mapped_column(String(500), index=True)
    salt: Mapped[str | None] = mapped_column(String(100))
    hashed: Mapped[bool] = mapped_column(Boolean)
    # Keyed hash (see `educator_identifiers.lookup_key`) so agencies can find an educator's
    # credentials without the plain identifier ever being stored.
    lookup_key: Mapped[str | None] = mapped_column(String(64), index=True)

    credential: Mapped[Credential] = relationship(back_populates="recipients")


class CredentialEvidence(Base):
    __tablename__ = "credential_evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2000))
    name: Mapped[str | None] = mapped_column(String(500))
    narrative: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    genre: Mapped[str | None] = mapped_column(String(200))

    credential: Mapped[Credential] = relationship(back_populates="evidence")


class CredentialEvent(Base):
    """Append-only history of a credential (issued, revoked, suspended, unsuspended).

    Database triggers created by the migration refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "credential_events"
    __table_args__ = (Index("ix_credential_events_credential_time", "credential_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT")
    )
    event_type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class OAuthToken(Base):
    """An issued bearer access token; only its SHA-256 is kept, so a leaked table grants nothing."""

    __tablename__ = "oauth_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
