"""The app's batch runner: a batch confirmed before a restart is issued after it, from where
the stopped process left off, each row once."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.issue_batches import BatchRunner
from app.settings import Settings
from app.state import build_state
from badges.issuing.csv_batch import check_rows, read_csv
from badges.issuing.issue_batches import (
    claim_rows,
    confirm,
    create_batch,
    get_batch,
    progress,
)
from storage.models import Credential, IssueBatchRow
from storage.session import transaction
from tests.conftest import Provider


async def test_a_restarted_service_resumes_a_confirmed_batch_and_issues_each_row_once(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    achievement = await provider.create_achievement(name="Close Reading")
    text = "email,name\n" + "".join(f"t{n}@example.org,Teacher {n}\n" for n in range(60))
    async with transaction(sessions) as session:
        preview = await check_rows(
            session,
            settings.public_url,
            provider.issuer,
            read_csv(text.encode(), whole_batch_achievement=True),
            uuid.UUID(achievement["id"]),
        )
        batch = await create_batch(
            session,
            provider.issuer,
            preview,
            filename="cohort.csv",
            created_by="test",
            whole_batch=uuid.UUID(achievement["id"]),
        )
    async with transaction(sessions) as session:
        assert await confirm(session, provider.issuer, batch.id, actor="staff")
    # The process that confirmed it stopped with a chunk claimed and nothing issued.
    async with transaction(sessions) as session:
        assert await claim_rows(session, batch.id, limit=20) is not None

    state = build_state(settings)
    runner = BatchRunner(state)
    try:
        await runner.resume()
        await runner.wait()
    finally:
        await runner.close()
        await state.close()

    async with sessions() as session:
        done = await progress(session, await get_batch(session, provider.issuer, batch.id))
        issued = await session.scalar(
            select(func.count())
            .select_from(Credential)
            .where(Credential.issuer_id == provider.issuer.id)
        )
        linked = await session.scalar(
            select(func.count(func.distinct(IssueBatchRow.credential_id))).where(
                IssueBatchRow.batch_id == batch.id
            )
        )
    assert (done.status, done.issued, done.failed) == ("done", 60, 0)
    assert issued == linked == 60
