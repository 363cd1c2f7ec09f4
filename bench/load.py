"""A lean HTTP/1.1 load generator for the latency benchmarks.

Each simulated client is one keep-alive connection with one request in flight, and every
request's bytes are built once. httpx spends about 3 ms of CPU per request on the 2-core
bench machine, more than the service itself, so a load generator built on it mostly
measures itself; this one spends a few hundred microseconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_NO_BODY = frozenset({204, 304})


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def post_json(base_url: str, path: str, body: Any) -> bytes:
    """The bytes of one `POST path` with a JSON body, for `Client.send`."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    return _request(base_url, "POST", path, {"Content-Type": "application/json"}, payload)


def get(base_url: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one `GET path`, for `Client.send`."""
    return _request(base_url, "GET", path, headers or {}, b"")


def _request(
    base_url: str, method: str, path: str, headers: dict[str, str], payload: bytes
) -> bytes:
    fields = {
        "Host": urlsplit(base_url).netloc,
        "Accept": "application/json",
        **headers,
        **({"Content-Length": str(len(payload))} if payload else {}),
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + payload


class Client:
    """One keep-alive connection to the service."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, base_url: str) -> Client:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http:// services are load-tested, not {base_url}")
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer)

    async def send(self, request: bytes) -> Reply:
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None and (status in _NO_BODY or 100 <= status < 200):
            length = 0
        if length is None:
            raise RuntimeError(f"HTTP {status} without Content-Length: {head[:200]!r}")
        return Reply(status, await self._reader.readexactly(length))

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


@dataclass
class Run:
    """What `hammer` saw: seconds per request, replies by status, and the failed checks."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failed: int = 0


async def hammer(
    base_url: str,
    request: bytes | Sequence[bytes],
    requests: int,
    concurrency: int,
    ok: Callable[[Reply], bool] | None = None,
) -> Run:
    """Send `request` `requests` times from `concurrency` connections; `ok(reply)` says
    whether a reply counts as a success (default: status 200). Given several requests, the
    i-th sent is `request[i % len(request)]`."""
    cycle = [request] if isinstance(request, bytes) else list(request)
    clients = [await Client.connect(base_url) for _ in range(concurrency)]
    remaining = iter(range(requests))
    run = Run(0.0)

    async def one_client(client: Client) -> None:
        for index in remaining:
            start = time.perf_counter()
            try:
                reply = await client.send(cycle[index % len(cycle)])
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as error:
                run.statuses[type(error).__name__] += 1
                run.failed += 1
                return  # the connection is unusable: this client stops
            run.latencies.append(time.perf_counter() - start)
            run.statuses[str(reply.status)] += 1
            run.failed += not (ok(reply) if ok is not None else reply.status == 200)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(one_client(client) for client in clients))
    finally:
        run.seconds = time.perf_counter() - start
        for client in clients:
            await client.close()
    return run
