"""Sign-in codes are limited per address and per client, so codes cannot be sprayed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from badges.wallets.teachers import (
    TooManyRequests,
    start_sign_in,
)
from storage.session import transaction


async def test_one_client_cannot_ask_for_codes_for_many_addresses(sessions: Any, vault: Any):
    client = f"203.0.113.{uuid.uuid4().int % 250}"

    async def ask() -> None:
        async with transaction(sessions) as session:
            await start_sign_in(
                session,
                vault,
                f"{uuid.uuid4().hex}@example.org",
                client_address=client,
                lifetime=timedelta(minutes=5),
                per_client_limit=3,
            )

    for _ in range(3):
        await ask()
    with pytest.raises(TooManyRequests):
        await ask()
