"""Status list serving: GET rate of a list (200 and 304) and revoke-to-served latency.

Run: .venv/bin/python bench/status.py [--requests 6000] [--concurrency 16] [--revokes 20]
                                      [--postgres [--workers W] | --database-url URL]

1. The real service (`lattice serve`, SQLite in a temporary directory unless --database-url,
   or a throwaway PostgreSQL 15 with --postgres and W worker processes) issues a few
   credentials, which opens the issuer's revocation list.
2. GET of one list URL, N times from C concurrent clients, after a short warm-up: plain (200,
   the full signed BitstringStatusListCredential) and conditional with the ETag (304, no
   body).
3. For each of K credentials: the time of the revoke call; the time from sending it until a
   GET of the list shows the bit set (what a verifier without a cache would see); and, for
   1.2 s after the revoke answered, GETs on new connections (so, with several workers, from
   any of them), noting the latest one sent after the answer that still showed the old bit:
   the README promises none later than 1 s.

Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import Client, get, hammer
from pg import start_postgres, stop_postgres
from service import (
    Service,
    access_token,
    create_achievement,
    create_provider,
    start_service,
    stop_service,
)

from formats.bitstring import (
    decode_list,
    get_bit,
)


async def get_rate(
    service: Service, url: str, n: int, concurrency: int, etag: str | None
) -> dict[str, Any]:
    """Requests per second for n GETs of `url` (conditional when `etag` is given), from
    bench/load.py's lean keep-alive clients, and the service's CPU time per request: the
    rate moves with whatever else the shared machine runs, the CPU time much less."""
    base_url = service.base_url
    request = get(base_url, urlsplit(url).path, {"If-None-Match": etag} if etag else None)
    expected = 304 if etag else 200
    await hammer(base_url, request, min(n, 500), concurrency)  # warm-up: connections, caches
    cpu_before = service_cpu_seconds(service.process.pid)
    run = await hammer(base_url, request, n, concurrency, ok=lambda r: r.status == expected)
    cpu_us = (service_cpu_seconds(service.process.pid) - cpu_before) / n * 1e6
    return {
        "status": expected,
        "requests": n,
        "seconds": round(run.seconds, 3),
        "per_s": round(len(run.latencies) / run.seconds, 1),
        "service_cpu_us_per_request": round(cpu_us, 1),
        "unexpected": run.failed,
    }


def service_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces: split after its closing parenthesis.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        own = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(own)
        times[own] = (int(fields[11]) + int(fields[12])) / tick
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += times.get(current, 0.0)
        pending.extend(children.get(current, []))
    return total


async def revoke_latency(
    client: httpx.AsyncClient, base_url: str, issued: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per credential: the revoke call, send-to-bit-visible, and the last stale answer."""
    calls, visible, stale = [], [], []
    for credential in issued:
        # One revocation entry (an object) by default; an array only with suspension.
        status = credential["credential"]["credentialStatus"]
        entry = next(
            e
            for e in (status if isinstance(status, list) else [status])
            if e["statusPurpose"] == "revocation"
        )
        index = int(entry["statusListIndex"])
        request = get(base_url, urlsplit(entry["statusListCredential"]).path)
        await _fresh_get(base_url, request, index)  # every worker may now hold the list
        start = time.perf_counter()
        response = await client.post(
            f"/v1/credentials/{credential['id']}/revoke", json={"reason": "bench"}
        )
        answered = time.perf_counter()
        calls.append(answered - start)
        if response.status_code != 200:
            raise RuntimeError(f"revoke: HTTP {response.status_code} {response.text[:200]}")
        while not await _fresh_get(base_url, request, index):
            pass
        visible.append(time.perf_counter() - start)
        stale.append(await _last_stale(base_url, request, index, answered))
    return {
        "revokes": len(issued),
        "call_ms_median": _ms(statistics.median(calls)),
        "call_ms_max": _ms(max(calls)),
        "visible_ms_median": _ms(statistics.median(visible)),
        "visible_ms_max": _ms(max(visible)),
        "last_stale_after_answer_ms_max": _ms(max(stale)),
    }


