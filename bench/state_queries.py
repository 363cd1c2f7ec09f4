"""State queries at state scale, status re-checking on: holders and educator-progress latency,
the sweeps of foreign credentials, full re-evaluation time.

Run: .venv/bin/python bench/state_queries.py [--database-url URL] [--educators 200000]
     [--credentials 1000000] [--issuers 20] [--foreign-issuers 2]
     [--foreign-achievements 20] [--held-share 0.5] [--revoke-per-sweep 10]
     [--stacks 50] [--queries 200]

1. PostgreSQL: the URL given (an empty database), or a throwaway PostgreSQL 15 started like
   scripts/test does. The real service (`lattice serve`) runs on it and migrates it, with
   the development-only settings that let its verifier fetch over http from loopback
   (LATTICE_FETCH_ALLOW_HTTP, LATTICE_FETCH_ALLOW_PRIVATE); the agency and its API client
   are made with the CLI, stacks and the lattice through the API.
2. A foreign issuer: a second throwaway Lattice on SQLite (`foreign_issuer`), with its own
   did:web keys and status lists on loopback; 2 providers with 20 achievements each.
3. Seeding with COPY (asyncpg `copy_records_to_table`): the issuers here, 25 achievements
   each, the agency's approvals (of every achievement, foreign ones included), educators
   (license numbers, keyed lookup hashes as the service computes them, 200 districts), then
   the awards (5 per educator: 3-4 from one "track" stack, the rest anywhere; earned over
   6.5 years, a fifth with an expiry, 1 % revoked). An award of a foreign achievement (about
   7.5 % of them) is issued by the foreign issuer through its batch API and stored as
   submitted by the agency or pushed by the teacher (half each; pushed ones half as VC-JWT,
   `foreign_seed`); the foreign issuer then revokes its 1 %. An award made here is one
   credential row holding only the columns queries use (the document is a placeholder:
   bulk evaluation reads stored data), one recipient row and one `issued` event.
4. Figures (`rechecks`): the service sweeps the status of every foreign credential in the
   background, every `--sweep-seconds` (30 by default here, 300 in production, so that
   sweeps run during every timed series); queries answer from the last sweep and never
   wait for one. Timed: a sweep in this process (the service's verifier, an empty reading
   cache) and the sweeps the service ran (from its log); evaluating every educator against
   one stack (domain, then HTTP) and against all stacks and lattice roles at once; p50/p95
   of the holders query (a stack, half with a district filter, a quarter on page 2; and of
   an achievement) and of the educator-progress query, through the domain functions and
   HTTP, with how many sweeps ran during each HTTP series. Before each series the foreign
   issuer revokes a few more.

Targets: holders and progress p95 under 100 ms, the achievement-holders query well under
it; re-evaluating 200,000 educators against a stack in under 2 minutes. Prints a table,
then one JSON line with every figure, the load average at each phase among them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from client_auth import ClientCredentials
from foreign_issuer import (
    ForeignIssuer,
    add_providers,
    revoke,
    start_foreign,
    stop_foreign,
)
from foreign_seed import Educators, ForeignAward, seed_foreign
from pg import start_postgres, stop_postgres
from rechecks import (
    LoadLog,
    bench_verifier,
    domain_sweep,
    foreign_counts,
    service_sweeps,
)
from service import Service, lattice_cli, start_service, stop_service

from badges.issuers.issuers import KeyVault
from badges.policy.agencies import find_educator
from badges.policy.educator_progress import educator_progress
from badges.policy.foreign_status import StatusSource
from badges.policy.stack_completions import (
    evaluate_all,
    role_target,
    stack_target,
)
from badges.policy.state_queries import (
    HolderFilter,
    achievement_holders,
    achievement_set,
    completion_holders,
    holders_page,
)
from badges.status.achievement_holdings import rebuild
from formats.identity import EDUCATOR_ID_TYPE, educator_identifier, lookup_key
from keys.master import MasterKey
from storage.models import Agency, Lattice, Stack
from storage.session import create_engine, create_session_factory, transaction

ACHIEVEMENTS_PER_ISSUER = 25
STACK_SIZE = 8
DISTRICTS = 200
COPY_BATCH = 100_000
NOW = datetime.now(UTC).replace(microsecond=0)
# evaluate-all over every educator may take minutes.
HTTP_TIMEOUT = httpx.Timeout(3600.0, connect=10.0)
SPARE = 5  # queries planned beyond the timed ones: the warm-ups
# Longest an HTTP series goes on waiting for a sweep of the service to happen meanwhile.
SERIES_LIMIT = 180.0


def percentiles(samples: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def timed(
    count: int,
    call: Callable[[int], Awaitable[Any]],
    warmup: int = 5,
    deadline: float | None = None,
) -> dict[str, Any]:
    """p50/p95 of `count` calls after `warmup` (a series that reaches `deadline`, monotonic,
    stops there and says so)."""
    for index in range(warmup):
        await call(-1 - index)
    samples = []
    for index in range(count):
        if deadline is not None and time.monotonic() >= deadline:
            break
        start = time.perf_counter()
        await call(index)
        samples.append(time.perf_counter() - start)
    if not samples:
        return {"n": 0, "cut_at_window_end": True}
    return percentiles(samples) | {"cut_at_window_end": len(samples) < count}


# --- seeding -----------------------------------------------------------------------------


class World:
    """What was seeded, for building the queries."""

    def __init__(
        self, args: argparse.Namespace, base_url: str, secret: bytes, foreign: ForeignIssuer
    ) -> None:
        self.args = args
        self.base_url = base_url
        self.secret = secret
        self.random = random.Random(6)
        self.issuers = [uuid.uuid4() for _ in range(args.issuers)]
        self.achievements = [
            (uuid.uuid4(), issuer)
            for issuer in self.issuers
            for _ in range(ACHIEVEMENTS_PER_ISSUER)
        ]
        # Achievements of the foreign issuer follow this service's own in the numbering.
        self.foreign = foreign
        self.stack_members = [
            self.random.sample(range(self.achievement_count), STACK_SIZE)
            for _ in range(args.stacks)
        ]
        self.foreign_awards: list[ForeignAward] = []
        self.still_active: list[tuple[int, str]] = []
        self.agency_id: uuid.UUID | None = None
        self.educators: list[uuid.UUID] = []
        self.stacks: list[dict[str, Any]] = []
        self.lattice: dict[str, Any] = {}

    @property
    def achievement_count(self) -> int:
        return len(self.achievements) + len(self.foreign.achievements)

    def iri(self, index: int) -> str:
        if index >= len(self.achievements):
            return self.foreign.achievements[index - len(self.achievements)][2]
        return f"{self.base_url}/achievements/{self.achievements[index][0]}"

    @staticmethod
    def license(index: int) -> str:
        return f"{index:07d}"

    def lookup(self, index: int) -> str:
        value = educator_identifier("TX", self.license(index))
        return lookup_key(self.secret, EDUCATOR_ID_TYPE, value)


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == COPY_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def copy(connection: asyncpg.Connection, table: str, columns: list[str], rows: Any) -> int:
    count = 0
    for batch in _batches(iter(rows)):
        await connection.copy_records_to_table(table, records=batch, columns=columns)
        count += len(batch)
    return count


async def seed(world: World, dsn: str) -> dict[str, Any]:
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        world.agency_id = await connection.fetchval("SELECT id FROM agencies LIMIT 1")
        await copy(
            connection,
            "issuers",
            ["id", "slug", "name", "created_at"],
            (
                (issuer, f"provider-{n}", f"Provider {n}", NOW)
                for n, issuer in enumerate(world.issuers)
            ),
        )
        await copy(
            connection,
            "achievements",
            [
                "id",
                "issuer_id",
                "lineage_id",
                "revision",
                "is_current",
                "name",
                "description",
                "achievement_type",
                "tags",
                "alignments",
                "result_descriptions",
                "created_at",
            ],
            (
                (
                    aid,
                    issuer,
                    aid,
                    1,
                    True,
                    f"MC {n}",
                    "A micro-credential.",
                    "MicroCredential",
                    "[]",
                    "[]",
                    "[]",
                    NOW,
                )
                for n, (aid, issuer) in enumerate(world.achievements)
            ),
        )
        await copy(
            connection,
            "approvals",
            [
                "id",
                "agency_id",
                "achievement_iri",
                "purpose",
                "decision",
                "effective_from",
                "created_at",
            ],
            _approvals(world),
        )
        world.educators = [uuid.uuid4() for _ in range(world.args.educators)]
        await copy(
            connection,
            "educators",
            ["id", "agency_id", "created_at"],
            ((educator, world.agency_id, NOW) for educator in world.educators),
        )
        # Districts are dated memberships: one open one each, from before anything recorded.
        await copy(
            connection,
            "educator_districts",
            ["id", "educator_id", "district", "valid_from", "valid_until", "recorded_at"],
            (
                (
                    uuid.uuid4(),
                    educator,
                    f"District {world.random.randrange(DISTRICTS):03d}",
                    None,
                    None,
                    NOW,
                )
                for educator in world.educators
            ),
        )
        await copy(
            connection,
            "educator_identifiers",
            ["id", "educator_id", "kind", "lookup_key"],
            (
                (uuid.uuid4(), educator, "educator_id", world.lookup(n))
                for n, educator in enumerate(world.educators)
            ),
        )
        credentials = await _seed_credentials(connection, world)
        own_seconds = time.perf_counter() - started
        foreign = await _seed_foreign(connection, world)
        await _link_holdings(dsn)
        await connection.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled database
    finally:
        await connection.close()
    return {
        "credentials": credentials + foreign["submitted"] + foreign["held"],
        "own_credentials": credentials,
        "own_seconds": round(own_seconds, 1),
        "foreign": foreign,
        "seconds": round(time.perf_counter() - started, 1),
    }


async def _link_holdings(dsn: str) -> None:
    """The rows went in around the service: index who holds what, as it would have."""
    engine = create_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as connection:
            await rebuild(connection)
    finally:
        await engine.dispose()


async def _seed_foreign(connection: asyncpg.Connection, world: World) -> dict[str, Any]:
    """The foreign issuer issues its share of the awards; the agency's service stores them
    as submitted or pushed; the issuer then revokes about 1 % of them."""
    assert world.agency_id is not None
    started = time.perf_counter()
    educators = Educators(world.educators, world.license, world.lookup)
    seeded = await seed_foreign(
        connection,
        world.foreign,
        world.agency_id,
        educators,
        world.foreign_awards,
        world.args.held_share,
        NOW,
    )
    issued_seconds = time.perf_counter() - started
    await revoke(world.foreign, seeded.revoked_first)
    world.still_active = seeded.active
    world.random.shuffle(world.still_active)
    return {
        "submitted": seeded.submitted,
        "held": seeded.held,
        "held_as_jwt": seeded.held_jwt,
        "teachers": seeded.teachers,
        "revoked": len(seeded.revoked_first),
        "issued_and_stored_s": round(issued_seconds, 1),
        "per_s": round((seeded.submitted + seeded.held) / issued_seconds, 1),
        "revoked_s": round(time.perf_counter() - started - issued_seconds, 1),
    }


async def revoke_news(world: World) -> int:
    """The foreign issuer revokes a few more: each sweep then finds something new."""
    news = [
        world.still_active.pop()
        for _ in range(min(world.args.revoke_per_sweep, len(world.still_active)))
    ]
    await revoke(world.foreign, news)
    return len(news)


def _approvals(world: World) -> Iterator[tuple[Any, ...]]:
    since = datetime(2015, 1, 1, tzinfo=UTC)
    for index in range(world.achievement_count):
        for purpose in ("license_renewal", "professional_learning"):
            yield (uuid.uuid4(), world.agency_id, world.iri(index), purpose, "approved", since, NOW)


def _awards(world: World) -> Iterator[tuple[int, int]]:
    """(educator index, achievement index): 3-4 of the educator's track stack, then any."""
    per_educator = world.args.credentials // world.args.educators
    extra = world.args.credentials - per_educator * world.args.educators
    pick = world.random
    for educator in range(world.args.educators):
        track = world.stack_members[educator % len(world.stack_members)]
        count = per_educator + (1 if educator < extra else 0)
        chosen = pick.sample(track, min(count, pick.choice((3, 4))))
        while len(chosen) < count:
            chosen.append(pick.randrange(world.achievement_count))
        for achievement in chosen:
            yield educator, achievement


