"""A teacher's backpack keeps one credential per issuer id + credential id (OB 3.0 §10), tied
to her by an identifier that is hers for the credential's issuer."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from badges.wallets import backpack
from badges.wallets.teachers import (
    claim_educator_id,
    redeem_code,
    start_sign_in,
    teacher_for_code,
)
from formats.identity import (
    EDUCATOR_ID_TYPE,
    lookup_key,
)
from storage.models import HeldCredential, Teacher
from storage.session import transaction
from tests.conftest import Provider


def _incoming(valid_from: str, name: str) -> backpack.Incoming:
    credential = {
        "id": "urn:uuid:6b1f2c1e-3a53-4f57-9a4f-0c2f5e0b7a11",
        "issuer": {"id": "did:example:provider"},
        "validFrom": valid_from,
        "credentialSubject": {"achievement": {"id": "https://example.org/mc/1", "name": name}},
    }
    return backpack.Incoming(json.dumps(credential), "ldp_vc", credential, "verified")


async def _teacher(sessions: async_sessionmaker[AsyncSession]) -> Teacher:
    async with transaction(sessions) as session:
        teacher = Teacher(display_name="Ada")
        session.add(teacher)
    return teacher


async def _rows(sessions: async_sessionmaker[AsyncSession], teacher: Teacher) -> list[Any]:
    async with sessions() as session:
        found = await session.execute(
            select(HeldCredential.content).where(HeldCredential.teacher_id == teacher.id)
        )
        return [json.loads(content) for (content,) in found]


async def test_a_newer_copy_replaces_and_an_older_one_is_kept_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    teacher = await _teacher(sessions)
    outcomes = []
    for valid_from, name in [
        ("2026-01-01T00:00:00Z", "First"),
        ("2026-02-01T00:00:00Z", "Newer"),
        ("2025-12-01T00:00:00Z", "Older"),
    ]:
        async with transaction(sessions) as session:
            stored = await backpack.upsert(
                session, teacher, _incoming(valid_from, name), client_id=None, naming=None
            )
            outcomes.append(stored.outcome)

    assert outcomes == ["created", "replaced", "kept"]
    held = await _rows(sessions, teacher)
    assert [item["credentialSubject"]["achievement"]["name"] for item in held] == ["Newer"]


async def test_two_pushes_of_the_same_new_credential_at_once_keep_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The second insert meets the first one's uncommitted row: it waits on the unique key,
    and once the first commits it becomes an update instead of a failed request."""
    teacher = await _teacher(sessions)
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def push(name: str, *, after: asyncio.Event | None, hold: bool) -> str:
        """One upsert in its own transaction; `hold` keeps it open until `release`."""
        if after is not None:
            await after.wait()
        async with transaction(sessions) as session:
            stored = await backpack.upsert(
                session,
                teacher,
                _incoming("2026-01-01T00:00:00Z", name),
                client_id=None,
                naming=None,
            )
            if hold:
                first_in.set()
                await release.wait()
            return stored.outcome

    first_task = asyncio.create_task(push("A", after=None, hold=True))
    second_task = asyncio.create_task(push("B", after=first_in, hold=False))
    await asyncio.sleep(0.5)  # the second is now blocked on the first's row
    release.set()
    outcomes = await asyncio.gather(first_task, second_task)

    assert outcomes == ["created", "replaced"]
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(HeldCredential.teacher_id == teacher.id)
        )
    assert count == 1
    held = await _rows(sessions, teacher)
    assert held[0]["credentialSubject"]["achievement"]["name"] == "B"


async def _teacher_claiming(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault, address: str, number: str
) -> uuid.UUID:
    """A teacher signed in with `address` (the real sign-in functions) who added CA:`number`."""
    async with transaction(sessions) as session:
        issued = await start_sign_in(
            session, vault, address, client_address=None, lifetime=timedelta(minutes=5)
        )
        proven = await redeem_code(session, vault, address, issued.code)
        teacher = await teacher_for_code(session, proven)
        await claim_educator_id(session, vault, teacher, "CA", number)
        return teacher.id


def _naming_the_id(issuer_iri: str, number: str) -> backpack.Incoming:
    """A verified credential from `issuer_iri` naming the educator ID CA:`number` in the clear."""
    credential = {
        "id": f"urn:uuid:{uuid.uuid4()}",
        "issuer": {"id": issuer_iri},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": EDUCATOR_ID_TYPE,
                    "hashed": False,
                    "identityHash": f"CA:{number}",
                }
            ],
            "achievement": {"id": "https://example.org/mc/2", "name": "Restorative Circles"},
        },
    }
    return backpack.Incoming(json.dumps(credential), "ldp_vc", credential, "verified")


async def test_an_educator_id_one_provider_vouches_for_ties_only_that_providers_credentials(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault, provider: Provider
) -> None:
    address, number = f"t-{uuid.uuid4().hex[:8]}@example.org", str(uuid.uuid4().int)[:9]
    achievement = await provider.create_achievement(name="Inquiry Science")
    response = await provider.issue(
        achievement["id"], recipient={"email": address, "educatorId": number, "state": "CA"}
    )
    assert response.status_code == 201, response.text
    provider_did = response.json()["credential"]["issuer"]["id"]
    teacher_id = await _teacher_claiming(sessions, vault, address, number)
    the_id = lookup_key(vault.lookup_secret, EDUCATOR_ID_TYPE, f"CA:{number}")

    tied = []
    for issuer_iri in (provider_did, "did:example:another-provider"):
        async with transaction(sessions) as session:
            teacher = await session.get(Teacher, teacher_id)
            assert teacher is not None
            incoming = _naming_the_id(issuer_iri, number)
            naming = backpack.naming_key(vault, teacher, incoming.credential)
            stored = await backpack.upsert(
                session, teacher, incoming, client_id=None, naming=naming
            )
            tied.append(stored.row.lookup_key)

    # The provider's own badge ties the ID to her address: its word holds for its badges.
    assert tied == [the_id, None]