async def _fresh_get(base_url: str, request: bytes, index: int) -> bool:
    """GET the list on a new connection (any worker may answer); is the bit set?"""
    client = await Client.connect(base_url)
    try:
        reply = await client.send(request)
    finally:
        await client.close()
    if reply.status != 200:
        raise RuntimeError(f"list: HTTP {reply.status}")
    return get_bit(decode_list(reply.json()["credentialSubject"]["encodedList"]), index)


async def _last_stale(base_url: str, request: bytes, index: int, answered: float) -> float:
    """Seconds after the revoke answered at which the last GET showing the old bit was sent
    (0 when none was), over 1.2 s of GETs."""
    last = 0.0
    while (sent := time.perf_counter()) < answered + 1.2:
        if not await _fresh_get(base_url, request, index):
            last = max(last, sent - answered)
        await asyncio.sleep(0.005)
    return last


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def measure(
    service: Service, credentials: tuple[str, str], slug: str, args: argparse.Namespace
) -> dict[str, Any]:
    base_url = service.base_url
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        client.headers["Authorization"] = f"Bearer {await access_token(client, *credentials)}"
        achievement_id = await create_achievement(client, slug)
        issued = []
        for index in range(args.revokes):
            response = await client.post(
                f"/v1/issuers/{slug}/credentials",
                json={
                    "achievementId": achievement_id,
                    "recipient": {"email": f"s{index}@example.org"},
                },
            )
            issued.append(response.json())
        url = issued[0]["credential"]["credentialStatus"]["statusListCredential"]
        first = await client.get(url)
        return {
            "list_bytes": len(first.content),
            "get_200": await get_rate(service, url, args.requests, args.concurrency, None),
            "get_304": await get_rate(
                service, url, args.requests, args.concurrency, first.headers["etag"]
            ),
            "revoke": await revoke_latency(client, base_url, issued),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=6000, help="GETs per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent GET clients")
    parser.add_argument("--revokes", type=int, default=20, help="credentials to revoke")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="service database (default: fresh SQLite)")
    where.add_argument(
        "--postgres", action="store_true", help="serve from a throwaway PostgreSQL 15"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="service processes (more than 1: --postgres)"
    )
    args = parser.parse_args()
    if args.workers > 1 and not (args.postgres or args.database_url):
        sys.exit("--workers > 1 needs PostgreSQL (SQLite serves from one process)")
    postgres = start_postgres("lattice_bench") if args.postgres else None
    try:
        database_url = postgres.url("lattice_bench") if postgres else args.database_url
        figures = run(database_url, args)
    finally:
        if postgres:
            stop_postgres(postgres)
    report(figures, args)


def run(database_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
        service = start_service(Path(tmp), database_url, args.workers)
        try:
            slug = "status-bench"
            figures = asyncio.run(measure(service, create_provider(service, slug), slug, args))
        finally:
            stop_service(service)
    database = "postgresql" if database_url and "postgresql" in database_url else "sqlite"
    return {"database": database, "workers": args.workers} | figures


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"status list: {figures['list_bytes']} bytes; {figures['database']}, "
        f"{figures['workers']} worker(s)"
    )
    for key in ("get_200", "get_304"):
        row = figures[key]
        print(
            f"GET {row['status']}: {row['per_s']:>8.1f} req/s ({row['requests']} requests, "
            f"{args.concurrency} clients, {row['unexpected']} unexpected); service CPU "
            f"{row['service_cpu_us_per_request']} us/request"
        )
    revoke = figures["revoke"]
    print(
        f"revoke call: median {revoke['call_ms_median']} ms, max {revoke['call_ms_max']} ms; "
        f"revoke sent -> bit served: median {revoke['visible_ms_median']} ms, "
        f"max {revoke['visible_ms_max']} ms; last old bit served "
        f"{revoke['last_stale_after_answer_ms_max']} ms after the revoke answered (bound 1000)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
