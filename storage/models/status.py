"""Bitstring Status Lists and where each credential sits in them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class StatusList(Base):
    """One Bitstring Status List (revocation or suspension) of an issuer, and its signed form.

    Indices are handed out through a keyed permutation of the list positions: the n-th
    credential gets `permute(seed, n)`, so indices look random (herd privacy) yet can never
    repeat, and allocation is one atomic counter increment in the issuing transaction.
    """

    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("issuer_id", "purpose", "signing_did", "sequence"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    issuer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("issuers.id", ondelete="RESTRICT"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    # The issuer id the list is signed as: verifiers require it to equal the credential's.
    signing_did: Mapped[str] = mapped_column(String(500))
    sequence: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    is_full: Mapped[bool] = mapped_column(Boolean, default=False)
    permutation_seed: Mapped[bytes] = mapped_column(LargeBinary)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    # The signed BitstringStatusListCredential as served, regenerated when a bit changes.
    document: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(80))
    # The same list as a VC-JWT (for verifiers that read lists only as JWTs), signed with
    # `document` from the same bits at the same moment. NULL for lists signed before it existed.
    jwt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CredentialStatusEntry(Base):
    """Where a credential's status bits live (one row per purpose)."""

    __tablename__ = "credential_status_entries"
    __table_args__ = (UniqueConstraint("status_list_id", "list_index"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT"), index=True
    )
    status_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("status_lists.id", ondelete="RESTRICT")
    )
    purpose: Mapped[str] = mapped_column(String(32))
    list_index: Mapped[int] = mapped_column(Integer)
