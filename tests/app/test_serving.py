"""`lattice serve` with several processes: the parent hands each new connection to the
process holding the fewest, replaces a process that dies, and stops them all on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from uvicorn.config import STARTUP_FAILURE

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE = """
import sys, uvicorn
from app.serving import serve_balanced
config = uvicorn.Config("tests.app.serving_app:app", port={port}, log_level="warning")
sys.exit(serve_balanced(config, {workers}))
"""


@contextmanager
def balanced(workers: int, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(port=port, workers=workers)],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        yield process, base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def served_by(client: httpx.Client) -> int:
    return int(client.get("/").text)


def wait_for_processes(base_url: str, count: int, timeout: float = 30) -> set[int]:
    """Connect until `count` distinct processes have answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {seen} answered"
        try:
            with httpx.Client(base_url=base_url, timeout=5) as client:
                seen.add(served_by(client))
        except httpx.TransportError:
            time.sleep(0.1)
    return seen


def connections(stack: ExitStack, base_url: str, count: int) -> list[httpx.Client]:
    """`count` keep-alive connections (one client each), each having made one request."""
    clients = [
        stack.enter_context(httpx.Client(base_url=base_url, timeout=5)) for _ in range(count)
    ]
    for client in clients:
        served_by(client)
    return clients


def test_keep_alive_connections_are_spread_evenly_over_the_processes() -> None:
    with balanced(2) as (_, base_url), ExitStack() as stack:
        wait_for_processes(base_url, 2)
        clients = connections(stack, base_url, 8)
        owners = [served_by(client) for client in clients]
        assert sorted(Counter(owners).values()) == [4, 4]
        # Each connection stays with its process.
        assert [served_by(client) for client in clients] == owners


def test_clients_that_connect_while_one_process_has_yet_to_start_are_spread_too(
    tmp_path: Path,
) -> None:
    stagger = str(tmp_path / "first-started")
    with balanced(2, SERVING_APP_STAGGER=stagger) as (_, base_url), ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=base_url, timeout=30)) for _ in range(8)
        ]

        def first_answer(client: httpx.Client) -> int:
            while True:  # until the port is bound; then the connection waits to be served
                try:
                    return served_by(client)
                except httpx.ConnectError:
                    time.sleep(0.01)

        while not Path(stagger).exists():  # one process has started, the other has not
            time.sleep(0.01)
        time.sleep(0.2)
        with ThreadPoolExecutor(8) as pool:
            owners = list(pool.map(first_answer, clients))

        assert sorted(Counter(owners).values()) == [4, 4]


def test_new_connections_go_to_the_process_whose_connections_closed() -> None:
    with balanced(2) as (_, base_url), ExitStack() as stack:
        wait_for_processes(base_url, 2)
        clients = connections(stack, base_url, 8)
        owners = [served_by(client) for client in clients]
        emptied = owners[0]
        for client, owner in zip(clients, owners, strict=True):
            if owner == emptied:
                client.close()
        time.sleep(0.2)  # the server sees the closes
        again = [served_by(client) for client in connections(stack, base_url, 4)]
        assert again == [emptied] * 4


def test_a_process_that_dies_is_replaced() -> None:
    with balanced(2) as (_, base_url):
        first = wait_for_processes(base_url, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        later = wait_for_processes(base_url, 2)
        assert victim not in later
        assert len(later & first) == 1


def test_sigterm_stops_the_parent_and_every_process() -> None:
    with balanced(2) as (parent, base_url):
        children = wait_for_processes(base_url, 2)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        assert not any(alive(pid) for pid in children)


def test_processes_whose_parent_was_killed_finish_and_exit() -> None:
    with balanced(2) as (parent, base_url):
        children = wait_for_processes(base_url, 2)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in children):
            assert time.monotonic() < deadline, "a service process outlived its parent"
            time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of the killed parent is reparented to init, which reaps it; until then a
    # zombie still answers signal 0.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_an_app_that_cannot_start_stops_the_service_with_uvicorns_startup_status() -> None:
    with balanced(2, SERVING_APP_FAIL="1") as (parent, _):
        assert parent.wait(timeout=60) == STARTUP_FAILURE
