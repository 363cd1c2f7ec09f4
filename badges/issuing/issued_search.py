"""What an issuer has issued: its credentials newest first, searched and filtered, a page at
a time (keyset pagination on `(issued_at, id)`, so a page costs the same however deep it is
and a credential issued while a client pages never shifts one into the next page twice).

A recipient's e-mail address is never stored in plain (see `formats.identity`): a search
text that is an e-mail address is matched whole, through the keyed lookup hash; any other
text matches part of a recipient's name (written unhashed in the credential) or of the
achievement's name.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.status.status_changes import last_status_event
from formats.identity import lookup_key, normalise_email
from storage.models import Achievement, Credential, CredentialRecipient, Issuer

MAX_TEXT: Final = 200
MAX_PAGE: Final = 500
# Days a query may name: far enough either way for any credential, near enough that a day
# after the last one is still a date.
_YEARS: Final = range(1900, 9001)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class IssuedStatus(StrEnum):
    """One status per credential; the first that holds wins: revoked, suspended, expired."""

    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IssuedFilter:
    text: str | None = None
    # Any revision of this achievement (an edit after issuing makes a new revision).
    achievement_id: uuid.UUID | None = None
    status: IssuedStatus | None = None
    issued_from: date | None = None  # inclusive, UTC days
    issued_until: date | None = None  # inclusive


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last credential's issue time and id."""

    issued_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class IssuedItem:
    id: uuid.UUID
    achievement_id: uuid.UUID | None
    achievement_name: str | None
    recipient_name: str | None
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    status: IssuedStatus


@dataclass(frozen=True)
class IssuedPage:
    items: list[IssuedItem]
    # Where the next page starts; None on the last page.
    next: Position | None


def check_filter(criteria: IssuedFilter) -> None:
    """Misuse the caller can fix, refused before any query runs."""
    if criteria.text is not None and len(criteria.text) > MAX_TEXT:
        raise InvalidInput(f"q is longer than {MAX_TEXT} characters", field=("q",))
    if criteria.text is not None and _CONTROL.search(criteria.text):
        # Names hold none; PostgreSQL text cannot even hold NUL.
        raise InvalidInput("q must not contain control characters", field=("q",))
    for day, field in (
        (criteria.issued_from, "issuedFrom"),
        (criteria.issued_until, "issuedUntil"),
    ):
        if day is not None and day.year not in _YEARS:
            raise InvalidInput(f"{field} must fall in the years 1900 to 9000", field=(field,))
    if (
        criteria.issued_from is not None
        and criteria.issued_until is not None
        and criteria.issued_from > criteria.issued_until
    ):
        raise InvalidInput("issuedFrom is after issuedUntil", field=("issuedFrom",))


async def search_issued(
    session: AsyncSession,
    issuer: Issuer,
    criteria: IssuedFilter,
    *,
    lookup_secret: bytes,
    at: datetime,
    after: Position | None = None,
    limit: int = 50,
) -> IssuedPage:
    """One page of `issuer`'s credentials matching `criteria`, newest first, with their
    status at `at` (a client paging keeps the first page's `at`, so statuses agree)."""
    check_filter(criteria)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", field=("limit",))
    status = _status_at(at)
    name = (
        select(CredentialRecipient.identity_hash)
        .where(
            CredentialRecipient.credential_id == Credential.id,
            CredentialRecipient.identity_type == "name",
        )
        .order_by(CredentialRecipient.position)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            Credential.id,
            Credential.achievement_id,
            Achievement.name,
            name,
            Credential.issued_at,
            Credential.valid_from,
            Credential.valid_until,
            status,
        )
        .outerjoin(Achievement, Achievement.id == Credential.achievement_id)
        .where(Credential.issuer_id == issuer.id, *_conditions(issuer, criteria, lookup_secret))
        .order_by(Credential.issued_at.desc(), Credential.id.desc())
        .limit(limit + 1)
    )
    if criteria.status is not None:
        query = query.where(status == criteria.status.value)
    if after is not None:
        query = query.where(
            or_(
                Credential.issued_at < after.issued_at,
                and_(Credential.issued_at == after.issued_at, Credential.id < after.id),
            )
        )
    rows = (await session.execute(query)).all()
    items = [
        IssuedItem(
            id=row[0],
            achievement_id=row[1],
            achievement_name=row[2],
            recipient_name=row[3],
            issued_at=row[4],
            valid_from=row[5],
            valid_until=row[6],
            status=IssuedStatus(row[7]),
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return IssuedPage(items, Position(items[-1].issued_at, items[-1].id) if more else None)


def _status_at(at: datetime) -> ColumnElement[str]:
    latest = last_status_event(at)
    return case(
        (latest == "revoked", literal(IssuedStatus.REVOKED.value)),
        (latest == "suspended", literal(IssuedStatus.SUSPENDED.value)),
        (
            and_(Credential.valid_until.is_not(None), Credential.valid_until <= at),
            literal(IssuedStatus.EXPIRED.value),
        ),
        else_=literal(IssuedStatus.ACTIVE.value),
    )


def _conditions(
    issuer: Issuer, criteria: IssuedFilter, lookup_secret: bytes
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if criteria.achievement_id is not None:
        lineage = (
            select(Achievement.lineage_id)
            .where(Achievement.id == criteria.achievement_id)
            .scalar_subquery()
        )
        found.append(
            Credential.achievement_id.in_(
                select(Achievement.id).where(
                    Achievement.issuer_id == issuer.id, Achievement.lineage_id == lineage
                )
            )
        )
    if criteria.issued_from is not None:
        found.append(Credential.issued_at >= _start_of(criteria.issued_from))
    if criteria.issued_until is not None:
        found.append(Credential.issued_at < _start_of(criteria.issued_until + timedelta(days=1)))
    text = (criteria.text or "").strip()
    if text:
        found.append(_matching(issuer, text, lookup_secret))
    return found


def _matching(issuer: Issuer, text: str, lookup_secret: bytes) -> ColumnElement[bool]:
    if "@" in text:
        key = lookup_key(lookup_secret, "emailAddress", normalise_email(text))
        return Credential.id.in_(
            select(CredentialRecipient.credential_id).where(CredentialRecipient.lookup_key == key)
        )
    pattern = "%" + _escaped(text.lower()) + "%"
    named = exists().where(
        CredentialRecipient.credential_id == Credential.id,
        CredentialRecipient.identity_type == "name",
        func.lower(CredentialRecipient.identity_hash).like(pattern, escape="\\"),
    )
    achievements = select(Achievement.id).where(
        Achievement.issuer_id == issuer.id,
        func.lower(Achievement.name).like(pattern, escape="\\"),
    )
    return or_(named, Credential.achievement_id.in_(achievements))


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
