"""Verification throughput and latency: the verifier library, `POST /v1/verify`, the Node anchor.

Run: .venv/bin/python bench/verify.py [--n 200] [--requests 400] [--concurrency 8]
                                      [--postgres [--workers W]] [--skip-node] [--profile]
                                      [--rounds R]

What is measured, all in one run on the same machine so the ratios mean something:

1. Library verify rate, one process, sequential, N distinct credentials of each kind, after a
   few warm-up verifications (a Verifier with every check of OB 3.0 §9.1: parse, JSON-LD safe
   mode, JSON schema, proof, key binding, status, validity, endorsements):
   - own: built and signed as the service does (bench/issue.py's credentials, Ed25519 did:web
     issuer key), the Data Integrity form and the RS256 VC-JWT; the issuer's DID document is
     served by a MappedFetcher, as the service's OwnIssuerKeys answers it from its database;
   - foreign: did:key credentials signed by the interop harness (Node, Digital Bazaar stack),
     made in one Node process by tests/interop_helpers/issue_variant.mjs --count N.
   No status lists here: the Node anchor's credentials have none either.
2. The anchor: `node bench.mjs N` in ../shared/interop, its verify rates with
   @digitalbazaar/vc and with verifier-core (the same sequential, one-process setting).
3. `POST /v1/verify` against the real service (`lattice serve` on SQLite in a temporary
   directory, or with --postgres on a throwaway PostgreSQL 15 server with W service
   processes, set up with the CLI): R requests from C concurrent clients for an own credential
   by URL (read from the store, keys cached, status read from the database), the same
   credential posted as JSON, and a foreign did:key credential posted; p50/p95/max latency.

--rounds R repeats 1. and 2. R times, alternately, each round with fresh credentials (so no
cache is warmer than in round one), and reports the best rate of each row and the ratio of the
bests; the JSON line adds every round's rates. On a machine shared with other work this reads
both sides at their least disturbed rather than at whichever moment each happened to run.

Each HTTP body is also sent by one client alone, which gives the service time of a request
without queueing. Targets: the own-credential library rate at least Node's `vc` verify rate;
p95 under 50 ms for the own credential by URL.

--profile adds two cProfiles (the event-loop thread merged with the default executor's worker
thread, should anything run there): the own-credential library loop, and sequential
`POST /v1/verify` of the own credential by URL served in-process (the same app, settings and
database as the service, through httpx's ASGI transport, after the service has stopped).
Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from issue import (
    INTEROP,
    LIBRARY_DID,
    Rate,
    library_keys,
    node_anchor,
    percentiles_ms,
    unsigned_credential,
)
from load import Reply, hammer, post_json
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

from app.main import create_app
from app.settings import Settings
from app.state import build_state
from badges.issuing.signing import (
    SigningKeys,
    sign_credential,
)
from keys.did_web import PublishedKey, build_did_document, did_web_document_url
from keys.keypair import KeyPair
from verification import Verifier
from verification.fetch import MappedFetcher

HELPER = ROOT / "tests" / "interop_helpers" / "issue_variant.mjs"
WARMUP = 10
LATENCY_TARGET_MS = 50.0


# --- 1. the library ------------------------------------------------------------------------


@dataclass
class Corpus:
    """What the library loop verifies, and the verifier that knows the issuers' keys."""

    label: str
    presented: list[str]  # JSON text or compact JWS, as a verifier receives them
    verifier: Verifier


def own_corpus(n: int) -> tuple[Corpus, Corpus]:
    """N + WARMUP own credentials, Data Integrity and RS256 VC-JWT, and their DID document."""
    keys = library_keys(with_jwt=True)
    created = datetime.now(UTC)
    signed = [
        sign_credential(unsigned_credential(index), keys, created) for index in range(n + WARMUP)
    ]
    document = build_did_document(LIBRARY_DID, published_keys(keys))
    fetcher = MappedFetcher({did_web_document_url(LIBRARY_DID): json.dumps(document)})
    verifier = Verifier(fetcher=fetcher)
    return (
        Corpus("own, Data Integrity", [item.document for item in signed], verifier),
        Corpus("own, RS256 VC-JWT", [str(item.jwt) for item in signed], verifier),
    )


