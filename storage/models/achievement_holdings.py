"""Which of an agency's educators a credential row names, by achievement: the index the
"holders of achievement A" query reads in educator order, so a page of 50 stops after about
50 holders instead of joining every credential of A to its educators first.

One row per (credential row, educator it names): a credential issued here (its recipients'
lookup keys matched to the educator's identifiers), one the agency submitted for her
(accepted, of a known achievement) or one her apps pushed through the OB 3.0 API (matched
by lookup key). It says only who is linked to which row: standing, dates and districts are
read from the source rows at query time, so "as of" answers and revocations are unchanged.
Written in the same transaction as the link appears (`badges.status.achievement_holdings`);
wallet copies are indexed like any credential and left out by the query, as before.
"""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK

_ISSUED = text("credential_id IS NOT NULL")
_SUBMITTED = text("submitted_id IS NOT NULL")
_HELD = text("held_id IS NOT NULL")


class AchievementHolding(Base):
    """A credential row (exactly one of `credential_id`, `submitted_id`, `held_id`) naming
    one of the agency's educators, with the achievement it is of: this service's achievement
    id for a credential issued here, the achievement IRI for one from elsewhere."""

    __tablename__ = "achievement_holdings"
    __table_args__ = (
        CheckConstraint(
            "CAST(credential_id IS NOT NULL AS INTEGER) + CAST(submitted_id IS NOT NULL AS INTEGER)"
            " + CAST(held_id IS NOT NULL AS INTEGER) = 1",
            name="one_source",
        ),
        # Holders of one achievement in educator order: one range of each index.
        Index(
            "ix_achievement_holdings_own",
            "agency_id",
            "achievement_id",
            "educator_id",
            postgresql_include=["credential_id"],
        ),
        Index(
            "ix_achievement_holdings_iri",
            "agency_id",
            "achievement_iri",
            "educator_id",
            postgresql_include=["submitted_id", "held_id"],
        ),
        # Her links (an educator's cascade, the rows of one candidate, "any achievement").
        Index("ix_achievement_holdings_educator", "educator_id", "agency_id"),
        # One link per source row and educator, so writing one twice is harmless.
        Index(
            "uq_achievement_holdings_credential",
            "credential_id",
            "educator_id",
            unique=True,
            postgresql_where=_ISSUED,
            sqlite_where=_ISSUED,
        ),
        Index(
            "uq_achievement_holdings_submitted",
            "submitted_id",
            "educator_id",
            unique=True,
            postgresql_where=_SUBMITTED,
            sqlite_where=_SUBMITTED,
        ),
        Index(
            "uq_achievement_holdings_held",
            "held_id",
            "educator_id",
            unique=True,
            postgresql_where=_HELD,
            sqlite_where=_HELD,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    educator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("educators.id", ondelete="CASCADE"))
    # Of a credential issued here (NULL when it names no achievement of this service).
    achievement_id: Mapped[uuid.UUID | None]
    # Of a submitted or pushed credential.
    achievement_iri: Mapped[str | None] = mapped_column(String(2000))
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE")
    )
    submitted_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submitted_credentials.id", ondelete="CASCADE")
    )
    held_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("held_credentials.id", ondelete="CASCADE")
    )
