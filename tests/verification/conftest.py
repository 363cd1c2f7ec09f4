from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.verification.support import LocalServer, serve_forever
from verification.fetch import FetchSettings, SafeFetcher


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    yield from serve_forever()


@pytest.fixture
async def loopback_fetcher() -> AsyncIterator[SafeFetcher]:
    """A SafeFetcher allowed to reach the local test server (http, loopback)."""
    async with SafeFetcher(
        FetchSettings(allow_insecure_http=True, allow_private_networks=True, timeout_seconds=2)
    ) as fetcher:
        yield fetcher
