"""The `lattice` command sets up the first provider with nothing but a shell."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.processes import LATTICE, free_port, running_service


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    port = free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LATTICE_")}
    return clean | {
        "LATTICE_DATA_DIR": str(tmp_path / "data"),
        "LATTICE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'lattice.db'}",
        "LATTICE_PORT": str(port),
        "LATTICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LATTICE_LOG_LEVEL": "warning",
    }


def lattice(env: dict[str, str], *args: str) -> dict[str, object]:
    completed = subprocess.run(
        [LATTICE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_first_provider_from_the_cli_alone(env: dict[str, str], tmp_path: Path):
    issuer = lattice(env, "issuer", "create", "nea", "--name", "National Education Association")
    client = lattice(env, "client", "create", "--issuer", "nea", "--name", "NEA platform")
    rotated = lattice(env, "keys", "rotate", "--issuer", "nea")

    assert issuer["did"] == f"did:web:127.0.0.1%3A{env['LATTICE_PORT']}:issuers:nea"
    assert str(client["client_id"]).startswith("lc_") and len(str(client["client_secret"])) > 30
    assert rotated["new_keys"] == ["key-3", "key-4"]
    master = tmp_path / "data" / "master.key"
    assert master.stat().st_mode & 0o777 == 0o600
    database = (tmp_path / "data" / "lattice.db").read_bytes()
    assert str(client["client_secret"]).encode() not in database


def test_a_duplicate_issuer_is_a_clear_error(env: dict[str, str]):
    lattice(env, "issuer", "create", "dp", "--name", "Digital Promise")

    again = subprocess.run(
        [LATTICE, "issuer", "create", "dp", "--name", "Again"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_serve_migrates_and_answers(env: dict[str, str]):
    with running_service(env):
        response = httpx.get(f"{env['LATTICE_PUBLIC_URL']}/healthz", timeout=5)

    assert response.json() == {"status": "ok"}