def published_keys(keys: SigningKeys) -> list[PublishedKey]:
    """The proof key as `#key-1` and the JWT key as `#key-2`, as library_keys names them."""
    assert keys.jwt_algorithm is not None and keys.jwt_key is not None
    proof = KeyPair.from_private_bytes(keys.proof_algorithm, keys.proof_key)
    jwt = KeyPair.from_private_bytes(keys.jwt_algorithm, keys.jwt_key)
    return [
        PublishedKey("key-1", keys.proof_algorithm, proof.public_key),
        PublishedKey("key-2", keys.jwt_algorithm, jwt.public_key),
    ]


def foreign_credentials(count: int) -> tuple[list[str], str]:
    """`count` distinct did:key credentials signed by the Node harness, or why there are none."""
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules").is_dir():
        return [], "node or ../shared/interop/node_modules missing (npm ci there)"
    result = subprocess.run(
        [node, str(HELPER), "--count", str(count)],
        cwd=INTEROP,
        env={**os.environ, "LATTICE_INTEROP_DIR": str(INTEROP)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != count:
        return [], f"issue_variant.mjs exited {result.returncode}: {result.stderr[-300:]}"
    return lines, ""


async def library_rate(corpus: Corpus, n: int) -> tuple[Rate, int]:
    """Verify WARMUP, then n credentials one after another; (rate, how many not verified)."""
    for item in corpus.presented[:WARMUP]:
        await corpus.verifier.verify(item)
    failed = 0
    start = time.perf_counter()
    for item in corpus.presented[WARMUP : WARMUP + n]:
        failed += not (await corpus.verifier.verify(item)).verified
    return Rate(f"library verify, {corpus.label}", n, time.perf_counter() - start), failed


async def profiled(work: Callable[[], Awaitable[object]]) -> pstats.Stats:
    """cProfile `work` on the event-loop thread and on the default executor's one worker."""
    main, worker = cProfile.Profile(), cProfile.Profile()
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1, initializer=worker.enable)
    loop.set_default_executor(pool)
    main.enable()
    try:
        await work()
    finally:
        main.disable()
        await loop.run_in_executor(pool, worker.disable)
    stats = pstats.Stats(main)
    stats.add(worker)
    return stats


# Where a verification spends its time: (label, file path suffix, function). Coroutines count
# only while they run (each resumption is a call), so awaiting the database is not in them.
HOTSPOTS: Final = (
    ("whole request (ASGI app)", "starlette/applications.py", "__call__"),
    ("  session + transaction dependency", "app/deps.py", "get_session"),
    ("  own_credential: stored credential", "app/routers/verification/verify.py", "own_credential"),
    ("  verifier pipeline", "verification/pipeline.py", "_run"),
    *(
        (f"    step {name}", f"verification/steps/{name}.py", "run")
        for name in ("parse", "jsonld", "schema", "proof", "status", "validity", "endorsements")
    ),
    ("      JSON-LD expand (pyld)", "schemas/jsonld.py", "expand"),
    ("      JSON schema (jsonschema)", "schemas/json_schemas.py", "schema_errors"),
    ("      proof check", "verification/steps/proof.py", "_verify"),
    ("        RDFC-1.0 canonicalize, document", "schemas/jsonld.py", "canonicalize"),
    ("        RDFC-1.0 proof configuration", "schemas/jsonld.py", "canonicalize_proof_config"),
    ("      status bits from the database", "verification/local.py", "check"),
    ("      issuer key from the database", "verification/local.py", "resolve"),
    ("    display data", "verification/display.py", "display_data"),
    ("  report to JSON", "verification/report.py", "to_json"),
    ("  request body validation (pydantic)", "pydantic/main.py", "model_validate_json"),
    ("  SQLAlchemy execute (all)", "sqlalchemy/ext/asyncio/session.py", "execute"),
)


# Built-ins where a thread waits (for I/O, another thread's result, or the GIL), not works.
WAITS: Final = frozenset(
    {"poll", "get", "put", "put_nowait", "send", "acquire", "release", "switch"}
)


def _is_wait(key: tuple[str, int, str]) -> bool:
    path, _, function = key
    return path == "~" and any(f"'{name}'" in function for name in WAITS)


def hotspots(stats: pstats.Stats, count: int, top: int = 12) -> str:
    """Milliseconds per item in each HOTSPOTS function (cumulative), then the functions with
    the most own time, waits left out; all inflated several-fold by the profiler."""
    table = stats.stats  # type: ignore[attr-defined]
    working = sum(row[2] for key, row in table.items() if not _is_wait(key))
    lines = [
        f"{'where (cumulative, under the profiler)':<48} {'ms/item':>8}",
        f"{'CPU in Python, both threads, waits left out':<48} {working * 1000 / count:>8.2f}",
    ]
    for label, suffix, name in HOTSPOTS:
        seconds = sum(
            row[3]
            for (path, _, function), row in table.items()
            if function == name and path.endswith(suffix)
        )
        if seconds:
            lines.append(f"{label:<48} {seconds * 1000 / count:>8.2f}")
    lines.append(f"{'most own time':<48} {'ms/item':>8}")
    busiest = sorted(
        (item for item in table.items() if not _is_wait(item[0])), key=lambda item: -item[1][2]
    )
    for (path, line, function), row in busiest[:top]:
        place = f"{'/'.join(Path(path).parts[-2:])}:{line}({function})"[-48:]
        lines.append(f"  {place:<46} {row[2] * 1000 / count:>8.2f}")
    return "\n".join(lines)


def render(stats: pstats.Stats, title: str, count: int) -> str:
    return f"== cProfile: {title} ==\n{hotspots(stats, count)}\n"


# --- 3. the HTTP API -----------------------------------------------------------------------


@dataclass
class Latency:
    label: str
    requests: int
    seconds: float
    latency_ms: dict[str, float]
    not_verified: int
    statuses: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _verified(reply: Reply) -> bool:
    return reply.status == 200 and bool(reply.json()["verified"])


async def load(
    base_url: str, label: str, body: dict[str, Any], requests: int, concurrency: int
) -> Latency:
    """`requests` POST /v1/verify of `body` from `concurrency` keep-alive connections."""
    request = post_json(base_url, "/v1/verify", body)
    run = await hammer(base_url, request, requests, concurrency, ok=_verified)
    return Latency(
        label,
        len(run.latencies),
        run.seconds,
        percentiles_ms(run.latencies),
        run.failed,
        dict(run.statuses),
    )


async def issue_one(base_url: str, provider: tuple[str, str], slug: str) -> dict[str, Any]:
    """One award through the API: {"id", "url", "credential", "jwt"}."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        client.headers["Authorization"] = f"Bearer {await access_token(client, *provider)}"
        achievement_id = await create_achievement(client, slug)
        response = await client.post(
            f"/v1/issuers/{slug}/credentials",
            json={"achievementId": achievement_id, "recipient": {"email": "t@example.org"}},
        )
        response.raise_for_status()
        issued: dict[str, Any] = response.json()
        return issued


async def measure_http(base_url: str, bodies: dict[str, Any], args: Any) -> list[Latency]:
    # This load generator holds the whole app and the library corpora: its own full garbage
    # collections (~100 ms) would be counted as the service's latency.
    gc.collect()
    gc.freeze()
    results = []
    for label, body in bodies.items():
        await load(base_url, label, body, WARMUP, 1)  # caches, first queries
        alone = await load(base_url, f"{label}, 1 client", body, args.requests // 4, 1)
        loaded = await load(base_url, label, body, args.requests, args.concurrency)
        results += [alone, loaded]
    return results


async def profile_service(service: Service, body: dict[str, Any], requests: int) -> str:
    """cProfile of `requests` sequential POST /v1/verify, the app served in-process."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url=service.base_url,
        database_url=service.env["LATTICE_DATABASE_URL"],
        data_dir=service.data_dir,
        log_level="warning",
    )
    state = build_state(settings)
    transport = httpx.ASGITransport(app=create_app(settings, state))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=service.base_url) as client:

            async def work() -> None:
                for _ in range(requests):
                    response = await client.post("/v1/verify", json=body)
                    assert response.json()["verified"], response.text[:300]

            for _ in range(WARMUP):
                await client.post("/v1/verify", json=body)
            stats = await profiled(work)
    finally:
        await state.close()
    title = f"{requests} x POST /v1/verify, own credential by URL, in-process"
    return render(stats, title, requests)


