"""Run `lattice serve` as a separate OS process, for tests that kill or multiply it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LATTICE = shutil.which("lattice", path=str(Path(sys.executable).parent)) or "lattice"


def _port_range() -> range | None:
    """This suite's own ports (LATTICE_TEST_PORTS, "20000-26000"): scripts/test runs the
    SQLite and PostgreSQL suites at once, each in a range of its own below the kernel's
    ephemeral ports, so neither ever picks a port the other (or a client) is about to use."""
    spec = os.environ.get("LATTICE_TEST_PORTS")
    if not spec:
        return None
    low, _, high = spec.partition("-")
    return range(int(low), int(high))


def free_port() -> int:
    """A loopback port free now (a server started soon after binds it)."""
    ports = _port_range()
    for _ in range(200):
        candidate = 0 if ports is None else random.choice(ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise RuntimeError(f"no free port in {ports}")


def service_env(database_url: str, data_dir: Path, master_key: str, **extra: str) -> dict[str, str]:
    """A clean environment for one service process on its own port."""
    port = free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LATTICE_")}
    return (
        clean
        | {
            "LATTICE_DATABASE_URL": database_url,
            "LATTICE_DATA_DIR": str(data_dir),
            "LATTICE_MASTER_KEY": master_key,
            "LATTICE_PORT": str(port),
            "LATTICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "LATTICE_LOG_LEVEL": "warning",
        }
        | extra
    )


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"lattice serve exited: {output[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("lattice serve did not become healthy")
        time.sleep(0.1)


@contextmanager
def running_service(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`lattice serve` in its own process group (so its signing workers die with it)."""
    process = subprocess.Popen(
        [LATTICE, "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(env["LATTICE_PUBLIC_URL"], process)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the service and its workers: no shutdown code runs, as in a power cut."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
