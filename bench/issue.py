"""Issuance throughput: the signing library, the HTTP API with its database, and the Node anchor.

Run: .venv/bin/python bench/issue.py [--n 300] [--batches 3] [--skip-node] [--one-recipient]
                                     [--database-url URL | --postgres [--workers W]]

What is measured, all in one run on the same machine so the ratios mean something:

1. Library sign rate, one process: `build_credential` + `sign_credential` over N distinct
   credentials (fresh ids and salted recipient hashes, so no cache sees the same document
   twice), once with the Data Integrity proof only and once with the RS256 VC-JWT as well.
2. End to end through the real service (`lattice serve` as a subprocess, SQLite in a temporary
   directory unless --database-url names another database or --postgres asks for a throwaway
   PostgreSQL 15 with W service processes): a warm-up of single issues (each service process
   fills its caches and connection pool on its first requests), N timed single issues from C
   concurrent clients, each to a teacher of its own (--one-recipient: all to one teacher, so
   every write waits in turn for that teacher's lookup-key lock), then batches of 1000 awards.
   The single issues are sent by the lean keep-alive load generator (`bench/load.py`): httpx
   spends ~3 ms of CPU per request on these two cores, which would be measured as the
   service's. The first batch starts the service's signing process pool, so it is reported
   apart as the warm-up and the rate is that of the batches after it.
3. The anchor: `node bench.mjs 200` in ../shared/interop, the Digital Bazaar stack signing
   eddsa-rdfc-2022 in one process (`sign_per_s`). Its credential is a little smaller than ours
   (no extensions context, credentialSchema or identifier), which favours Node slightly.

The target is an end-to-end batch rate at least the Node bare sign rate: the service, with its
validation, JWT and database writes, should issue as fast as the reference library only signs.
Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import hammer
from pg import start_postgres, stop_postgres
from service import (
    LATTICE,
    Service,
    access_token,
    create_achievement,
    create_provider,
    log_problems,
    start_service,
    stop_service,
)

from badges.issuing.credential_document import (
    CredentialContent,
    build_credential,
)
from badges.issuing.recipients import (
    Recipient,
    identities_for,
)
from badges.issuing.signing import (
    SigningKeys,
    sign_credential,
)
from keys.keypair import KeyAlgorithm, KeyPair

INTEROP = ROOT.parent / "shared" / "interop"
LIBRARY_URL = "http://127.0.0.1:8000"
LIBRARY_DID = "did:web:127.0.0.1%3A8000:issuers:bench"
LIBRARY_WARMUP = 5
NODE_N = 200
HTTP_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


@dataclass
class Rate:
    """`count` credentials in `seconds`."""

    label: str
    count: int
    seconds: float
    detail: str = ""

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


@dataclass
class HttpFigures:
    single_warmup: Rate
    single: Rate
    single_latency_ms: dict[str, float]
    batch_warmup: Rate
    batch: Rate
    batch_seconds: list[float]
    problems: list[str] = field(default_factory=list)


# --- 1. the library ----------------------------------------------------------------------


def library_keys(with_jwt: bool) -> SigningKeys:
    proof = KeyPair.generate(KeyAlgorithm.ED25519)
    method = f"{LIBRARY_DID}#key-1"
    if not with_jwt:
        return SigningKeys(KeyAlgorithm.ED25519, proof.private_bytes(), method)
    jwt = KeyPair.generate(KeyAlgorithm.RSA)
    return SigningKeys(
        proof_algorithm=KeyAlgorithm.ED25519,
        proof_key=proof.private_bytes(),
        verification_method=method,
        jwt_algorithm=KeyAlgorithm.RSA,
        jwt_key=jwt.private_bytes(),
        jwt_kid=f"{LIBRARY_DID}#key-2",
    )


def unsigned_credential(index: int) -> dict[str, Any]:
    """An award like the service builds: e-mail recipient, hashed with a fresh salt."""
    achievement_id = f"{LIBRARY_URL}/achievements/{uuid.UUID(int=1)}"
    identities = identities_for(Recipient(email=f"t{index}@example.org"))
    content = CredentialContent(
        credential_id=f"{LIBRARY_URL}/credentials/{uuid.uuid4()}",
        issuer={"id": LIBRARY_DID, "type": ["Profile"], "name": "Bench Issuer"},
        achievement={
            "id": achievement_id,
            "type": ["Achievement"],
            "achievementType": "MicroCredential",
            "name": "Bench Achievement",
            "description": "Awarded by the issuance benchmark.",
            "criteria": {"narrative": "Be issued by bench/issue.py."},
        },
        valid_from=datetime.now(UTC),
        identifiers=[identity.as_json() for identity in identities],
    )
    return build_credential(content)


def library_rate(label: str, keys: SigningKeys, n: int) -> Rate:
    """Build and sign n distinct credentials, after a few warm-up signatures."""
    created = datetime.now(UTC)
    for index in range(LIBRARY_WARMUP):
        sign_credential(unsigned_credential(-1 - index), keys, created)
    start = time.perf_counter()
    for index in range(n):
        sign_credential(unsigned_credential(index), keys, created)
    return Rate(label, n, time.perf_counter() - start)


# --- 3. the Node anchor --------------------------------------------------------------------


def node_anchor(n: int) -> tuple[dict[str, Any] | None, str]:
    """`node bench.mjs n`'s JSON line, or None and the reason it could not run."""
    node = shutil.which("node")
    if node is None:
        return None, "node is not on PATH"
    if not (INTEROP / "node_modules").is_dir():
        return None, f"{INTEROP / 'node_modules'} is missing (npm ci there)"
    result = subprocess.run(
        [node, "bench.mjs", str(n)],
        cwd=INTEROP,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return None, f"node bench.mjs exited {result.returncode}: {result.stderr[-300:]}"
    return json.loads(lines[-1]), ""


# --- 2. the service ------------------------------------------------------------------------


# --- 2. the HTTP measurements --------------------------------------------------------------


def award(achievement_id: str, index: int) -> dict[str, Any]:
    return {"achievementId": achievement_id, "recipient": {"email": f"t{index}@example.org"}}


def status_summary(label: str, statuses: Counter[int | str], expected: int) -> list[str]:
    unexpected = {status: count for status, count in statuses.items() if status != expected}
    return [f"{label}: {count}x {status}" for status, count in sorted(unexpected.items(), key=str)]


def single_request(base_url: str, path: str, token: str, body: dict[str, Any]) -> bytes:
    """The bytes of one authorised `POST path` with a JSON body, for `load.hammer`."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {base_url.split('://', 1)[1]}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def single_rate(
    base_url: str,
    token: str,
    slug: str,
    achievement_id: str,
    n: int,
    concurrency: int,
    recipients: range,
) -> tuple[Rate, list[float], Counter[int | str]]:
    """n single issues from `concurrency` keep-alive clients, to the teachers `recipients`
    in turn; 201s counted, latencies of all."""
    path = f"/v1/issuers/{slug}/credentials"
    requests = [
        single_request(base_url, path, token, award(achievement_id, index))
        for index in recipients[:n]
    ]
    run = await hammer(base_url, requests, n, concurrency, ok=lambda reply: reply.status == 201)
    statuses: Counter[int | str] = Counter(
        {
            int(status) if status.isdigit() else status: count
            for status, count in run.statuses.items()
        }
    )
    rate = Rate(f"e2e single, {concurrency} clients", statuses[201], run.seconds)
    return rate, run.latencies, statuses


async def one_batch(
    client: httpx.AsyncClient, slug: str, achievement_id: str, first: int, size: int
) -> tuple[int, float, list[str]]:
    """(credentials issued, seconds, problems) for one batch request."""
    items = [award(achievement_id, first + offset) for offset in range(size)]
    start = time.perf_counter()
    response = await client.post(f"/v1/issuers/{slug}/credentials:batch", json={"items": items})
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        return 0, elapsed, [f"batch: HTTP {response.status_code} {response.text[:200]}"]
    body = response.json()
    problems = [f"batch: {body['failed']} of {size} items failed"] if body["failed"] else []
    return body["succeeded"], elapsed, problems


async def batch_rates(
    client: httpx.AsyncClient, slug: str, achievement_id: str, batches: int, size: int, first: int
) -> tuple[Rate, Rate, list[float], list[str]]:
    """One warm-up batch (it starts the signing pool), then `batches` timed ones."""
    issued, seconds, problems = await one_batch(client, slug, achievement_id, first, size)
    warmup = Rate("e2e batch, warm-up (pool start)", issued, seconds, f"1 x {size}")
    total, durations = 0, []
    for number in range(batches):
        start_index = first + (number + 1) * size
        issued, seconds, found = await one_batch(client, slug, achievement_id, start_index, size)
        total += issued
        durations.append(seconds)
        problems += found
    warm = Rate("e2e batch, warm", total, sum(durations), f"{batches} x {size}")
    return warmup, warm, durations, problems


def percentiles_ms(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        return {}
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50": round(cuts[49] * 1000, 1),
        "p95": round(cuts[94] * 1000, 1),
        "max": round(max(latencies) * 1000, 1),
    }


async def measure_http(
    service: Service, credentials: tuple[str, str], slug: str, args: argparse.Namespace
) -> HttpFigures:
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=service.base_url, timeout=HTTP_TIMEOUT, limits=limits
    ) as client:
        token = await access_token(client, *credentials)
        client.headers["Authorization"] = f"Bearer {token}"
        achievement_id = await create_achievement(client, slug)
        # Teachers 0 .. n-1 for the timed single issues, then the batches', then the
        # warm-up's; with --one-recipient every single issue names teacher 0.
        timed = range(1) if args.one_recipient else range(args.n)
        warmup_from = args.n + (args.batches + 1) * args.batch_size
        single_warmup, _, warmup_statuses = await single_rate(
            service.base_url,
            token,
            slug,
            achievement_id,
            args.single_warmup,
            args.concurrency,
            timed if args.one_recipient else range(warmup_from, warmup_from + args.single_warmup),
        )
        single_warmup.label += ", warm-up"
        # With several service processes, each new connection goes to the one holding the
        # fewest; a process counts a connection closed when its event loop sees the close,
        # so clients reconnecting within milliseconds of the warm-up's closing could be
        # placed by counts a few closes behind (seen: 6 and 2 instead of 4 and 4).
        await asyncio.sleep(0.5)
        single, latencies, statuses = await single_rate(
            service.base_url, token, slug, achievement_id, args.n, args.concurrency, timed
        )
        warmup, batch, durations, problems = await batch_rates(
            client, slug, achievement_id, args.batches, args.batch_size, first=args.n
        )
    return HttpFigures(
        single_warmup=single_warmup,
        single=single,
        single_latency_ms=percentiles_ms(latencies),
        batch_warmup=warmup,
        batch=batch,
        batch_seconds=[round(seconds, 2) for seconds in durations],
        problems=status_summary("single warm-up", warmup_statuses, 201)
        + status_summary("single", statuses, 201)
        + problems,
    )


def run_service_bench(args: argparse.Namespace) -> HttpFigures:
    postgres = start_postgres("lattice_bench") if args.postgres else None
    try:
        database_url = postgres.url("lattice_bench") if postgres else args.database_url
        return _serve_and_measure(database_url, args)
    finally:
        if postgres:
            stop_postgres(postgres)


def _serve_and_measure(database_url: str | None, args: argparse.Namespace) -> HttpFigures:
    # A fixed slug on a fresh SQLite file; a unique one on a database that may hold earlier runs.
    slug = f"bench-{secrets.token_hex(3)}" if database_url else "bench"
    with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
        service = start_service(Path(tmp), database_url, args.workers)
        try:
            credentials = create_provider(service, slug)
            figures = asyncio.run(measure_http(service, credentials, slug, args))
        finally:
            stop_service(service)
        figures.problems += [f"service log: {line}" for line in log_problems(service)[:10]]
    return figures


# --- 4. the report -------------------------------------------------------------------------


def ratio(rate: float, anchor: float | None) -> float | None:
    return round(rate / anchor, 2) if anchor else None


def print_table(rates: list[Rate], anchor: float | None) -> None:
    header = f"{'measurement':<36} {'count':>6} {'seconds':>8} {'cred/s':>8} {'x Node':>7}"
    print(header)
    print("-" * len(header))
    for rate in rates:
        versus = ratio(rate.per_second, anchor)
        shown = f"{versus:.2f}" if versus is not None else "-"
        print(
            f"{rate.label:<36} {rate.count:>6} {rate.seconds:>8.2f} "
            f"{rate.per_second:>8.1f} {shown:>7}"
        )


def report(
    library: list[Rate], http: HttpFigures, node: dict[str, Any] | None, node_note: str, args: Any
) -> None:
    anchor = float(node["sign_per_s"]) if node else None
    rows = [*library, http.single_warmup, http.single, http.batch_warmup, http.batch]
    if anchor is not None:
        rows.append(Rate(f"Node sign (bench.mjs {NODE_N})", NODE_N, NODE_N / anchor))
    print_table(rows, anchor)
    met = http.batch.per_second >= anchor if anchor else None
    print(f"single latency ms: {http.single_latency_ms}; warm batch seconds: {http.batch_seconds}")
    if anchor is None:
        print(f"Node anchor skipped: {node_note}")
    else:
        verdict = "MET" if met else "NOT met"
        print(f"target e2e batch >= Node sign ({anchor:.1f}/s): {verdict}")
    for problem in http.problems:
        print(f"problem: {problem}")
    figures = {
        "config": {
            "n": args.n,
            "concurrency": args.concurrency,
            "batches": args.batches,
            "batch_size": args.batch_size,
            "database": database_label(args),
            "workers": args.workers,
            "one_recipient": args.one_recipient,
            "cpus": os.cpu_count(),
        },
        "library_di_per_s": round(library[0].per_second, 1),
        "library_di_rs256_per_s": round(library[1].per_second, 1),
        "e2e_single_per_s": round(http.single.per_second, 1),
        "e2e_single_latency_ms": http.single_latency_ms,
        "e2e_batch_warmup_per_s": round(http.batch_warmup.per_second, 1),
        "e2e_batch_per_s": round(http.batch.per_second, 1),
        "e2e_batch_seconds": http.batch_seconds,
        "node_sign_per_s": anchor,
        "node_note": node_note or None,
        "ratio_batch_to_node": ratio(http.batch.per_second, anchor),
        "ratio_single_to_node": ratio(http.single.per_second, anchor),
        "ratio_library_di_rs256_to_node": ratio(library[1].per_second, anchor),
        "ratio_library_di_to_node": ratio(library[0].per_second, anchor),
        "target_met": met,
        "problems": http.problems,
    }
    print(json.dumps(figures))


def database_label(args: argparse.Namespace) -> str:
    if args.postgres:
        return "postgresql"
    return "custom" if args.database_url else "sqlite"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=300, help="credentials for library and single")
    parser.add_argument(
        "--single-warmup", type=int, default=300, help="single issues before the timed ones"
    )
    parser.add_argument("--batches", type=int, default=3, help="timed batches after the warm-up")
    parser.add_argument("--batch-size", type=int, default=1000, help="awards per batch request")
    parser.add_argument("--concurrency", type=int, default=8, help="clients for single issues")
    parser.add_argument("--database-url", help="service database (default: a fresh SQLite file)")
    parser.add_argument(
        "--postgres", action="store_true", help="serve from a throwaway PostgreSQL 15"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="service processes (more than 1: --postgres)"
    )
    parser.add_argument(
        "--one-recipient",
        action="store_true",
        help="every single issue names the same teacher (each write waits for the one "
        "lookup key's lock in turn) instead of a teacher of its own",
    )
    parser.add_argument("--skip-node", action="store_true", help="do not run the Node anchor")
    args = parser.parse_args()
    if args.postgres and args.database_url:
        parser.error("--postgres and --database-url name two databases; give one")
    if args.workers > 1 and not (args.postgres or args.database_url):
        parser.error("--workers > 1 needs PostgreSQL (SQLite serves from one process)")
    return args


def main() -> None:
    args = parse_args()
    if not LATTICE.exists():
        sys.exit(f"{LATTICE} not found: run with the project's .venv/bin/python")
    library = [
        library_rate("library sign, DI proof only", library_keys(with_jwt=False), args.n),
        library_rate("library sign, DI + RS256 VC-JWT", library_keys(with_jwt=True), args.n),
    ]
    # The anchor runs before the service starts, so the two never share the CPUs.
    node, node_note = (None, "--skip-node") if args.skip_node else node_anchor(NODE_N)
    http = run_service_bench(args)
    report(library, http, node, node_note, args)


if __name__ == "__main__":
    main()
