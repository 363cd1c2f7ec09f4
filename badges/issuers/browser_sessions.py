"""Browser sessions after a sign-in with an e-mailed code, for teachers
(`badges.wallets.teachers`) and console staff (`badges.issuers.staff`): a random cookie token
kept only as its SHA-256, a CSRF token for the session's forms, an expiry, and the date it
was signed out. Each has its own table; the rules are one. (Here because `badges.issuers`
is the lowest layer both may import.)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffSession, TeacherSession

SessionRow = TypeVar("SessionRow", StaffSession, TeacherSession)


@dataclass(frozen=True)
class NewSession:
    """What the cookies carry: the token (stored only hashed) and the CSRF token."""

    token: str
    csrf_token: str
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_browser_session(
    session: AsyncSession, row: StaffSession | TeacherSession, lifetime: timedelta
) -> NewSession:
    """Store `row` (its owner set) with a new token, CSRF token and expiry."""
    token = secrets.token_urlsafe(32)
    row.token_hash = _token_hash(token)
    row.csrf_token = secrets.token_urlsafe(24)
    row.expires_at = datetime.now(UTC) + lifetime
    session.add(row)
    await session.flush()
    return NewSession(token, row.csrf_token, row.expires_at)


async def live_browser_session(
    session: AsyncSession, table: type[SessionRow], token: str | None
) -> SessionRow | None:
    """The row of `table` that `token` opens; None if there is none, it expired or was
    signed out."""
    if not token:
        return None
    row = await session.scalar(select(table).where(table.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    return row


async def close_browser_session(session: AsyncSession, row: StaffSession | TeacherSession) -> None:
    row.revoked_at = datetime.now(UTC)
    await session.flush()
