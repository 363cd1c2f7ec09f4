"""Issuing stays correct when many processes issue at once and when a process is killed."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.settings import Settings
from badges.errors import InvalidInput
from badges.issuers.issuers import KeyVault
from badges.issuing.issuing import (
    Award,
    IssuedCredential,
    IssuingContext,
    issue_credential,
)
from badges.issuing.recipients import Recipient
from badges.issuing.signing import (
    Signer,
    SigningKeys,
    SigningOutcome,
)
from formats.bitstring import get_bit
from keys.master import MasterKey
from storage.models import (
    Client,
    Credential,
    CredentialEvent,
    CredentialStatusEntry,
    Issuer,
    StatusList,
)
from storage.session import transaction
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
    "one process (its concurrent batches are covered in tests/app/issuing/test_status.py)",
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


class _Refusing(Signer):
    """A signer that cannot sign what it is given, as `sign_or_explain` reports an input it
    cannot canonicalize; it keeps the documents it was asked to sign."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.asked: list[dict[str, Any]] = []

    async def sign(
        self,
        unsigned: dict[str, Any],
        keys: SigningKeys,
        created: datetime,
        *,
        proof_array: bool = True,
    ) -> SigningOutcome:
        self.asked.append(unsigned)
        return "the credential is not valid JSON-LD: refused by this test"


async def test_a_signing_failure_stores_nothing_and_leaves_its_status_position_a_gap(
    provider: Provider, sessions: Any, vault: KeyVault, settings: Settings
):
    """Positions are committed before signing (so none is locked while it runs): a credential
    that fails to sign is not stored, and its position is never handed out again, a gap whose
    bit stays 0 and that no credential refers to."""
    achievement = await provider.create_achievement()
    award = Award(uuid.UUID(achievement["id"]), Recipient(email="t@example.org"))
    refusing = _Refusing()
    signer = Signer(workers=1)

    async def issue(with_signer: Signer) -> IssuedCredential:
        ctx = IssuingContext(settings.public_url, vault, with_signer)
        async with transaction(sessions) as session:
            issuer = await session.get(Issuer, provider.issuer.id)
            client = await session.scalar(
                select(Client).where(Client.client_id == provider.client_id)
            )
            assert issuer is not None and client is not None
            return await issue_credential(session, ctx, issuer, client, award)

    before = await issue(signer)
    with pytest.raises(InvalidInput, match="refused by this test"):
        await issue(refusing)
    after = await issue(signer)

    def position(document: dict[str, Any]) -> tuple[str, int]:
        entry = document["credentialStatus"]
        return entry["statusListCredential"], int(entry["statusListIndex"])

    failed = position(refusing.asked[0])
    issued = [position(json.loads(item.document)) for item in (before, after)]
    assert failed not in issued
    list_id = uuid.UUID(failed[0].rsplit("/", 1)[1])
    async with sessions() as session:
        credentials = await session.scalar(
            select(func.count())
            .select_from(Credential)
            .where(Credential.issuer_id == provider.issuer.id)
        )
        referring = await session.scalar(
            select(func.count())
            .select_from(CredentialStatusEntry)
            .where(
                CredentialStatusEntry.status_list_id == list_id,
                CredentialStatusEntry.list_index == failed[1],
            )
        )
        status_list = await session.get(StatusList, list_id)
    assert (credentials, referring) == (2, 0)
    assert status_list is not None and get_bit(status_list.bits, failed[1]) is False


def _owner_of(service_port: int, client_port: int) -> int:
    """The pid of the process holding the service's end of a loopback TCP connection."""
    wanted = f":{service_port:04X} 0100007F:{client_port:04X} 01 "  # ESTABLISHED
    inode = next(
        line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines() if wanted in line
    )
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fd_dir.iterdir()):
                return int(fd_dir.parent.name)
        except OSError:  # a process that ended, or one not ours to read
            continue
    raise LookupError(inode)


class _KeepAlive:
    """One keep-alive HTTP/1.1 connection speaking just enough to POST JSON."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.port: int = writer.get_extra_info("sockname")[1]

    @classmethod
    async def open(cls, port: int) -> _KeepAlive:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, token: str, body: Any = None) -> int:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(
            int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
        )
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@pytest.mark.skipif(
    os.environ.get("LATTICE_TEST_BACKEND", "sqlite") != "postgresql",
    reason="LATTICE_WORKERS > 1 is refused on SQLite (one writer process)",
)
async def test_a_service_of_two_processes_serves_keep_alive_clients_from_both(
    provider: Provider, database_url: str, master_key: MasterKey, tmp_path: Path, sessions: Any
) -> None:
    achievement = await provider.create_achievement()
    env = service_env(
        database_url, tmp_path, master_key.to_text(), LATTICE_WORKERS="2", LATTICE_SIGN_WORKERS="1"
    )
    port = int(env["LATTICE_PORT"])
    path = f"/v1/issuers/{provider.slug}/credentials"

    with running_service(env):
        token = await _token(env["LATTICE_PUBLIC_URL"], provider)
        started: set[int] = set()  # a fresh connection goes to a process that has started
        deadline = time.monotonic() + 60
        while len(started) < 2 and time.monotonic() < deadline:
            probe = await _KeepAlive.open(port)
            assert await probe.request("GET", "/healthz", token) == 200
            started.add(_owner_of(port, probe.port))
            await probe.close()
        assert len(started) == 2

        clients = [await _KeepAlive.open(port) for _ in range(8)]

        async def issue_on(client: _KeepAlive, n: int) -> list[int]:
            return [
                await client.request(
                    "POST",
                    path,
                    token,
                    {
                        "achievementId": achievement["id"],
                        "recipient": {"email": f"k{n}-{i}@example.org"},
                    },
                )
                for i in range(25)
            ]

        statuses = await asyncio.gather(*(issue_on(client, n) for n, client in enumerate(clients)))
        owners = Counter(_owner_of(port, client.port) for client in clients)
        for client in clients:
            await client.close()

    assert sorted(owners.values()) == [4, 4] and set(owners) == started
    assert {status for batch in statuses for status in batch} == {201}
    assert await _integrity(sessions, provider.issuer.id) == (200, 200, 200, 200)
