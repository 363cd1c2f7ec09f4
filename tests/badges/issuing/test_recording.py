"""Recording a credential's rows: kept by `record_credential`, written by `flush_issued`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.clients import create_client
from badges.issuing.issuing import flush_issued, record_credential
from badges.issuing.signing import SignedCredential
from storage.models import Credential, CredentialEvent, Issuer
from storage.session import transaction


async def _record(session: AsyncSession, issuer: Issuer) -> uuid.UUID:
    client = (await create_client(session, issuer, "recording test", ())).client
    await session.flush()
    credential_id = uuid.uuid4()
    record_credential(
        session,
        issuer=issuer,
        client=client,
        credential_id=credential_id,
        issuer_id="did:example:issuer",
        subject_id=None,
        valid_from=datetime.now(UTC).replace(microsecond=0),
        valid_until=None,
        identities=[],
        signed=SignedCredential(document="{}", jwt=None),
        created=datetime.now(UTC).replace(microsecond=0),
    )
    return credential_id


async def test_recorded_rows_are_written_by_flush_issued(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    async with transaction(sessions) as session:
        credential_id = await _record(session, issuer)
        await flush_issued(session)

    async with sessions() as session:
        assert await session.get(Credential, credential_id) is not None
        events = await session.scalars(
            CredentialEvent.__table__.select().where(CredentialEvent.credential_id == credential_id)
        )
        assert len(events.all()) == 1


async def test_a_credential_recorded_but_never_flushed_refuses_the_commit(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    async with sessions() as session:
        credential_id = await _record(session, issuer)
        with pytest.raises(RuntimeError, match="flush_issued"):
            await session.commit()
        await session.rollback()

    async with sessions() as session:
        assert await session.get(Credential, credential_id) is None
