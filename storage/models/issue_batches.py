"""Badges issued in batches from an uploaded spreadsheet: the batch, and one row per line.

A row keeps what its line said until it is issued; then its plain e-mail address is erased
(the credential and its keyed lookup hash are the record from there on, as for any other
credential: `formats.identity`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, utcnow
from storage.models.issuing import Credential

# --- an index the issued-credentials list needs on another area's table -------------------
# An issuer's credentials newest first, a page at a time (`badges.issuing.issued_search`):
# the keyset `(issued_at, id)` under the issuer, read in index order with no sort.
Index("ix_credentials_issuer_issued", Credential.issuer_id, Credential.issued_at, Credential.id)


class IssueBatch(Base):
    """One uploaded file: validated (`preview`), then confirmed once (`issuing`) and `done`."""

    __tablename__ = "issue_batches"
    __table_args__ = (Index("ix_issue_batches_issuer_created", "issuer_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    issuer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"))
    # The client the credentials are issued through (their `issued` events name it).
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    # The achievement for rows that name none (chosen with the upload), if any.
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), default="preview")
    created_by: Mapped[str | None] = mapped_column(String(200))
    total_rows: Mapped[int] = mapped_column(Integer)
    valid_rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None]


class IssueBatchRow(Base):
    """One line of the file: `invalid` (never issued), or `pending`, `claimed` (a worker
    is issuing it), then `issued` (with the credential) or `failed` (with the error)."""

    __tablename__ = "issue_batch_rows"
    __table_args__ = (
        UniqueConstraint("batch_id", "row_number"),
        Index("ix_issue_batch_rows_batch_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issue_batches.id", ondelete="CASCADE"))
    # The line's row number in a spreadsheet (the header is row 1).
    row_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    # Which worker's claim this row is in (`claimed` rows only).
    claim: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(300))
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT")
    )
    achievement_text: Mapped[str | None] = mapped_column(String(2000))
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    evidence_narrative: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[date | None]
    educator_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(2))
    # [{"column": ..., "message": ...}] of an invalid row; the issuing error of a failed one.
    errors: Mapped[list[Any]] = mapped_column(default=list)
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
