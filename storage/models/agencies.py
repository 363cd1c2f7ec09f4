"""State agencies: their vetted lists, stacks and career lattices, educators, submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow


class Agency(Base):
    """A state education agency (or a district). It signs as its own issuer profile."""

    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    issuer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("issuers.id", ondelete="RESTRICT"), unique=True
    )
    state: Mapped[str] = mapped_column(String(2))
    # The rubric its reviewers score vetting requests against; None: the default rubric.
    vetting_rubric: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Approval(Base):
    """An agency's decision on one achievement for one purpose, effective over a period."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_lookup", "agency_id", "achievement_iri", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    achievement_iri: Mapped[str] = mapped_column(String(2000))
    purpose: Mapped[str] = mapped_column(String(32))
    # proposed (awaiting a decision), approved or declined.
    decision: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[datetime | None]
    effective_until: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Stack(Base):
    """One revision of a stack rule; revisions of one stack share `lineage_id`."""

    __tablename__ = "stacks"
    __table_args__ = (UniqueConstraint("lineage_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    lineage_id: Mapped[uuid.UUID] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[dict[str, Any]]
    window_days: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(32))
    # When a purpose's approval is asked of a credential: "earned" (approved on the day it
    # was earned keeps it counting) or "evaluation" (approved on the evaluation date).
    approval_at: Mapped[str] = mapped_column(String(16), default="earned", server_default="earned")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]


class Lattice(Base):
    """An agency's career lattice: roles reached by rules over stacks, in an order."""

    __tablename__ = "lattices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[LatticeRole]] = relationship(
        back_populates="lattice",
        order_by="LatticeRole.position",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class LatticeRole(Base):
    __tablename__ = "lattice_roles"
    __table_args__ = (UniqueConstraint("lattice_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lattice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lattices.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[dict[str, Any]]
    # Keys of the roles this one comes before on the lattice.
    precedes: Mapped[list[Any]]

    lattice: Mapped[Lattice] = relationship(back_populates="roles")


class Educator(Base):
    """An educator an agency knows; identified only through keyed hashes of identifiers."""

    __tablename__ = "educators"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identifiers: Mapped[list[EducatorIdentifier]] = relationship(
        back_populates="educator", lazy="selectin", cascade="all, delete-orphan"
    )


_OPEN_MEMBERSHIP = text("valid_until IS NULL")


class EducatorDistrict(Base):
    """One period of an educator's membership of a district: from `valid_from` (NULL: from
    before anything was recorded) until `valid_until` (NULL: still). A move closes the open
    period at the move and opens the next; periods of one educator never overlap, so "her
    district on date D" has one answer and a report can attribute each event to the district
    she was in then."""

    __tablename__ = "educator_districts"
    __table_args__ = (
        Index(
            "ix_educator_districts_educator",
            "educator_id",
            "valid_from",
            postgresql_include=["district", "valid_until"],
        ),
        Index(
            "ix_educator_districts_district",
            "district",
            "educator_id",
            postgresql_include=["valid_from", "valid_until"],
        ),
        Index(
            "uq_educator_districts_open",
            "educator_id",
            unique=True,
            postgresql_where=_OPEN_MEMBERSHIP,
            sqlite_where=_OPEN_MEMBERSHIP,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    educator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("educators.id", ondelete="CASCADE"))
    district: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class EducatorIdentifier(Base):
    __tablename__ = "educator_identifiers"
    __table_args__ = (UniqueConstraint("educator_id", "lookup_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    educator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("educators.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # HMAC-SHA256 of the normalised identifier under a key derived from the master key.
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)

    educator: Mapped[Educator] = relationship(back_populates="identifiers")


class SubmittedCredential(Base):
    """A credential from another issuer an agency submitted, verified on entry."""

    __tablename__ = "submitted_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    educator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("educators.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(Text)
    credential_iri: Mapped[str | None] = mapped_column(String(2000))
    issuer_iri: Mapped[str | None] = mapped_column(String(2000))
    achievement_iri: Mapped[str | None] = mapped_column(String(2000), index=True)
    earned_at: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    verdict: Mapped[str] = mapped_column(String(32))
    accepted: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
