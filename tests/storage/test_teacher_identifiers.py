"""An e-mail address belongs to one account; an educator ID may be claimed by several."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Teacher, TeacherIdentifier
from storage.session import transaction


async def _two_accounts_with(
    sessions: async_sessionmaker[AsyncSession], kind: str, key: str
) -> None:
    async with transaction(sessions) as session:
        for _ in range(2):
            teacher = Teacher(id=uuid.uuid4(), identifiers=[])
            teacher.identifiers.append(TeacherIdentifier(kind=kind, lookup_key=key, label="x"))
            session.add(teacher)


async def test_two_accounts_may_claim_one_educator_id(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _two_accounts_with(sessions, "educator_id", uuid.uuid4().hex)


async def test_two_accounts_may_not_hold_one_email_address(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(IntegrityError):
        await _two_accounts_with(sessions, "email", uuid.uuid4().hex)


async def test_one_account_claims_an_educator_id_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = uuid.uuid4().hex
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            teacher = Teacher(id=uuid.uuid4(), identifiers=[])
            for _ in range(2):
                teacher.identifiers.append(
                    TeacherIdentifier(kind="educator_id", lookup_key=key, label="x")
                )
            session.add(teacher)
