"""Running the real service for a benchmark: `lattice serve` in a temporary directory.

Shared by bench/issue.py and bench/status.py. The service runs as a subprocess with a clean
`LATTICE_*` environment and is set up with the CLI, as an operator would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

LATTICE = Path(sys.executable).parent / "lattice"


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    data_dir: Path
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(
    data_dir: Path, port: int, database_url: str | None, workers: int = 1
) -> dict[str, str]:
    # Inherited LATTICE_* settings (a developer's master key, say) must not leak in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("LATTICE_")}
    env.update(
        LATTICE_DATA_DIR=str(data_dir),
        LATTICE_DATABASE_URL=database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
        LATTICE_PORT=str(port),
        LATTICE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LATTICE_LOG_LEVEL="warning",
        LATTICE_WORKERS=str(workers),
    )
    return env


def start_service(
    data_dir: Path, database_url: str | None, workers: int = 1, **settings: str
) -> Service:
    """`settings`: further LATTICE_* variables by name (fetch_allow_http="true", say)."""
    port = free_port()
    env = service_env(data_dir, port, database_url, workers)
    env.update({f"LATTICE_{name.upper()}": value for name, value in settings.items()})
    log = data_dir / "service.log"
    with log.open("wb") as sink:
        # cwd is the temporary directory so no .env file of the checkout is read.
        process = subprocess.Popen(
            [str(LATTICE), "serve"], env=env, cwd=data_dir, stdout=sink, stderr=subprocess.STDOUT
        )
    service = Service(process, f"http://127.0.0.1:{port}", env, data_dir, log)
    wait_healthy(service)
    return service


def wait_healthy(service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"the service exited early:\n{log_tail(service)}")
        try:
            if httpx.get(f"{service.base_url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"/healthz not 200 after {timeout:.0f} s:\n{log_tail(service)}")


def stop_service(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


def log_tail(service: Service, lines: int = 20) -> str:
    text = service.log.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def log_problems(service: Service) -> list[str]:
    """Error lines and tracebacks the service wrote (its log level is warning)."""
    text = service.log.read_text(encoding="utf-8", errors="replace")
    markers = ("Traceback", "ERROR", "Error:", "Exception")
    return [line.strip()[:200] for line in text.splitlines() if any(m in line for m in markers)]


def lattice_cli(service: Service, *args: str) -> str:
    result = subprocess.run(
        [str(LATTICE), *args],
        env=service.env,
        cwd=service.data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"lattice {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def create_provider(service: Service, slug: str) -> tuple[str, str]:
    """An issuer and an API client for it, made with the CLI; (client_id, client_secret)."""
    lattice_cli(service, "issuer", "create", slug, "--name", "Bench Issuer")
    created = json.loads(
        lattice_cli(service, "client", "create", "--issuer", slug, "--name", "bench")
    )
    return created["client_id"], created["client_secret"]


async def access_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post(
        "/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def create_achievement(client: httpx.AsyncClient, slug: str) -> str:
    body = {
        "name": "Bench Achievement",
        "description": "Awarded by the issuance benchmark.",
        "criteria": {"narrative": "Be issued by bench/issue.py."},
    }
    response = await client.post(f"/v1/issuers/{slug}/achievements", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"achievement: HTTP {response.status_code} {response.text[:300]}")
    achievement_id: str = response.json()["id"]
    return achievement_id
