"""The Open Badges 3.0 REST API: teachers' apps (OAuth clients), their codes and tokens, the
credentials a teacher's apps push into her account, and her OB `Profile`.

Secrets, codes and tokens are kept only as SHA-256 digests, as for provider clients.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ObApiClient(Base):
    """An app registered by RFC 7591 dynamic client registration (a wallet, a backpack)."""

    __tablename__ = "ob_api_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    redirect_uris: Mapped[list[Any]]
    grant_types: Mapped[list[Any]]
    scope: Mapped[str] = mapped_column(String(2000))
    # The registered metadata as the client sent it (after validation), echoed on request.
    client_metadata: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class ObAuthorizationCode(Base):
    """A code a teacher's consent produced; single use, bound to client, redirect URI and
    PKCE challenge. Its id names the grant: every token it leads to (through refreshes)
    carries it, so a replayed code or refresh token revokes them all."""

    __tablename__ = "ob_authorization_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ob_api_clients.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ObApiToken(Base):
    """An access token and the refresh token issued with it. A refresh rotates: the row is
    revoked and a new one made in the same grant."""

    __tablename__ = "ob_api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ob_authorization_codes.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ob_api_clients.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(2000))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class HeldCredential(Base):
    """A credential from any issuer that one of the teacher's apps upserted, verified on
    entry. One per (issuer id, credential id) per teacher (OB 3.0 §10 equality, kept as
    `match_key`); `lookup_key` is the keyed hash (`recipients.lookup_key`) of her identifier
    the credential names, so it can count toward stacks like a credential issued here."""

    __tablename__ = "held_credentials"
    __table_args__ = (UniqueConstraint("teacher_id", "match_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ob_api_clients.id", ondelete="SET NULL")
    )
    match_key: Mapped[str] = mapped_column(String(64))
    issuer_iri: Mapped[str] = mapped_column(String(2000))
    credential_iri: Mapped[str] = mapped_column(String(2000))
    achievement_iri: Mapped[str | None] = mapped_column(String(2000), index=True)
    # `ldp_vc` (JSON with an embedded proof) or `jwt_vc` (compact JWS), kept as received.
    format: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    earned_at: Mapped[datetime | None]
    verdict: Mapped[str] = mapped_column(String(32))
    lookup_key: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeacherProfile(Base):
    """Her OB 3.0 `Profile` as her apps last put it. `email` is one of her verified
    addresses, stored in the clear only because she chose to publish it here."""

    __tablename__ = "teacher_profiles"

    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[dict[str, Any]]
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
