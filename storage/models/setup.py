"""The first-run setup link: how the first person reaches the console before anyone has an
account to sign in with."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class SetupToken(Base):
    """A one-time setup link printed at start-up while no staff account exists.

    Only its hash is kept: the link itself is on the operator's log and nowhere else.
    `used_at` is set by the one conditional UPDATE that spends it.
    """

    __tablename__ = "console_setup_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
