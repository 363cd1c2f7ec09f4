"""The client an issuer's console issues through: credentials name a client (their
`issued` events name its id), and a person at the console has none of her own."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, Issuer
from storage.session import begin_write

CONSOLE_CLIENT: Final = "Provider console"


async def console_client(session: AsyncSession, issuer: Issuer) -> Client:
    """The issuer's client that the console acts through (made on first use). Disabled from
    birth and its secret never known: no token can be had for it."""
    found = await session.scalar(
        select(Client).where(Client.issuer_id == issuer.id, Client.name == CONSOLE_CLIENT)
    )
    if found is not None:
        return found
    await begin_write(session)
    client = Client(
        id=uuid.uuid4(),
        client_id="console_" + secrets.token_urlsafe(12),
        secret_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        issuer_id=issuer.id,
        name=CONSOLE_CLIENT,
        scopes="credentials:issue",
        disabled_at=datetime.now(UTC),
    )
    session.add(client)
    await session.flush()
    return client
