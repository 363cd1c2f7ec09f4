"""Console staff: people at a provider or an agency who sign in with an e-mailed code.

API clients stay for machines; these are accounts for people, each with memberships
(staff of an issuer, or staff of an agency) and a role in each.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow


class StaffAccount(Base):
    """A person, known by an e-mail address kept (as teachers' are) as a keyed lookup hash.

    Disabling is dated, never a delete: what the person did stays attributable.
    """

    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email_key: Mapped[str] = mapped_column(String(64), unique=True)
    # What the console and the CLI show of it (`j•••@example.org`).
    email_label: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]

    memberships: Mapped[list[StaffMembership]] = relationship(
        back_populates="account",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="StaffMembership.created_at",
    )


class StaffMembership(Base):
    """The account works for one issuer or one agency (exactly one), as `admin` or `staff`."""

    __tablename__ = "staff_memberships"
    __table_args__ = (
        CheckConstraint("(issuer_id IS NULL) <> (agency_id IS NULL)", name="one_place"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    issuer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[StaffAccount] = relationship(back_populates="memberships")


class StaffSession(Base):
    """A console sign-in; separate from teachers' sessions (another cookie, another table)."""

    __tablename__ = "staff_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
