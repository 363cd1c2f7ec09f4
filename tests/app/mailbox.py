"""Reading the mail the service sent, as a person reads their inbox: in tests the outbox
table is the mail server (`badges.wallets.mail`)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from storage.models import OutboxEmail


async def last_mail(sessions: Any, address: str) -> str:
    """The body of the newest e-mail to `address`."""
    async with sessions() as session:
        body = await session.scalar(
            select(OutboxEmail.body)
            .where(OutboxEmail.recipient == address)
            .order_by(OutboxEmail.created_at.desc())
            .limit(1)
        )
    assert body, f"no mail to {address}"
    return str(body)


async def mailed_code(sessions: Any, address: str) -> str:
    """The sign-in code in the newest e-mail to `address` (a teacher's or the console's)."""
    mail = await last_mail(sessions, address)
    found = re.search(r"sign-in code is (\d{6})", mail)
    assert found, f"no sign-in code in the last mail to {address}"
    return found.group(1)