def run_service_bench(
    foreign: str | None, args: Any
) -> tuple[list[Latency], list[str], str | None]:
    """The HTTP figures, the service's logged problems, and (--profile) the service profile."""
    postgres = start_postgres("lattice_bench") if args.postgres else None
    try:
        database_url = postgres.url("lattice_bench") if postgres else None
        with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
            return _serve_and_measure(Path(tmp), database_url, foreign, args)
    finally:
        if postgres:
            stop_postgres(postgres)


def _serve_and_measure(
    data_dir: Path, database_url: str | None, foreign: str | None, args: Any
) -> tuple[list[Latency], list[str], str | None]:
    service = start_service(data_dir, database_url, args.workers)
    try:
        provider = create_provider(service, "verify-bench")
        issued = asyncio.run(issue_one(service.base_url, provider, "verify-bench"))
        bodies: dict[str, Any] = {
            "own, by URL": {"url": issued["url"]},
            "own, posted JSON": {"credential": issued["credential"]},
        }
        if foreign is not None:
            bodies["foreign did:key, posted JSON"] = {"credential": json.loads(foreign)}
        results = asyncio.run(measure_http(service.base_url, bodies, args))
    finally:
        stop_service(service)
    profile = None
    if args.profile:
        profile = asyncio.run(profile_service(service, bodies["own, by URL"], args.n))
    return results, log_problems(service)[:10], profile


