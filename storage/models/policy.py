"""State policy beyond stacks: the state's own purposes, LEAs and the options they choose,
criteria other than MCs, hold harmless, vetting, and approved providers.

History is append-only here as everywhere: a dated row is closed (its `valid_until` or
`withdrawn_at` set once, to the time of the event) and never rewritten, so an answer "as of"
a past date keeps the value it had.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

_OPEN = text("valid_until IS NULL")


class AgencyPurpose(Base):
    """A purpose of the state's own, beside the six policy areas every agency has."""

    __tablename__ = "agency_purposes"
    __table_args__ = (UniqueConstraint("agency_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class District(Base):
    """A local education agency (LEA). `code` is what educators' memberships
    (`EducatorDistrict.district`) name."""

    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyOption(Base):
    """An option an agency offers its LEAs for a purpose ("license renewal, option 2: 3 MCs
    in 5 years") and the stack whose current rule it applies."""

    __tablename__ = "policy_options"
    __table_args__ = (UniqueConstraint("agency_id", "purpose", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    stack_lineage_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DistrictOptionChoice(Base):
    """A period in which an LEA follows one option for a purpose. A new choice closes the
    open period at its own start; periods of one LEA and purpose never overlap."""

    __tablename__ = "district_option_choices"
    __table_args__ = (
        Index("ix_district_option_choices_lookup", "district_id", "purpose", "valid_from"),
        Index(
            "uq_district_option_choices_open",
            "district_id",
            "purpose",
            unique=True,
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    district_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    option_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_options.id", ondelete="RESTRICT")
    )
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgencyCriterion(Base):
    """A criterion other than an MC that a lattice role may require (National Board
    certification, an interview, a legacy designation): rules name it by `key`."""

    __tablename__ = "agency_criteria"
    __table_args__ = (UniqueConstraint("agency_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EducatorCriterion(Base):
    """The agency's record that an educator meets a criterion from `valid_from` (until
    `valid_until`, or until it was withdrawn)."""

    __tablename__ = "educator_criteria"
    __table_args__ = (Index("ix_educator_criteria_educator", "educator_id", "criterion_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    educator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("educators.id", ondelete="CASCADE"))
    criterion_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency_criteria.id", ondelete="RESTRICT")
    )
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class RoleHold(Base):
    """Hold harmless: an educator who held a lattice role another way before (a legacy
    designation, a role earned under an earlier lattice) keeps it from `valid_from`,
    whatever its rule says."""

    __tablename__ = "role_holds"
    __table_args__ = (Index("ix_role_holds_educator", "educator_id", "role_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    educator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("educators.id", ondelete="CASCADE"))
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lattice_roles.id", ondelete="CASCADE"))
    basis: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class VettingRequest(Base):
    """A request that an agency vet an MC for a purpose: from a provider (its own MC), a
    teacher (an outside MC she earned) or the agency's own staff. Its `state` moves
    submitted → in_review → approved | declined (or withdrawn); an approval becomes an
    `Approval` with dates (`approval_id`)."""

    __tablename__ = "vetting_requests"
    __table_args__ = (Index("ix_vetting_requests_queue", "agency_id", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    achievement_iri: Mapped[str] = mapped_column(String(2000))
    name: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str | None] = mapped_column(String(500))
    issuer_iri: Mapped[str | None] = mapped_column(String(2000))
    url: Mapped[str | None] = mapped_column(String(2000))
    # The credential a teacher sent to show the MC (JSON or a VC-JWT), as sent.
    credential: Mapped[str | None] = mapped_column(Text)
    statement: Mapped[str | None] = mapped_column(Text)
    requested_by_kind: Mapped[str] = mapped_column(String(16))  # provider, teacher, agency
    requested_by: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    approval_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("approvals.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class VettingReview(Base):
    """One reviewer's scores against the rubric (kept as it was when scored)."""

    __tablename__ = "vetting_reviews"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vetting_requests.id", ondelete="CASCADE"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    rubric: Mapped[dict[str, Any]]
    scores: Mapped[dict[str, Any]]
    recommendation: Mapped[str] = mapped_column(String(16))  # approve, decline, revise
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VettingEvent(Base):
    """The audit trail of a vetting request: every step, who took it, when."""

    __tablename__ = "vetting_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vetting_requests.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovedProvider(Base):
    """An issuer an agency approved as a provider over a period: together, the agency's
    issuer registry, which the verifier reports ("a provider Texas has approved")."""

    __tablename__ = "approved_providers"
    __table_args__ = (Index("ix_approved_providers_issuer", "issuer_iri"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    issuer_iri: Mapped[str] = mapped_column(String(2000))
    name: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
