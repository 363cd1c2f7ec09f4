"""Materialised stack and role completions, so state queries read rows instead of rules.

A completion period says that an educator held one of an agency's stacks (by lineage, so a
revision keeps its periods until re-evaluated) or lattice roles from one moment until
another: the table is the history of who held what, appended to and never rewritten. Rows
exist only for periods she held something, so the table grows with completions (and their
changes), not with educators times rules.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
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
Index("ix_educators_agency_id_id", Educator.agency_id, Educator.id)

# Status changes are a small part of the event log (mostly `issued`): state queries probe
# them for every credential they consider, and bulk evaluation reads them all.
STATUS_EVENTS = ("revoked", "suspended", "unsuspended")
_OPEN = text("ended_at IS NULL")
_STATUS = CredentialEvent.event_type.in_(STATUS_EVENTS)
Index(
    "ix_credential_events_status",
    CredentialEvent.credential_id,
    CredentialEvent.id,
    postgresql_where=_STATUS,
    sqlite_where=_STATUS,
)


class Completion(Base):
    """One period during which an educator held one of an agency's stacks (by lineage) or
    lattice roles: from `started_at` until `ended_at` (open: NULL), or until `expires_at`
    when that comes first.

    History is append-only: a period is written once and later only closed, at the time of
    the event that ends it (`end_reason`: a credential revoked or suspended then, the rule
    revised then, the predicted lapse, ...), never moved or deleted. A change that leaves her
    a holder closes the period and opens one that `continues` it.
    """

    __tablename__ = "completion_periods"
    __table_args__ = (
        # Holders on a date: one target's periods in educator order, inside the index.
        Index(
            "ix_completion_periods_holders",
            "agency_id",
            "target_kind",
            "target_id",
            "educator_id",
            postgresql_include=["started_at", "ended_at", "expires_at", "completed_at"],
        ),
        # At most one open period per educator and target: the one a run compares with.
        Index(
            "uq_completion_periods_open",
            "agency_id",
            "target_kind",
            "target_id",
            "educator_id",
            unique=True,
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        # "Expiring soon": the agency's completions by the date they lapse.
        Index("ix_completion_periods_expiring", "agency_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    # "stack" (target_id = the stack's lineage id) or "role" (target_id = the role's id).
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[uuid.UUID]
    educator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("educators.id", ondelete="CASCADE"), index=True
    )
    # The stack revision (or role) whose rule was applied.
    rule_id: Mapped[uuid.UUID]
    # When the rule became satisfied, as the rule says: the date the credential that
    # completed it started to count.
    completed_at: Mapped[datetime]
    # When it stops being met if nothing changes: a counted credential expires, leaves the
    # window or loses its approval, and what is left no longer satisfies the rule.
    expires_at: Mapped[datetime | None]
    # The period: she holds it from started_at, until ended_at (and before expires_at).
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # Why it ended: lapsed, revoked, suspended, rule_revised, credential, re_evaluated.
    end_reason: Mapped[str | None] = mapped_column(String(16))
    # What ended it, when known: the credential's IRI.
    end_detail: Mapped[str | None] = mapped_column(String(2000))
    # True when it takes over from a period closed at the same instant (she held it
    # throughout): not a new completion for reports.
    continues: Mapped[bool] = mapped_column(Boolean, default=False)
    # The run that wrote the period, and the one that closed it.
    evaluated_at: Mapped[datetime]
    closed_by_run_at: Mapped[datetime | None]


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
