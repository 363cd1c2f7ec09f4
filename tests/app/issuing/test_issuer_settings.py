"""Suspension is an issuer's opt-in, set from the API (by its own clients) or the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_cli import lattice
from tests.conftest import Provider, make_provider
from tests.processes import LATTICE


async def test_suspension_is_off_until_the_issuer_turns_it_on(provider: Provider):
    url = f"/v1/issuers/{provider.slug}"
    before = await provider.http.get(url)

    turned_on = await provider.http.patch(url, json={"suspensionEnabled": True})
    after = await provider.http.get(url)

    assert before.status_code == 200, before.text
    assert before.json()["suspensionEnabled"] is False
    assert before.json()["did"].endswith(f":issuers:{provider.slug}")
    assert turned_on.status_code == 200, turned_on.text
    assert turned_on.json()["suspensionEnabled"] is True
    assert after.json()["suspensionEnabled"] is True


async def test_only_a_status_managing_client_of_the_issuer_changes_it(
    provider: Provider, server: str, sessions: Any, issuer: Any, vault: Any
):
    from badges.issuers.issuers import (
        IssuerDetails,
        create_issuer,
    )
    from storage.session import transaction

    async with transaction(sessions) as session:
        rival_issuer = await create_issuer(
            session, vault, IssuerDetails("rival-" + issuer.slug, "Rival")
        )
    reader = await make_provider(server, sessions, issuer, scopes=("credentials:read",))
    rival = await make_provider(server, sessions, rival_issuer)
    url = f"/v1/issuers/{provider.slug}"

    by_reader = await reader.http.patch(url, json={"suspensionEnabled": True})
    by_rival = await rival.http.patch(url, json={"suspensionEnabled": True})
    misspelt = await provider.http.patch(url, json={"suspensionEnable": True})
    not_a_boolean = await provider.http.patch(url, json={"suspensionEnabled": "perhaps"})

    assert by_reader.status_code == 403
    assert by_rival.status_code == 403
    assert (misspelt.status_code, not_a_boolean.status_code) == (422, 422)
    assert misspelt.headers["content-type"] == "application/problem+json"
    assert (await provider.http.get(url)).json()["suspensionEnabled"] is False
    await reader.http.aclose()
    await rival.http.aclose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LATTICE_")}
    return clean | {
        "LATTICE_DATA_DIR": str(tmp_path / "data"),
        "LATTICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'lattice.db'}",
        "LATTICE_LOG_LEVEL": "warning",
    }


def _stored(tmp_path: Path, slug: str) -> bool:
    with sqlite3.connect(tmp_path / "data" / "lattice.db") as database:
        row = database.execute(
            "SELECT suspension_enabled FROM issuers WHERE slug = ?", (slug,)
        ).fetchone()
    return bool(row[0])


def test_the_cli_creates_and_updates_an_issuer_with_suspension(env: dict[str, str], tmp_path: Path):
    plain = lattice(env, "issuer", "create", "dp", "--name", "Digital Promise")
    opted = lattice(env, "issuer", "create", "nea", "--name", "NEA", "--suspension")
    updated = lattice(env, "issuer", "update", "dp", "--suspension")
    reverted = lattice(env, "issuer", "update", "nea", "--no-suspension")

    assert (plain["suspension_enabled"], opted["suspension_enabled"]) == (False, True)
    assert updated == {"slug": "dp", "suspension_enabled": True}
    assert reverted == {"slug": "nea", "suspension_enabled": False}
    assert (_stored(tmp_path, "dp"), _stored(tmp_path, "nea")) == (True, False)


def test_the_cli_names_an_unknown_issuer(env: dict[str, str]):
    unknown = subprocess.run(
        [LATTICE, "issuer", "update", "nobody", "--suspension"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert unknown.returncode == 2
    assert "no issuer 'nobody'" in unknown.stderr