async def _seed_credentials(connection: asyncpg.Connection, world: World) -> int:
    pick = world.random
    credentials, recipients, events = [], [], []
    total = 0
    span = 6.5 * 365 * 86400
    own = len(world.achievements)
    for educator, achievement in _awards(world):
        earned = NOW - timedelta(seconds=int(pick.random() * span))
        until = earned + timedelta(days=3 * 365) if pick.random() < 0.2 else None
        revoked = pick.random() < 0.01
        if achievement >= own:  # issued elsewhere: by the foreign issuer, after this loop
            world.foreign_awards.append(
                ForeignAward(educator, achievement - own, earned, until, revoked)
            )
            continue
        credential = uuid.uuid4()
        achievement_id, issuer = world.achievements[achievement]
        credentials.append(
            (
                credential,
                issuer,
                achievement_id,
                f"did:web:bench:issuers:{issuer}",
                earned,
                until,
                earned,
                earned,
                "{}",
            )
        )
        recipients.append(
            (
                uuid.uuid4(),
                credential,
                0,
                EDUCATOR_ID_TYPE,
                "sha256$" + "0" * 64,
                "salt",
                True,
                world.lookup(educator),
            )
        )
        events.append((credential, "issued", earned, "bench"))
        if revoked:
            events.append((credential, "revoked", earned + timedelta(days=30), "bench"))
        if len(credentials) == COPY_BATCH:
            total += await _flush(connection, credentials, recipients, events)
    total += await _flush(connection, credentials, recipients, events)
    return total


