"""Marking educators whose materialised completions may be out of date.

Whatever changes what an educator holds (a credential issued, revoked, suspended or
unsuspended; a submission recorded; an identifier registered) calls one of these in the same
transaction. Marking is one small write; the re-evaluation happens later, in bulk
(`stack_completions.refresh_stale`), before the next query that reads completions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import chunks, upsert
from storage.models import CredentialRecipient, Educator, EducatorIdentifier, StaleEducator


async def credentials_changed(session: AsyncSession, credential_ids: Sequence[uuid.UUID]) -> int:
    """Mark every educator (of any agency) these credentials name; how many were marked."""
    found: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in chunks(list(credential_ids)):
        rows = await session.execute(
            select(Educator.id, Educator.agency_id)
            .join(EducatorIdentifier, EducatorIdentifier.educator_id == Educator.id)
            .join(
                CredentialRecipient, CredentialRecipient.lookup_key == EducatorIdentifier.lookup_key
            )
            .where(CredentialRecipient.credential_id.in_(list(chunk)))
            .distinct()
        )
        found.update((educator_id, agency_id) for educator_id, agency_id in rows)
    await _mark(session, found)
    return len(found)


async def educators_of_agencies_changed(
    session: AsyncSession, educators: dict[uuid.UUID, uuid.UUID]
) -> None:
    """Mark these educators (id -> agency id), of any agency."""
    if educators:
        await _mark(session, educators)


async def educators_changed(
    session: AsyncSession, agency_id: uuid.UUID, educator_ids: Sequence[uuid.UUID]
) -> None:
    await _mark(session, dict.fromkeys(educator_ids, agency_id))


async def _mark(session: AsyncSession, educators: dict[uuid.UUID, uuid.UUID]) -> None:
    # A newer mark replaces an older one, so a refresh that read the old one keeps the new.
    now = datetime.now(UTC)
    rows = [
        {"educator_id": educator_id, "agency_id": agency_id, "marked_at": now}
        for educator_id, agency_id in educators.items()
    ]
    await upsert(session, StaleEducator.__table__, rows, ["educator_id"])  # type: ignore[arg-type]
