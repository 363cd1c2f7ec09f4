"""Issuing stays correct when many processes issue at once and when a process is killed."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from keys.master import MasterKey
from storage.models import Credential, CredentialEvent, CredentialStatusEntry
from tests.conftest import Provider
from tests.processes import kill_hard, running_service, service_env


async def _token(base_url: str, provider: Provider) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(provider.client_id, provider.client_secret),
        )
    token: str = response.json()["access_token"]
    return token


def _batch(achievement_id: str, keys: list[str]) -> dict[str, Any]:
    return {
        "items": [
            {
                "achievementId": achievement_id,
                "idempotencyKey": key,
                "recipient": {"email": f"{key}@example.org"},
            }
            for key in keys
        ]
    }


async def _integrity(sessions: Any, issuer_id: uuid.UUID) -> tuple[int, int, int, int]:
    """(credentials, issued events, status entries, distinct (list, index) pairs)."""
    async with sessions() as session:
        credentials = await session.scalar(
            select(func.count()).select_from(Credential).where(Credential.issuer_id == issuer_id)
        )
        events = await session.scalar(
            select(func.count())
            .select_from(CredentialEvent)
            .join(Credential)
            .where(Credential.issuer_id == issuer_id, CredentialEvent.event_type == "issued")
        )
        entries = await session.scalar(
            select(func.count())
            .select_from(CredentialStatusEntry)
            .join(Credential)
            .where(Credential.issuer_id == issuer_id)
        )
        pairs = (
            select(CredentialStatusEntry.status_list_id, CredentialStatusEntry.list_index)
            .distinct()
            .join(Credential)
            .where(Credential.issuer_id == issuer_id)
        )
        distinct = await session.scalar(select(func.count()).select_from(pairs.subquery()))
    return credentials or 0, events or 0, entries or 0, distinct or 0


async def test_a_service_killed_mid_batch_leaves_nothing_half_stored(
    provider: Provider, database_url: str, master_key: MasterKey, tmp_path: Path, sessions: Any
):
    achievement = await provider.create_achievement()
    keys = [f"crash-{uuid.uuid4().hex[:8]}-{n}" for n in range(1000)]
    env = service_env(database_url, tmp_path, master_key.to_text(), LATTICE_SIGN_WORKERS="1")
    url = f"{env['LATTICE_PUBLIC_URL']}/v1/issuers/{provider.slug}/credentials:batch"

    with running_service(env) as process:
        token = await _token(env["LATTICE_PUBLIC_URL"], provider)
        async with httpx.AsyncClient(timeout=60) as http:
            request = asyncio.create_task(
                http.post(
                    url,
                    json=_batch(achievement["id"], keys),
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            await asyncio.sleep(0.4)
            kill_hard(process)
            with pytest.raises(httpx.TransportError):
                await request

    after_crash = await _integrity(sessions, provider.issuer.id)
    assert after_crash[0] in (0, 1000)  # the batch is one transaction: all or nothing
    # One status entry (revocation) per credential: the issuer has not opted in to suspension.
    assert after_crash[1] == after_crash[0] and after_crash[2] == after_crash[0]

    with running_service(env):
        token = await _token(env["LATTICE_PUBLIC_URL"], provider)
        async with httpx.AsyncClient(timeout=120) as http:
            retried = await http.post(
                url,
                json=_batch(achievement["id"], keys),
                headers={"Authorization": f"Bearer {token}"},
            )

    assert retried.json()["succeeded"] == 1000
    credentials, events, entries, distinct = await _integrity(sessions, provider.issuer.id)
    assert (credentials, events, entries, distinct) == (1000, 1000, 1000, 1000)


@pytest.mark.skipif(
    os.environ.get("LATTICE_TEST_BACKEND", "sqlite") != "postgresql",
    reason="many writer processes on one database is a PostgreSQL deployment; SQLite serves "
    "one process (its concurrent batches are covered in tests/app/test_status.py)",
)
async def test_processes_issuing_at_once_never_share_a_status_index(
    provider: Provider, database_url: str, master_key: MasterKey, tmp_path: Path, sessions: Any
):
    achievement = await provider.create_achievement()
    processes, batches_each, batch_size = 3, 4, 417  # 5,004 credentials

    async def issue_from(env: dict[str, str], worker: int) -> int:
        base = env["LATTICE_PUBLIC_URL"]
        token = await _token(base, provider)
        async with httpx.AsyncClient(
            base_url=base, timeout=300, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            done = 0
            for batch in range(batches_each):
                keys = [f"w{worker}-b{batch}-{n}" for n in range(batch_size)]
                response = await http.post(
                    f"/v1/issuers/{provider.slug}/credentials:batch",
                    json=_batch(achievement["id"], keys),
                )
                assert response.status_code == 200, response.text
                done += response.json()["succeeded"]
            return done

    envs = [
        service_env(database_url, tmp_path / str(n), master_key.to_text(), LATTICE_SIGN_WORKERS="1")
        for n in range(processes)
    ]
    started = time.monotonic()
    with running_service(envs[0]), running_service(envs[1]), running_service(envs[2]):
        issued = await asyncio.gather(*(issue_from(env, n) for n, env in enumerate(envs)))

    total = processes * batches_each * batch_size
    assert sum(issued) == total, f"{sum(issued)} of {total} in {time.monotonic() - started:.1f}s"
    assert await _integrity(sessions, provider.issuer.id) == (total, total, total, total)
