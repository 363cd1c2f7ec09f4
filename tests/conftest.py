"""Shared fixtures: a real database (SQLite file or the PostgreSQL `scripts/test` starts),
migrated by Alembic; the real service on a loopback port; real issuers, keys and clients.

Every test makes its own issuer (unique slug), so tests share one database without
seeing each other's data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Settings
from badges.issuers.clients import create_client
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from keys.master import MasterKey
from storage import migrate
from storage.models import Issuer
from storage.session import create_engine, create_session_factory, transaction
from tests.processes import free_port

INTEROP_DIR = Path(
    os.environ.get("LATTICE_INTEROP_DIR", Path(__file__).parents[2] / "shared" / "interop")
)


@pytest.fixture(scope="session")
def master_key() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("LATTICE_TEST_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'lattice.db'}"
    )
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(
    database_url: str, master_key: MasterKey, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    port = free_port()
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url=f"http://127.0.0.1:{port}",
        port=port,
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        master_key=master_key.to_text(),
        sign_workers=2,
        fetch_allow_http=True,
        # Every test signs in from 127.0.0.1; the per-address limit is tested on its own.
        sign_in_codes_per_client=10_000,
        fetch_allow_private=True,
        log_level="warning",
        # The webhook tests' receivers listen on plain http on loopback, and must not wait.
        webhooks_allow_http=True,
        webhooks_allow_private=True,
        # A state query sweeps foreign statuses itself, so a test sees a revocation at once.
        foreign_status_sweep_seconds=0,
        webhook_poll_seconds=0.05,
        webhook_retry_base_seconds=0.2,
        webhook_timeout_seconds=1.0,
    )


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[str]:
    """The whole service, served by uvicorn on loopback, as a verifier would reach it."""
    yield from serve(settings)


def serve(settings: Settings) -> Iterator[str]:
    """Run the service with `settings` on its port until the generator is closed."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield settings.public_url
    instance.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def vault(master_key: MasterKey) -> KeyVault:
    return KeyVault(master_key)


@pytest.fixture
async def issuer(sessions: async_sessionmaker[AsyncSession], vault: KeyVault) -> Issuer:
    slug = f"issuer-{uuid.uuid4().hex[:10]}"
    details = IssuerDetails(
        slug=slug,
        name="Digital Promise",
        url="https://digitalpromise.org",
        email="badges@example.org",
        description="Micro-credentials for educators.",
        image_url="https://example.org/logo.png",
    )
    async with transaction(sessions) as session:
        return await create_issuer(session, vault, details)


@dataclass
class Provider:
    """A provider's API client with a bearer token, talking to the running service."""

    http: httpx.AsyncClient
    issuer: Issuer
    client_id: str
    client_secret: str

    @property
    def slug(self) -> str:
        return self.issuer.slug

    async def create_achievement(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "Close Reading in the Elementary Classroom",
            "description": "The educator plans and teaches close reading of complex texts.",
            "criteria": {"narrative": "Submit a lesson plan, student work and a reflection."},
            "resultDescription": [
                {
                    "key": "lesson-plan",
                    "name": "Lesson plan",
                    "rubricCriterionLevel": [
                        {"key": "developing", "name": "Developing"},
                        {"key": "proficient", "name": "Proficient", "points": "3"},
                    ],
                    "requiredLevel": "proficient",
                }
            ],
            **overrides,
        }
        response = await self.http.post(f"/v1/issuers/{self.slug}/achievements", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def issue(self, achievement_id: str, **fields: Any) -> httpx.Response:
        body = {"achievementId": achievement_id, "recipient": {"email": "teacher@example.org"}}
        body.update(fields)
        return await self.http.post(f"/v1/issuers/{self.slug}/credentials", json=body)


async def token_for(base_url: str, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def make_provider(
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    issuer: Issuer,
    scopes: tuple[str, ...] = (),
) -> Provider:
    async with transaction(sessions) as session:
        created = await create_client(session, issuer, "test client", scopes)
    token = await token_for(server, created.client.client_id, created.secret)
    http = httpx.AsyncClient(
        base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return Provider(http, issuer, created.client.client_id, created.secret)


@pytest.fixture
async def provider(
    server: str, sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> AsyncIterator[Provider]:
    made = await make_provider(server, sessions, issuer)
    yield made
    await made.http.aclose()


@pytest.fixture
async def public(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client (an employer, a wallet, a verifier)."""
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        yield http


def node_verify(target: str | Path, *args: str) -> list[dict[str, Any]]:
    """Run the independent Node verifiers (../shared/interop); one report per verifier."""
    node = shutil.which("node")
    if node is None or not (INTEROP_DIR / "node_modules").is_dir():
        pytest.fail(
            "the interop verifiers are not installed: run scripts/test (it runs npm ci there)"
        )
    completed = subprocess.run(
        [node, "verify.mjs", str(target), *args],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    reports = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    assert reports, f"no verdict from verify.mjs: {completed.stderr[-2000:]}"
    return reports


@dataclass
class AgencyClient:
    """A state agency's API client (all provider and agency scopes)."""

    http: httpx.AsyncClient
    issuer: Issuer

    @property
    def slug(self) -> str:
        return self.issuer.slug


async def make_agency(
    server: str, sessions: async_sessionmaker[AsyncSession], vault: KeyVault, name: str
) -> AgencyClient:
    from badges.policy.agencies import create_agency

    slug = f"agency-{uuid.uuid4().hex[:10]}"
    async with transaction(sessions) as session:
        agency = await create_agency(session, vault, IssuerDetails(slug, name), "TX")
        issuer = await session.get(Issuer, agency.issuer_id)
        assert issuer is not None
        created = await create_client(session, issuer, "agency client")
    token = await token_for(server, created.client.client_id, created.secret)
    http = httpx.AsyncClient(
        base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return AgencyClient(http, issuer)


@pytest.fixture
async def agency(
    server: str, sessions: async_sessionmaker[AsyncSession], vault: KeyVault
) -> AsyncIterator[AgencyClient]:
    made = await make_agency(server, sessions, vault, "Texas Education Agency")
    yield made
    await made.http.aclose()
