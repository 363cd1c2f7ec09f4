"""What counting an educator's credentials needs beyond the credentials themselves: the
status this service has observed of credentials issued elsewhere, and which credentials
issued here are wallet copies of another.

Both are facts recorded once and never rewritten, so that an answer "as of" a date stays
the answer it was (`badges.policy.foreign_status`, `badges.wallets.wallet_credentials`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ForeignStatusObservation(Base):
    """A change in the status of a credential issued elsewhere, as this service saw it.

    Append-only: one row each time a re-check finds a status other than the last one seen
    (the first row only when it is not "active"). `observed_at` is when it was first seen;
    an answer "as of" an earlier date does not see it. Exactly one of `submitted_id` (a
    credential an agency submitted) and `held_id` (one a teacher pushed through the OB 3.0
    API) is set: each stored copy of the document is observed on its own.
    """

    __tablename__ = "foreign_status_observations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    submitted_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submitted_credentials.id", ondelete="CASCADE"), index=True
    )
    held_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("held_credentials.id", ondelete="CASCADE"), index=True
    )
    # "active", "revoked" or "suspended" (`badges.status.status_changes.Standing`).
    status: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the issuer's status list said, in the verifier's words.
    detail: Mapped[str] = mapped_column(Text, default="")


class CredentialCopy(Base):
    """A wallet copy (`badges.wallets.wallet_credentials`): the same award as `original_id`, bound
    to the wallet's DID and carrying the original's status entries. Never counted itself."""

    __tablename__ = "credential_copies"

    copy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True
    )
    original_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
