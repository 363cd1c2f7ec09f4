"""The status check behind `badges.policy.foreign_status`: the service's verifier reads a stored
credential's `credentialStatus` from its issuer's status lists (fetched through the
verifier's guarded, max-age-honouring fetcher, and verified like any credential).

Only the status is read again (`Verifier.status_only`): the stored credential was verified
in full when it came in, and its bytes cannot have changed since; what can change is what
its issuer's lists say. Each list is verified once however many credentials it holds
(`BitstringStatusListChecker` remembers it by its bytes), so a sweep costs a parse and a
bit read per credential."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.state import ServiceState
from badges.policy.foreign_status import (
    Reading,
    StatusCheck,
    StatusSource,
)
from badges.policy.foreign_sweeps import Sweep, SweepRecord, sweep_agency
from badges.status.status_changes import Standing
from storage.models import Agency
from verification.inputs import InputError, read_presented
from verification.pipeline import Verifier
from verification.report import CheckStatus, Verdict

logger = logging.getLogger(__name__)

_DECIDED = {Verdict.REVOKED: Standing.REVOKED, Verdict.SUSPENDED: Standing.SUSPENDED}


def status_check(verifier: Verifier) -> StatusCheck:
    async def check(document: str) -> Reading | None:
        try:
            status = await verifier.status_only(read_presented(document))
        except InputError:
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


def foreign_sweep(state: ServiceState, agency_id: uuid.UUID) -> Sweep:
    """A sweep of the agency's credentials from elsewhere, with the service's verifier."""

    async def sweep() -> SweepRecord:
        return await sweep_agency(state.sessions, agency_id, status_source(state))

    return sweep


async def sweep_periodically(state: ServiceState, every: float) -> None:
    """Start each agency's sweep when it is due (`state.foreign_sweeps`), looking every
    `every` seconds (at most 30), for the life of the service; a sweep that fails is logged
    and tried again when next due."""
    if every <= 0:
        raise ValueError("the sweep period must be positive")
    while True:
        try:
            async with state.sessions() as session:
                agencies = list(await session.scalars(select(Agency.id)))
            for agency_id in agencies:
                state.foreign_sweeps.start_if_due(agency_id, foreign_sweep(state, agency_id))
        except SQLAlchemyError:
            logger.exception("could not list the agencies to sweep")
        await asyncio.sleep(min(every, 30.0))
