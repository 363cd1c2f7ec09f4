"""Materialised stack and role completions, so state queries read rows instead of rules.

A completion row says that an educator met one of an agency's stacks (by lineage, so a
revision keeps its rows until re-evaluated) or lattice roles when last evaluated, since when,
and until when the credentials that count keep it met. A row exists only while the educator
meets it, so the table grows with completions, not with educators times rules.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.agencies import Educator, EducatorIdentifier
from storage.models.base import Base, utcnow
from storage.models.issuing import Credential, CredentialEvent, CredentialRecipient

# --- indexes the state queries need on other areas' tables --------------------------------
# "Who holds achievement A on date D" walks credential -> recipient -> educator identifier ->
# educator for every credential of A; covering indexes keep each step inside the index
# (PostgreSQL index-only scans) instead of a random heap read per row.
Index(
    "ix_credentials_achievement_cover",
    Credential.achievement_id,
    Credential.id,
    postgresql_include=["valid_from", "valid_until", "awarded_date"],
)
Index(
    "ix_credential_recipients_credential_lookup",
    CredentialRecipient.credential_id,
    CredentialRecipient.lookup_key,
)
Index(
    "ix_educator_identifiers_lookup_educator",
    EducatorIdentifier.lookup_key,
    EducatorIdentifier.educator_id,
)
Index("ix_educators_agency_id_id", Educator.agency_id, Educator.id, postgresql_include=["district"])

# Status changes are a small part of the event log (mostly `issued`): state queries probe
# them for every credential they consider, and bulk evaluation reads them all.
STATUS_EVENTS = ("revoked", "suspended", "unsuspended")
_STATUS = CredentialEvent.event_type.in_(STATUS_EVENTS)
Index(
    "ix_credential_events_status",
    CredentialEvent.credential_id,
    CredentialEvent.id,
    postgresql_where=_STATUS,
    sqlite_where=_STATUS,
)


class Completion(Base):
    __tablename__ = "completions"
    __table_args__ = (
        # "Expiring soon": the agency's completions by the date they lapse.
        Index("ix_completions_expiring", "agency_id", "expires_at"),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    # "stack" (target_id = the stack's lineage id) or "role" (target_id = the role's id).
    target_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    educator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("educators.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The stack revision (or role) whose rule was applied.
    rule_id: Mapped[uuid.UUID]
    # When the rule became satisfied: the date the credential that completed it started to count.
    completed_at: Mapped[datetime | None]
    # When it stops being met if nothing changes: a counted credential expires, leaves the
    # window or loses its approval, and what is left no longer satisfies the rule.
    expires_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]


class CompletionRun(Base):
    """The last evaluation of one stack or role for all of an agency's educators."""

    __tablename__ = "completion_runs"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    target_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    rule_id: Mapped[uuid.UUID]
    evaluated_at: Mapped[datetime]
    educators: Mapped[int] = mapped_column(Integer)
    met: Mapped[int] = mapped_column(Integer)


class StaleEducator(Base):
    """An educator whose completions may be out of date: one of her credentials changed."""

    __tablename__ = "stale_educators"

    educator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("educators.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
