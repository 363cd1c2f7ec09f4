"""The `lattice` command sets up the first provider with nothing but a shell."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
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


def lattice_fails(env: dict[str, str], *args: str) -> str:
    """Run a command that must fail as a usage or input error: exit code 2, no traceback."""
    completed = subprocess.run(
        [LATTICE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    return " ".join(completed.stderr.replace("│", " ").split())


def token_status(base: str, client_id: str, secret: str) -> tuple[int, str]:
    response = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    return response.status_code, response.json().get("access_token", "")


def reads_issuer(base: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{base}/v1/issuers/nea", headers=headers, timeout=10).status_code


def test_rotating_a_client_secret_ends_the_old_secret_and_its_tokens(env: dict[str, str]):
    lattice(env, "issuer", "create", "nea", "--name", "National Education Association")
    client = lattice(env, "client", "create", "--issuer", "nea", "--name", "NEA platform")
    client_id, old_secret = str(client["client_id"]), str(client["client_secret"])
    base = env["LATTICE_PUBLIC_URL"]

    with running_service(env):
        _, old_token = token_status(base, client_id, old_secret)
        assert reads_issuer(base, old_token) == 200
        rotated = lattice(env, "client", "rotate", client_id)
        new_secret = str(rotated["client_secret"])
        old_secret_now = token_status(base, client_id, old_secret)[0]
        old_token_now = reads_issuer(base, old_token)
        new_status, new_token = token_status(base, client_id, new_secret)
        new_token_reads = reads_issuer(base, new_token)
        revoked = lattice(env, "client", "revoke", client_id)
        after_revocation = (
            token_status(base, client_id, new_secret)[0],
            reads_issuer(base, new_token),
        )

    assert rotated["client_id"] == client_id and rotated["tokens_revoked"] == 1
    assert new_secret != old_secret and len(new_secret) > 30
    assert (old_secret_now, old_token_now) == (401, 401)
    assert (new_status, new_token_reads) == (200, 200)
    assert revoked["tokens_revoked"] == 1 and revoked["revoked_at"]
    assert after_revocation == (401, 401)


def test_clients_are_listed_and_a_revocation_keeps_its_first_date(env: dict[str, str]):
    lattice(env, "issuer", "create", "nea", "--name", "NEA")
    lattice(env, "issuer", "create", "dp", "--name", "Digital Promise")
    nea = lattice(env, "client", "create", "--issuer", "nea", "--name", "NEA platform")
    dp = lattice(env, "client", "create", "--issuer", "dp", "--name", "DP platform")

    first = lattice(env, "client", "revoke", str(dp["client_id"]))
    again = lattice(env, "client", "revoke", str(dp["client_id"]))
    everyone = lattice(env, "client", "list")
    only_nea = lattice(env, "client", "list", "--issuer", "nea")

    assert again["revoked_at"] == first["revoked_at"] and again["tokens_revoked"] == 0
    listed = {item["client_id"]: item for item in everyone["clients"]}
    assert listed[dp["client_id"]]["revoked_at"] == first["revoked_at"]
    assert listed[dp["client_id"]]["issuer"] == "dp"
    assert listed[nea["client_id"]]["revoked_at"] is None
    assert listed[nea["client_id"]]["name"] == "NEA platform"
    assert [item["client_id"] for item in only_nea["clients"]] == [nea["client_id"]]
    assert str(dp["client_secret"]) not in json.dumps(everyone)
    assert "is revoked" in lattice_fails(env, "client", "rotate", str(dp["client_id"]))
    assert "no client 'lc_unknown'" in lattice_fails(env, "client", "revoke", "lc_unknown")
    assert "no issuer 'aft'" in lattice_fails(env, "client", "list", "--issuer", "aft")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("issuer", "create", "", "--name", "NEA"), "an issuer slug must not be empty"),
        (("issuer", "create", "nea", "--name", " "), "a name must not be empty"),
        (
            ("issuer", "create", "nea", "--name", "NEA\x1b[31m"),
            "a name must not contain control or invisible characters (found U+001B at character 4)",
        ),
        (("client", "list", "--issuer", "ne\ta"), "found U+0009 at character 3"),
        (("client", "create", "--issuer", "nea", "--name", "a\nb"), "found U+000A"),
        (("keys", "rotate", "--issuer", ""), "an issuer slug must not be empty"),
        (
            ("agency", "create", "tea", "--name", "x" * 201, "--state", "TX"),
            "a name must be at most 200 characters",
        ),
    ],
)
def test_names_and_slugs_are_checked_before_anything_is_touched(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], message: str
):
    said = lattice_fails(env, *args)

    assert message in said
    assert not (tmp_path / "data").exists()


def test_version_comes_from_the_package():
    completed = subprocess.run(
        [LATTICE, "--version"], capture_output=True, text=True, timeout=60, check=True
    )

    assert completed.stdout.strip() == f"lattice {version('lattice')}"