# --- the report ----------------------------------------------------------------------------


@dataclass
class Round:
    """One round's library loops (rate, not verified) and Node anchor line."""

    measured: list[tuple[Rate, int]]
    node: dict[str, Any] | None


def best_of(rounds: Sequence[Round]) -> tuple[list[Rate], dict[str, int], dict[str, Any] | None]:
    """The fastest round of each library row and of each Node figure; failures of any round."""
    rates = [
        max((item.measured[row][0] for item in rounds), key=lambda rate: rate.per_second)
        for row in range(len(rounds[0].measured))
    ]
    failures: dict[str, int] = {}
    for item in rounds:
        for rate, failed in item.measured:
            if failed:
                failures[rate.label] = failures.get(rate.label, 0) + failed
    nodes = [item.node for item in rounds if item.node is not None]
    if not nodes:
        return rates, failures, None
    node = {
        key: max(float(line[key]) for line in nodes)
        for key in ("verify_vc_per_s", "verify_core_per_s")
    }
    return rates, failures, node


def round_figures(item: Round) -> dict[str, Any]:
    figures: dict[str, Any] = {rate.label: round(rate.per_second, 1) for rate, _ in item.measured}
    if item.node is not None:
        figures["node_verify_vc_per_s"] = float(item.node["verify_vc_per_s"])
        figures["node_verify_core_per_s"] = float(item.node["verify_core_per_s"])
    return figures


def ratio(rate: float, anchor: float | None) -> float | None:
    return round(rate / anchor, 2) if anchor else None


def print_rates(rates: Sequence[Rate], anchor: float | None) -> None:
    header = (
        f"{'library, one process':<40} {'count':>6} {'seconds':>8} {'cred/s':>8} {'x Node vc':>9}"
    )
    print(header)
    print("-" * len(header))
    for rate in rates:
        versus = ratio(rate.per_second, anchor)
        shown = f"{versus:.2f}" if versus is not None else "-"
        print(
            f"{rate.label:<40} {rate.count:>6} {rate.seconds:>8.2f} "
            f"{rate.per_second:>8.1f} {shown:>9}"
        )


