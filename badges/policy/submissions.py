"""Credentials from other issuers that an agency submits for an educator.

The transport layer verifies each one first (the verifier pipeline, with the educator's
identifiers as the recipient check); this module keeps the outcome. A rejected credential
is stored with its report, for the record, and is never counted by an evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from badges.status.achievement_holdings import submission_recorded
from badges.status.completion_marks import educators_changed
from storage.models import Agency, Educator, SubmittedCredential


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


async def record_submission(
    session: AsyncSession,
    agency: Agency,
    educator: Educator,
    *,
    content: str,
    credential: Mapping[str, Any] | None,
    verdict: str,
    report: Mapping[str, Any],
    accepted: bool,
) -> SubmittedCredential:
    credential = credential or {}
    subject = _first(credential.get("credentialSubject")) or {}
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    issuer = credential.get("issuer")
    row = SubmittedCredential(
        agency_id=agency.id,
        educator_id=educator.id,
        content=content,
        credential_iri=credential.get("id") if isinstance(credential.get("id"), str) else None,
        issuer_iri=issuer.get("id") if isinstance(issuer, Mapping) else issuer,
        achievement_iri=(achievement.get("id") if isinstance(achievement, Mapping) else None),
        earned_at=_moment(
            credential.get("awardedDate")
            or credential.get("validFrom")
            or credential.get("issuanceDate")
        ),
        valid_until=_moment(credential.get("validUntil") or credential.get("expirationDate")),
        verdict=verdict,
        accepted=accepted,
        report=dict(report),
    )
    session.add(row)
    await educators_changed(session, agency.id, [educator.id])
    await session.flush()
    await submission_recorded(session, row)
    return row


def content_of(item: Mapping[str, Any] | str) -> str:
    return item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