async def _flush(
    connection: asyncpg.Connection, credentials: list[Any], recipients: list[Any], events: list[Any]
) -> int:
    count = len(credentials)
    await connection.copy_records_to_table(
        "credentials",
        records=credentials,
        columns=[
            "id",
            "issuer_id",
            "achievement_id",
            "issuer_did",
            "valid_from",
            "valid_until",
            "awarded_date",
            "issued_at",
            "document",
        ],
    )
    await connection.copy_records_to_table(
        "credential_recipients",
        records=recipients,
        columns=[
            "id",
            "credential_id",
            "position",
            "identity_type",
            "identity_hash",
            "salt",
            "hashed",
            "lookup_key",
        ],
    )
    await connection.copy_records_to_table(
        "credential_events",
        records=events,
        columns=["credential_id", "event_type", "occurred_at", "actor"],
    )
    for rows in (credentials, recipients, events):
        rows.clear()
    return count


async def define_rules(world: World, http: httpx.AsyncClient) -> None:
    """The stacks (half of them "3 approved for renewal within 5 years") and a lattice."""
    for number, members in enumerate(world.stack_members):
        body: dict[str, Any] = {
            "code": f"S{number:02d}",
            "name": f"Stack {number}",
            "rule": {"atLeast": 3, "of": [world.iri(index) for index in members]},
        }
        if number % 2 == 0:
            body |= {"windowDays": 5 * 365, "purpose": "license_renewal"}
        response = await http.post("/v1/agency/stacks", json=body)
        response.raise_for_status()
        world.stacks.append(response.json())
    ids = [stack["id"] for stack in world.stacks]
    roles = [
        {
            "key": f"band-{band}",
            "name": f"Teacher Leader {band}",
            "rule": {"any": [{"stack": iri} for iri in ids[band * 10 : band * 10 + 10]]},
            "precedes": ["master"],
        }
        for band in range(max(1, len(ids) // 10))
    ]
    roles.append(
        {
            "key": "master",
            "name": "Master Educator",
            "rule": {"any": [{"stack": iri} for iri in ids], "count": 2},
        }
    )
    response = await http.post(
        "/v1/agency/lattices", json={"name": "Career lattice", "roles": roles}
    )
    response.raise_for_status()
    world.lattice = response.json()


# --- measuring ---------------------------------------------------------------------------


async def measure(
    world: World, service: Service, database_url: str, http: httpx.AsyncClient, loads: LoadLog
) -> dict[str, Any]:
    engine = create_engine(database_url, pool_size=5)
    sessions = create_session_factory(engine)
    verifier = bench_verifier(world.base_url, database_url, service.data_dir, sessions)
    figures: dict[str, Any] = {}
    try:
        async with sessions() as session:
            agency = await session.get(Agency, world.agency_id)
            stacks = [
                await session.get_one(Stack, uuid.UUID(s["id"].rsplit("/", 1)[1]))
                for s in world.stacks
            ]
            lattice = await session.get(Lattice, uuid.UUID(world.lattice["id"].rsplit("/", 1)[1]))
            assert agency is not None and lattice is not None
        # The first sweep sees the revocations made since the credentials were stored.
        figures["sweep_domain_first"], _ = await domain_sweep(
            sessions, verifier, world.base_url, agency
        )
        async with sessions() as session:
            # seen_revoked: what the issuer's lists said, to compare with what it revoked.
            figures["foreign_rows"] = await foreign_counts(session, agency)
        loads.note("sweep_domain_first")
        figures["evaluate_one_stack"] = await _evaluate(
            sessions, world, agency, [stack_target(stacks[0])]
        )
        loads.note("evaluate_one_stack")
        figures |= await _evaluate_http(world, http, stacks)
        loads.note("evaluate_one_stack_http")
        targets = [stack_target(stack) for stack in stacks]
        targets += [role_target(role) for role in lattice.roles]
        await revoke_news(world)
        figures["sweep_domain"], source = await domain_sweep(
            sessions, verifier, world.base_url, agency
        )
        if not world.args.skip_all_targets:
            figures["evaluate_all_stacks_and_roles"] = await _evaluate(
                sessions, world, agency, targets
            )
            loads.note("evaluate_all_stacks_and_roles")
        # Holders of a stack are read from a run: without the full one, only the two
        # stacks evaluated above have holders to list.
        queried = stacks[:2] if world.args.skip_all_targets else stacks
        figures |= await _latencies(
            world, sessions, agency, queried, http, source, loads, service.log
        )
        figures["service_sweeps"] = service_sweeps(service.log)
    finally:
        await engine.dispose()
    return figures


async def _evaluate(
    sessions: Any, world: World, agency: Agency, targets: list[Any]
) -> dict[str, Any]:
    start = time.perf_counter()
    async with transaction(sessions) as session:
        summary = await evaluate_all(session, world.base_url, agency, targets, datetime.now(UTC))
    return {
        "targets": len(targets),
        "educators": summary.educators,
        "holding_any": summary.evaluated,
        "met": sum(summary.met.values()),
        "evaluate_s": round(summary.seconds, 2),
        "with_commit_s": round(time.perf_counter() - start, 2),
    }


async def _evaluate_http(
    world: World, http: httpx.AsyncClient, stacks: list[Stack]
) -> dict[str, Any]:
    """evaluate-all of one stack through HTTP (sweeps run in the service meanwhile)."""
    await revoke_news(world)
    start = time.perf_counter()
    response = await http.post(f"/v1/agency/stacks/{stacks[1].id}/evaluate-all")
    response.raise_for_status()
    return {
        "evaluate_one_stack_http": {
            "seconds": round(time.perf_counter() - start, 2),
            "met": response.json()["targets"][0]["met"],
        },
    }


async def _latencies(
    world: World,
    sessions: Any,
    agency: Agency,
    stacks: list[Stack],
    http: httpx.AsyncClient,
    source: StatusSource,
    loads: LoadLog,
    log: Path,
) -> dict[str, Any]:
    """Domain queries (status already re-read by the domain sweep just before: its readings
    are what progress reuses), then each HTTP query while the service sweeps in the
    background, with the sweeps that ran meanwhile."""
    queries = world.args.queries
    pick = random.Random(7)
    plans = [
        (
            pick.randrange(len(stacks)),
            f"District {pick.randrange(DISTRICTS):03d}" if pick.random() < 0.5 else None,
            pick.random() < 0.25,
        )
        for _ in range(queries + SPARE)
    ]

    async def holders_domain(index: int) -> None:
        stack_index, district, second = plans[index]
        stack = stacks[stack_index]
        async with sessions() as session:
            where = HolderFilter(datetime.now(UTC), district)
            query = completion_holders(agency, "stack", stack.lineage_id, where)
            items, more = await holders_page(session, query, 50)
            if second and more:
                after = items[-1].educator_id
                query = completion_holders(agency, "stack", stack.lineage_id, where, (), after)
                await holders_page(session, query, 50)

    async def holders_http(index: int) -> None:
        stack_index, district, second = plans[index]
        params = {"district": district} if district else {}
        url = f"/v1/agency/stacks/{stacks[stack_index].id}/holders"
        response = await http.get(url, params=params)
        response.raise_for_status()
        if second and response.json()["next"]:
            (
                await http.get(url, params=params | {"cursor": response.json()["next"]})
            ).raise_for_status()

    achievements = [pick.randrange(world.achievement_count) for _ in range(queries + SPARE)]

    async def achievement_domain(index: int) -> None:
        at = datetime.now(UTC)
        async with sessions() as session:
            wanted = await achievement_set(
                session, world.base_url, agency, world.iri(achievements[index]), None, at
            )
            await holders_page(session, achievement_holders(agency, wanted, HolderFilter(at)), 50)

    async def achievement_http(index: int) -> None:
        response = await http.get(
            "/v1/agency/holders", params={"achievementId": world.iri(achievements[index])}
        )
        response.raise_for_status()

    people = [pick.randrange(len(world.educators)) for _ in range(queries + SPARE)]

    async def progress_domain(index: int) -> None:
        keys = [world.lookup(people[index])]
        now = datetime.now(UTC)
        async with transaction(sessions) as session:
            educator = await find_educator(session, agency, keys)
            assert educator is not None
            status = StatusSource(source.check, source.cache, now)
            await educator_progress(session, world.base_url, agency, educator, now, None, status)

    async def progress_http(index: int) -> None:
        body = {"educator": {"educatorId": world.license(people[index]), "state": "TX"}}
        (await http.post("/v1/agency/progress", json=body)).raise_for_status()

    async def http_series(call: Callable[[int], Awaitable[Any]]) -> dict[str, Any]:
        """`queries` calls, and on until a sweep of the service ran meanwhile (at most
        `SERIES_LIMIT` seconds): the figures then include queries answered during one."""
        await revoke_news(world)
        for index in range(SPARE):
            await call(queries + index)
        before = len(service_sweeps(log))
        start = time.monotonic()
        samples: list[float] = []
        during: list[dict[str, float]] = []
        while len(samples) < queries or (not during and time.monotonic() - start < SERIES_LIMIT):
            began = time.perf_counter()
            await call(len(samples) % queries)
            samples.append(time.perf_counter() - began)
            if len(samples) % 25 == 0:
                during = service_sweeps(log)[before:]
        during = service_sweeps(log)[before:]
        return percentiles(samples) | {
            "cut_at_window_end": False,
            "seconds": round(time.monotonic() - start, 1),
            "sweeps_during": len(during),
            "sweep_s": [sweep["seconds"] for sweep in during],
        }

    figures = {
        "holders_stack_domain": await timed(queries, holders_domain),
        "holders_achievement_domain": await timed(queries, achievement_domain),
        "progress_domain": await timed(queries, progress_domain),
    }
    loads.note("domain_latencies")
    for name, call in (
        ("holders_stack_http", holders_http),
        ("holders_achievement_http", achievement_http),
        ("progress_http", progress_http),
    ):
        figures[name] = await http_series(call)
        loads.note(name)
    return figures


# --- running -----------------------------------------------------------------------------


def agency_client(service: Service) -> tuple[str, str]:
    lattice_cli(
        service,
        "agency",
        "create",
        "tx-agency",
        "--name",
        "Texas Education Agency",
        "--state",
        "TX",
    )
    created = json.loads(
        lattice_cli(service, "client", "create", "--issuer", "tx-agency", "--name", "bench")
    )
    return created["client_id"], created["client_secret"]


async def run(
    service: Service, foreign: ForeignIssuer, database_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    loads = LoadLog()
    loads.note("start")
    await add_providers(foreign, args.foreign_issuers, args.foreign_achievements)
    secret = KeyVault(MasterKey.load_or_create(service.data_dir / "master.key")).lookup_secret
    world = World(args, service.base_url, secret, foreign)
    credentials = agency_client(service)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    figures: dict[str, Any] = {"seed": await seed(world, dsn)}
    loads.note("seeded")
    auth = ClientCredentials(service.base_url, *credentials)
    async with httpx.AsyncClient(
        base_url=service.base_url, timeout=HTTP_TIMEOUT, auth=auth
    ) as http:
        await define_rules(world, http)
        figures |= await measure(world, service, database_url, http, loads)
    figures["revoked_by_issuer"] = foreign.revoked
    figures["load_average"] = loads.summary()
    return figures


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    seeded = figures["seed"]
    foreign = seeded["foreign"]
    print(
        f"seeded {args.educators:,} educators, {seeded['credentials']:,} credentials "
        f"({seeded['own_credentials']:,} from {args.issuers} issuers here; "
        f"{foreign['submitted']:,} submitted and {foreign['held']:,} pushed "
        f"({foreign['held_as_jwt']:,} as VC-JWT) from {args.foreign_issuers} foreign issuers, "
        f"{foreign['revoked']:,} then revoked), {args.stacks} stacks and a lattice in "
        f"{seeded['seconds']} s (foreign issued at {foreign['per_s']}/s)"
    )
    for key in ("sweep_domain_first", "sweep_domain"):
        row = figures[key]
        print(
            f"{key}: {row['read']:,} read in {row['sweep_s']} s "
            f"({row['per_credential_ms']} ms each), {row['changed']} changed, "
            f"{row['stale_reevaluated']} stale re-evaluated ({row['with_stale_and_commit_s']} s)"
        )
    sweeps = figures["service_sweeps"]
    if sweeps:
        seconds = sorted(sweep["seconds"] for sweep in sweeps)
        print(
            f"sweeps in the service: {len(sweeps)}, {sweeps[-1]['read']:,} read each, "
            f"{seconds[0]}-{seconds[-1]} s"
        )
    for key in ("evaluate_one_stack", "evaluate_all_stacks_and_roles"):
        if key not in figures:
            continue
        row = figures[key]
        print(
            f"{key}: {row['educators']:,} educators ({row['holding_any']:,} holding one of "
            f"its MCs), {row['targets']} target(s), {row['met']:,} met: "
            f"{row['evaluate_s']} s ({row['with_commit_s']} s with commit)"
        )
    http_run = figures["evaluate_one_stack_http"]
    print(f"evaluate_one_stack_http: {http_run['seconds']} s ({http_run['met']:,} met)")
    print(f"{'query':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for key in ("holders_stack", "holders_achievement", "progress"):
        _row(f"{key} (domain)", figures[f"{key}_domain"])
        http = figures[f"{key}_http"]
        _row(f"{key} (http)", http)
        print(
            f"{'':<34} over {http['seconds']} s, {http['sweeps_during']} sweeps meanwhile "
            f"({', '.join(str(s) for s in http['sweep_s'])} s)"
        )
    print(
        f"load average (1 min): {figures['load_average']['min_1m']}-"
        f"{figures['load_average']['max_1m']}"
    )
    print(json.dumps(figures))


def _row(label: str, row: dict[str, Any]) -> None:
    if not row["n"]:
        print(f"{label:<34}     0")
        return
    cut = "  (cut at the deadline)" if row["cut_at_window_end"] else ""
    print(
        f"{label:<34} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}{cut}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database (asyncpg URL)")
    parser.add_argument("--educators", type=int, default=200_000)
    parser.add_argument("--credentials", type=int, default=1_000_000)
    parser.add_argument("--issuers", type=int, default=20)
    parser.add_argument("--foreign-issuers", type=int, default=2)
    parser.add_argument(
        "--foreign-achievements", type=int, default=20, help="achievements per foreign issuer"
    )
    parser.add_argument(
        "--held-share",
        type=float,
        default=0.5,
        help="share of foreign credentials pushed by teachers (the rest: submitted)",
    )
    parser.add_argument(
        "--revoke-per-sweep",
        type=int,
        default=10,
        help="foreign credentials newly revoked before each sweep",
    )
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200, help="timed queries of each kind")
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        default=30.0,
        help="the service's LATTICE_FOREIGN_STATUS_SWEEP_SECONDS (300 by default in production)",
    )
    parser.add_argument("--data-dir", type=Path, help="the service's data directory (kept)")
    parser.add_argument(
        "--skip-all-targets",
        action="store_true",
        help="skip the all stacks and roles run (holders are then timed on two stacks)",
    )
    args = parser.parse_args()
    server = None
    database_url = args.database_url
    if database_url is None:
        server = start_postgres("lattice_bench", {"shared_buffers": "1GB", "work_mem": "64MB"})
        database_url = server.url("lattice_bench")
    try:
        with tempfile.TemporaryDirectory(prefix="lattice-bench-") as tmp:
            data_dir = args.data_dir or Path(tmp)
            data_dir.mkdir(parents=True, exist_ok=True)
            foreign = start_foreign(Path(tmp) / "foreign")
            try:
                # The foreign issuer is on loopback, over http: development-only settings.
                service = start_service(
                    data_dir,
                    database_url,
                    fetch_allow_http="true",
                    fetch_allow_private="true",
                    foreign_status_sweep_seconds=str(args.sweep_seconds),
                    log_level="info",  # the service logs each sweep at info
                )
                try:
                    figures = asyncio.run(run(service, foreign, database_url, args))
                finally:
                    stop_service(service)
            finally:
                stop_foreign(foreign)
    finally:
        if server is not None:
            stop_postgres(server)
    report(figures, args)


if __name__ == "__main__":
    main()