def print_latencies(rows: Sequence[Latency], concurrency: int) -> None:
    header = (
        f"{f'POST /v1/verify, {concurrency} clients':<34} {'requests':>8} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'not ok':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ms = row.latency_ms
        print(
            f"{row.label:<34} {row.requests:>8} {row.per_second:>7.1f} {ms.get('p50', 0):>7.1f} "
            f"{ms.get('p95', 0):>7.1f} {ms.get('max', 0):>7.1f} {row.not_verified:>6}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=200, help="credentials per library loop")
    parser.add_argument("--requests", type=int, default=400, help="POSTs per HTTP measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument(
        "--postgres", action="store_true", help="serve from a throwaway PostgreSQL 15"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="service processes (more than 1: --postgres)"
    )
    parser.add_argument("--skip-node", action="store_true", help="no Node anchor or foreign")
    parser.add_argument("--skip-http", action="store_true", help="library figures only")
    parser.add_argument("--profile", action="store_true", help="cProfile the own DI loop")
    parser.add_argument(
        "--rounds", type=int, default=1, help="library loops and Node anchor R times; best of each"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.workers > 1 and not args.postgres:
        sys.exit("--workers > 1 needs --postgres (SQLite serves from one process)")
    if not LATTICE.exists():
        sys.exit(f"{LATTICE} not found: run with the project's .venv/bin/python")
    per_round = args.n + WARMUP
    foreign, foreign_note = (
        ([], "--skip-node")
        if args.skip_node
        else foreign_credentials(per_round * max(args.rounds, 1))
    )
    rounds: list[Round] = []
    for index in range(max(args.rounds, 1)):
        own_di, own_jwt = own_corpus(args.n)
        corpora = [own_di, own_jwt]
        if foreign:
            verifier = Verifier(fetcher=MappedFetcher({}))
            mine = foreign[index * per_round : (index + 1) * per_round]
            corpora.append(Corpus("foreign did:key (Node-signed)", mine, verifier))
        measured = [asyncio.run(library_rate(corpus, args.n)) for corpus in corpora]
        # The anchor runs before the service starts, so the two never share the CPUs.
        node, node_note = (None, "--skip-node") if args.skip_node else node_anchor(args.n)
        rounds.append(Round(measured, node))
    rates, failures, node = best_of(rounds)
    latencies: list[Latency] = []
    problems: list[str] = []
    service_profile = None
    if not args.skip_http:
        latencies, problems, service_profile = run_service_bench(
            foreign[0] if foreign else None, args
        )
    report(args, rates, failures, node, node_note or foreign_note, latencies, problems)
    if len(rounds) > 1:
        print(json.dumps({"rounds": [round_figures(item) for item in rounds]}))
    if args.profile:
        library = asyncio.run(profiled(lambda: library_rate(own_di, args.n)))
        title = f"library verify, {args.n} own Data Integrity credentials"
        print(render(library, title, args.n + WARMUP))
        if service_profile:
            print(service_profile)


def report(
    args: Any,
    rates: list[Rate],
    failures: dict[str, int],
    node: dict[str, Any] | None,
    node_note: str,
    latencies: list[Latency],
    problems: list[str],
) -> None:
    anchor = float(node["verify_vc_per_s"]) if node else None
    rows = list(rates)
    if node is not None:
        rows += [
            Rate(
                f"Node @digitalbazaar/vc (bench.mjs {args.n})",
                args.n,
                args.n / float(node["verify_vc_per_s"]),
            ),
            Rate(
                f"Node verifier-core (bench.mjs {args.n})",
                args.n,
                args.n / float(node["verify_core_per_s"]),
            ),
        ]
    print_rates(rows, anchor)
    if latencies:
        print()
        print_latencies(latencies, args.concurrency)
    own_rate = rates[0].per_second
    rate_met = own_rate >= anchor if anchor else None
    by_url = next((row for row in latencies if row.label == "own, by URL"), None)
    latency_met = by_url.latency_ms.get("p95", 1e9) < LATENCY_TARGET_MS if by_url else None
    print()
    if anchor is None:
        print(f"Node anchor skipped: {node_note}")
    else:
        print(
            f"target own library rate >= Node vc verify ({anchor:.1f}/s): "
            f"{'MET' if rate_met else 'NOT met'} ({own_rate:.1f}/s)"
        )
    if by_url is not None:
        print(
            f"target p95 own by URL < {LATENCY_TARGET_MS:.0f} ms: "
            f"{'MET' if latency_met else 'NOT met'} ({by_url.latency_ms.get('p95')} ms)"
        )
    for label, failed in failures.items():
        print(f"problem: {label}: {failed} not verified")
    for row in latencies:
        if row.not_verified:
            print(f"problem: {row.label}: {row.not_verified} not verified {row.statuses}")
    for line in problems:
        print(f"problem: service log: {line}")
    figures = {
        "config": {
            "n": args.n,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "database": "postgresql" if args.postgres else "sqlite",
            "workers": args.workers,
            "cpus": os.cpu_count(),
        },
        "library_per_s": {rate.label: round(rate.per_second, 1) for rate in rates},
        "node_verify_vc_per_s": anchor,
        "node_verify_core_per_s": float(node["verify_core_per_s"]) if node else None,
        "node_note": node_note or None,
        "ratio_to_node_vc": {rate.label: ratio(rate.per_second, anchor) for rate in rates},
        "http": {
            row.label: {
                "per_s": round(row.per_second, 1),
                **row.latency_ms,
                "not_verified": row.not_verified,
            }
            for row in latencies
        },
        "target_rate_met": rate_met,
        "target_p95_met": latency_met,
        "library_failures": failures,
        "problems": problems,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
