"""The background work of confirmed CSV batches: each batch's rows issued a chunk at a time
by an asyncio task this app owns, resumed when the service starts again.

The once-only rules are the domain's (`badges.issuing.csv_batch`): a chunk is claimed in a
transaction of its own, then issued with its rows' outcomes in the credentials' transaction.
A chunk whose issuing raised is settled as failed (nothing of it was stored); a task
cancelled at shutdown leaves its claim, released at the next start and issued again (each
row's idempotency key replays a credential already stored).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import joinedload

from app.state import ServiceState
from badges.issuing.issue_batches import (
    PREVIEW_KEPT,
    batches_issuing,
    claim_rows,
    discard_unconfirmed,
    fail_claimed,
    finish_if_done,
    issue_claimed,
    release_claims,
)
from storage.models import IssueBatch, Issuer
from storage.session import transaction

logger = logging.getLogger("lattice.issue_batches")


class BatchRunner:
    """One task per batch being issued in this process, held until it ends."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._resuming: asyncio.Task[None] | None = None

    def start(self, batch_id: uuid.UUID) -> None:
        """Issue the batch's pending rows in the background (no second task for one batch)."""
        running = self._tasks.get(batch_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run(batch_id), name=f"issue-batch-{batch_id}")
        self._tasks[batch_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(batch_id, None))

    def resume_soon(self) -> None:
        """`resume` in the background: the service answers at once."""
        self._resuming = asyncio.create_task(self.resume(), name="issue-batches-resume")

    async def resume(self) -> None:
        """At start-up: take back the claims of the process that stopped, and go on (and
        delete uploads left unconfirmed too long, as each new upload does)."""
        async with transaction(self._state.sessions) as session:
            await discard_unconfirmed(session, datetime.now(UTC) - PREVIEW_KEPT)
        async with transaction(self._state.sessions) as session:
            batch_ids = await batches_issuing(session)
        for batch_id in batch_ids:
            async with transaction(self._state.sessions) as session:
                await release_claims(session, batch_id)
            self.start(batch_id)

    async def wait(self) -> None:
        """Until every batch started so far has ended (tests, and an orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        if self._resuming is not None:
            self._resuming.cancel()
            await asyncio.gather(self._resuming, return_exceptions=True)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _run(self, batch_id: uuid.UUID) -> None:
        sessions = self._state.sessions
        while True:
            async with transaction(sessions) as session:
                claim = await claim_rows(session, batch_id)
            if claim is None:
                async with transaction(sessions) as session:
                    await finish_if_done(session, batch_id)
                return
            try:
                async with transaction(sessions) as session:
                    batch = await session.get(IssueBatch, batch_id)
                    if batch is None:
                        return
                    issuer = await session.get(
                        Issuer, batch.issuer_id, options=[joinedload(Issuer.keys)]
                    )
                    if issuer is None:
                        return
                    await issue_claimed(session, self._state.issuing, issuer, batch_id, claim)
            except Exception:  # the rows say so; the service goes on
                logger.exception("issuing a chunk of batch %s failed", batch_id)
                async with transaction(sessions) as session:
                    await fail_claimed(
                        session, batch_id, claim, "not issued: an error of the service (logged)"
                    )


def runner_of(app_state: object) -> BatchRunner:
    """The app's runner (made on first use when the app's lifespan did not make one)."""
    runner: BatchRunner | None = getattr(app_state, "issue_batches", None)
    if runner is None:
        runner = BatchRunner(app_state.lattice)  # type: ignore[attr-defined]
        app_state.issue_batches = runner  # type: ignore[attr-defined]
    return runner
