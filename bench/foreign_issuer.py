"""A foreign issuer for a benchmark: a second throwaway Lattice whose credentials another
service stores as submitted or pushed, and whose status lists that service re-reads.

It runs on SQLite in a temporary directory, with its own did:web keys and status lists on
loopback, so what the verifier fetches, verifies and reads is exactly what a real issuer
publishes. Its providers, achievements, awards and revocations go through its API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from client_auth import ClientCredentials
from service import (
    Service,
    create_achievement,
    create_provider,
    start_service,
    stop_service,
)

BATCH = 1000
# One at a time: on SQLite, concurrent revocations of credentials sharing a list lose bits
# (badges.status.status_changes._flip_bit reads the list before this process's writer
# lock is taken), and the issuer would then publish fewer revocations than it logged.
REVOKERS = 1
HTTP_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


@dataclass(frozen=True)
class Award:
    """One credential to ask the foreign issuer for."""

    provider: int
    achievement: str  # its id on the foreign issuer
    educator_id: str
    earned: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class Issued:
    id: str
    provider: int
    credential: dict[str, Any]
    jwt: str


@dataclass
class ForeignIssuer:
    service: Service
    slugs: list[str] = field(default_factory=list)
    auths: list[ClientCredentials] = field(default_factory=list)
    # (provider index, achievement id, achievement IRI)
    achievements: list[tuple[int, str, str]] = field(default_factory=list)
    revoked: int = 0

    @property
    def base_url(self) -> str:
        return self.service.base_url

    def client(self, provider: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=HTTP_TIMEOUT,
            auth=self.auths[provider],
        )


def start_foreign(data_dir: Path) -> ForeignIssuer:
    data_dir.mkdir(parents=True, exist_ok=True)
    return ForeignIssuer(start_service(data_dir, None))


def stop_foreign(foreign: ForeignIssuer) -> None:
    stop_service(foreign.service)


async def add_providers(foreign: ForeignIssuer, providers: int, achievements: int) -> None:
    """`providers` issuers with `achievements` achievements each."""
    for number in range(providers):
        slug = f"foreign-{number}"
        client_id, secret = create_provider(foreign.service, slug)
        foreign.slugs.append(slug)
        foreign.auths.append(ClientCredentials(foreign.base_url, client_id, secret))
    for number in range(providers):
        async with foreign.client(number) as http:
            for _ in range(achievements):
                achievement_id = await create_achievement(http, foreign.slugs[number])
                iri = f"{foreign.base_url}/achievements/{achievement_id}"
                foreign.achievements.append((number, achievement_id, iri))


# Receives each batch as it is issued: (index of the award, what was issued) pairs.
Sink = Callable[[list[tuple[int, Issued]]], Awaitable[None]]


async def issue(foreign: ForeignIssuer, awards: Sequence[Award], sink: Sink) -> None:
    """The awards in batches per provider, each handed to `sink` (every item must succeed):
    streamed, since tens of thousands of signed documents need not sit in memory."""
    for provider in range(len(foreign.slugs)):
        mine = [(n, award) for n, award in enumerate(awards) if award.provider == provider]
        async with foreign.client(provider) as http:
            for start in range(0, len(mine), BATCH):
                chunk = mine[start : start + BATCH]
                results = await _batch(http, foreign.slugs[provider], [a for _, a in chunk])
                await sink(
                    [
                        (n, Issued(result["id"], provider, result["credential"], result["jwt"]))
                        for (n, _), result in zip(chunk, results, strict=True)
                    ]
                )


async def _batch(http: httpx.AsyncClient, slug: str, awards: Sequence[Award]) -> list[Any]:
    items = []
    for award in awards:
        item: dict[str, Any] = {
            "achievementId": award.achievement,
            "recipient": {"educatorId": award.educator_id, "state": "TX"},
            "validFrom": award.earned.isoformat(),
            "awardedDate": award.earned.isoformat(),
            "jwtAlgorithm": "EdDSA",
        }
        if award.valid_until is not None:
            item["validUntil"] = award.valid_until.isoformat()
        items.append(item)
    response = await http.post(f"/v1/issuers/{slug}/credentials:batch", json={"items": items})
    response.raise_for_status()
    body = response.json()
    if body["failed"]:
        failed = next(r for r in body["results"] if r["status"] >= 400)
        raise RuntimeError(f"foreign batch: {body['failed']} failed, e.g. {failed['problem']}")
    results: list[Any] = body["results"]
    return results


async def revoke(foreign: ForeignIssuer, credentials: Sequence[tuple[int, str]]) -> None:
    """Revoke each (provider, credential id) at its issuer, a few calls at a time."""
    clients = [foreign.client(provider) for provider in range(len(foreign.slugs))]
    gate = asyncio.Semaphore(REVOKERS)

    async def one(provider: int, credential_id: str) -> None:
        async with gate:
            response = await clients[provider].post(
                f"/v1/credentials/{credential_id}/revoke", json={"reason": "bench"}
            )
            response.raise_for_status()

    try:
        await asyncio.gather(*(one(*item) for item in credentials))
    finally:
        for client in clients:
            await client.aclose()
    foreign.revoked += len(credentials)
