"""The status check behind `badges.policy.foreign_status`: the service's verifier reads a stored
credential's `credentialStatus` from its issuer's status lists (fetched through the
verifier's guarded, max-age-honouring fetcher, and verified like any credential)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.state import ServiceState
from badges.policy.foreign_status import (
    Reading,
    StatusCheck,
    StatusSource,
)
from badges.status.status_changes import Standing
from verification.inputs import InputError, read_presented
from verification.pipeline import Verifier
from verification.report import CheckStatus, Verdict

_DECIDED = {Verdict.REVOKED: Standing.REVOKED, Verdict.SUSPENDED: Standing.SUSPENDED}


def status_check(verifier: Verifier) -> StatusCheck:
    async def check(document: str) -> Reading | None:
        try:
            report = await verifier.verify(read_presented(document))
            status = report.check("status")
        except (InputError, KeyError):
            return None
        if status.status in (CheckStatus.PASSED, CheckStatus.WARNING):
            return Reading(Standing.ACTIVE, status.message)
        standing = _DECIDED.get(status.outcome) if status.outcome else None
        if status.status is CheckStatus.FAILED and standing is not None:
            return Reading(standing, status.message)
        # No entry, a list that cannot be read, a proof that no longer verifies: unknown.
        return None

    return check


def status_source(state: ServiceState, asked_at: datetime | None = None) -> StatusSource:
    """Re-establishes the status of credentials from elsewhere for a question asked now
    (or at `asked_at`, the moment the route took as "now")."""
    return StatusSource(
        status_check(state.verifier), state.foreign_status, asked_at or datetime.now(UTC)
    )
