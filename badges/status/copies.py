"""Wallet copies: credentials issued here that re-issue another one to a wallet's DID.

A copy is the same award as its original (`badges.wallets.wallet_credentials`), so it is never
counted: evaluations, holders and reports count the original once, whatever copies exist.
It carries the original's status entries, so the original's status is the copy's.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Credential, CredentialCopy


def not_a_copy() -> ColumnElement[bool]:
    """SQL: the `Credential` row is not a wallet copy of another."""
    return ~exists().where(CredentialCopy.copy_id == Credential.id)


def record_copy(session: AsyncSession, copy_id: uuid.UUID, original_id: uuid.UUID) -> None:
    session.add(CredentialCopy(copy_id=copy_id, original_id=original_id))


async def original_of(session: AsyncSession, credential_id: uuid.UUID) -> uuid.UUID | None:
    """The credential `credential_id` is a wallet copy of; None for an original."""
    original: uuid.UUID | None = await session.scalar(
        select(CredentialCopy.original_id).where(CredentialCopy.copy_id == credential_id)
    )
    return original
