"""Teachers: accounts proven by e-mail, their sessions, sign-in codes and outgoing mail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow


class Teacher(Base):
    __tablename__ = "teachers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    display_name: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identifiers: Mapped[list[TeacherIdentifier]] = relationship(
        back_populates="teacher",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="TeacherIdentifier.created_at",
    )


class TeacherIdentifier(Base):
    """An e-mail address or state educator ID of a teacher, kept as a keyed lookup hash.

    `verified_at` is set when she proved it: an e-mail by a code sent to it; an educator ID
    when a credential or an agency pairs it with one of her verified e-mail addresses.

    An e-mail address belongs to one account: she proves it by signing in with it. An
    educator ID is a claim of one account, and several accounts may claim the same ID, each
    with its own proof (`badges.wallets.teachers.badge_scope`): otherwise whoever claimed an
    ID first (a provider's typo, or on purpose) would lock its real owner out of it.
    """

    __tablename__ = "teacher_identifiers"
    __table_args__ = (
        UniqueConstraint("teacher_id", "lookup_key"),
        Index(
            "uq_teacher_identifiers_email",
            "lookup_key",
            unique=True,
            sqlite_where=text("kind = 'email'"),
            postgresql_where=text("kind = 'email'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    # "email" or "educator_id".
    kind: Mapped[str] = mapped_column(String(32))
    lookup_key: Mapped[str] = mapped_column(String(64))
    # What she sees of it (`j•••@example.org`), never the whole value for educator IDs.
    label: Mapped[str] = mapped_column(String(320))
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    teacher: Mapped[Teacher] = relationship(back_populates="identifiers")


class SignInCode(Base):
    """A one-time code (and link) e-mailed to prove an address; only hashes are kept."""

    __tablename__ = "sign_in_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email_key: Mapped[str] = mapped_column(String(64), index=True)
    # The address as she may see it (`j•••@example.org`), for the account made by a link.
    email_label: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    teacher_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE")
    )
    next_path: Mapped[str | None] = mapped_column(String(500))
    client_address: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TeacherSession(Base):
    __tablename__ = "teacher_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teachers.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OutboxEmail(Base):
    """Every e-mail the service sends; in development the outbox is the mail server."""

    __tablename__ = "outbox_emails"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
