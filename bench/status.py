"""Status list serving: GET rate of a list (200 and 304) and revoke-to-served latency.

Run: .venv/bin/python bench/status.py [--requests 2000] [--concurrency 16] [--revokes 20]

1. The real service (`lattice serve`, SQLite in a temporary directory unless --database-url)
   issues a few credentials, which opens its revocation and suspension lists.
2. GET of one list URL, N times from C concurrent clients: plain (200, the full signed
   BitstringStatusListCredential) and conditional with the ETag (304, no body).
3. For each of K credentials: the time of the revoke call, and the time from sending it until
   a fresh GET of the list shows the bit set (what a verifier without a cache would see).

Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from load import get, hammer  # noqa: E402  (bench/load.py)
from service import (  # noqa: E402  (bench/service.py, next to this script)
    access_token,
    create_achievement,
    create_provider,
    start_service,
    stop_service,
)

from badges.bitstring import decode_list, get_bit  # noqa: E402


async def get_rate(
    base_url: str, url: str, n: int, concurrency: int, etag: str | None
) -> dict[str, Any]:
    """Requests per second for n GETs of `url` (conditional when `etag` is given), from
    bench/load.py's lean keep-alive clients."""
    request = get(base_url, urlsplit(url).path, {"If-None-Match": etag} if etag else None)
    expected = 304 if etag else 200
    run = await hammer(base_url, request, n, concurrency, ok=lambda r: r.status == expected)
    return {
        "status": expected,
        "requests": n,
        "seconds": round(run.seconds, 3),
        "per_s": round(len(run.latencies) / run.seconds, 1),
        "unexpected": run.failed,
    }


async def revoke_latency(client: httpx.AsyncClient, issued: list[dict[str, Any]]) -> dict[str, Any]:
    """Per credential: the revoke call, and send-to-bit-visible on a fresh list GET."""
    calls, visible = [], []
    for credential in issued:
        # One revocation entry (an object) by default; an array only with suspension.
        status = credential["credential"]["credentialStatus"]
        entry = next(
            e
            for e in (status if isinstance(status, list) else [status])
            if e["statusPurpose"] == "revocation"
        )
        start = time.perf_counter()
        response = await client.post(
            f"/v1/credentials/{credential['id']}/revoke", json={"reason": "bench"}
        )
        calls.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"revoke: HTTP {response.status_code} {response.text[:200]}")
        while True:
            listed = (await client.get(entry["statusListCredential"])).json()
            bits = decode_list(listed["credentialSubject"]["encodedList"])
            if get_bit(bits, int(entry["statusListIndex"])):
                visible.append(time.perf_counter() - start)
                break
    return {
        "revokes": len(issued),
        "call_ms_median": _ms(statistics.median(calls)),
        "call_ms_max": _ms(max(calls)),
        "visible_ms_median": _ms(statistics.median(visible)),
        "visible_ms_max": _ms(max(visible)),
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def measure(
    base_url: str, credentials: tuple[str, str], slug: str, args: argparse.Namespace
) -> dict[str, Any]:
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
            "get_200": await get_rate(base_url, url, args.requests, args.concurrency, None),
            "get_304": await get_rate(
                base_url, url, args.requests, args.concurrency, first.headers["etag"]
            ),
            "revoke": await revoke_latency(client, issued),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="GETs per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent GET clients")
    parser.add_argument("--revokes", type=int, default=20, help="credentials to revoke")
    parser.add_argument("--database-url", help="service database (default: fresh SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
        service = start_service(Path(tmp), args.database_url)
        try:
            slug = "status-bench"
            figures = asyncio.run(
                measure(service.base_url, create_provider(service, slug), slug, args)
            )
        finally:
            stop_service(service)
    print(f"status list: {figures['list_bytes']} bytes")
    for key in ("get_200", "get_304"):
        row = figures[key]
        print(
            f"GET {row['status']}: {row['per_s']:>8.1f} req/s ({row['requests']} requests, "
            f"{args.concurrency} clients, {row['unexpected']} unexpected)"
        )
    revoke = figures["revoke"]
    print(
        f"revoke call: median {revoke['call_ms_median']} ms, max {revoke['call_ms_max']} ms; "
        f"revoke sent -> bit served: median {revoke['visible_ms_median']} ms, "
        f"max {revoke['visible_ms_max']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
