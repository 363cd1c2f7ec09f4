"""Console fixtures; the helpers themselves are in tests/app/console/staff.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from badges.issuers.issuers import KeyVault
from storage.models import Issuer
from tests.app.console.staff import add_staff_member, signed_in_client


@pytest.fixture
async def provider_admin(sessions: Any, vault: KeyVault, issuer: Issuer) -> str:
    """The address of an admin of the test's issuer."""
    return await add_staff_member(sessions, vault, issuer=issuer, role="admin")


@pytest.fixture
async def console(
    server: str, sessions: Any, provider_admin: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in to the console as `provider_admin`."""
    async with signed_in_client(server, sessions, provider_admin) as http:
        yield http
