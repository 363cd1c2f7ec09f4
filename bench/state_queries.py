"""State queries at state scale: holders and educator-progress latency, full re-evaluation time.

Run: .venv/bin/python bench/state_queries.py [--database-url URL] [--educators 200000]
     [--credentials 1000000] [--issuers 20] [--stacks 50] [--queries 200]

1. PostgreSQL: the URL given (an empty database), or a throwaway PostgreSQL 15 started like
   scripts/test does. The real service (`lattice serve`) runs on it and migrates it; the
   agency and its API client are made with the CLI, stacks and the lattice through the API.
2. Seeding with COPY (asyncpg `copy_records_to_table`): the issuers, 25 achievements each,
   the agency's approvals, educators (license numbers, keyed lookup hashes as the service
   computes them, 200 districts), credentials (5 per educator: 3-4 from one "track" stack, the
   rest anywhere; earned over 6.5 years, a fifth with an expiry, 1 % revoked), one recipient
   row and one `issued` event each. Credentials hold only the columns queries use; the
   document is a placeholder: bulk evaluation reads stored data, never re-verifies.
3. Figures: the time to evaluate every educator against one stack (the domain function,
   then the same through HTTP), and against all stacks and lattice roles at once; p50/p95 of
   the holders query (a stack, half with a district filter, a quarter on page 2; and of an
   achievement) and of the educator-progress query, through the domain functions and HTTP.

Targets: holders and progress p95 under 100 ms; re-evaluating 200,000 educators against a
stack in under 2 minutes. Prints a table, then one JSON line with every figure.
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

from pg import start_postgres, stop_postgres
from service import Service, access_token, lattice_cli, start_service, stop_service

from badges.issuers.issuers import KeyVault
from badges.policy.agencies import find_educator
from badges.policy.educator_progress import educator_progress
from badges.policy.stack_completions import (
    evaluate_all,
    role_target,
    stack_target,
)
from badges.policy.state_queries import (
    AchievementSet,
    HolderFilter,
    achievement_holders,
    completion_holders,
    holders_page,
)
from formats.identity import (
    EDUCATOR_ID_TYPE,
    educator_identifier,
    lookup_key,
)
from keys.master import MasterKey
from storage.models import Agency, Lattice, Stack
from storage.session import create_engine, create_session_factory, transaction

ACHIEVEMENTS_PER_ISSUER = 25
STACK_SIZE = 8
DISTRICTS = 200
COPY_BATCH = 100_000
NOW = datetime.now(UTC).replace(microsecond=0)
HTTP_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def timed(
    count: int, call: Callable[[int], Awaitable[Any]], warmup: int = 5
) -> dict[str, float]:
    for index in range(warmup):
        await call(-1 - index)
    samples = []
    for index in range(count):
        start = time.perf_counter()
        await call(index)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


# --- seeding -----------------------------------------------------------------------------


class World:
    """What was seeded, for building the queries."""

    def __init__(self, args: argparse.Namespace, base_url: str, secret: bytes) -> None:
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
        self.stack_members = [
            self.random.sample(range(len(self.achievements)), STACK_SIZE)
            for _ in range(args.stacks)
        ]
        self.agency_id: uuid.UUID | None = None
        self.educators: list[uuid.UUID] = []
        self.stacks: list[dict[str, Any]] = []
        self.lattice: dict[str, Any] = {}

    def iri(self, index: int) -> str:
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
        await connection.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled database
    finally:
        await connection.close()
    return {"credentials": credentials, "seconds": round(time.perf_counter() - started, 1)}


def _approvals(world: World) -> Iterator[tuple[Any, ...]]:
    since = datetime(2015, 1, 1, tzinfo=UTC)
    for index in range(len(world.achievements)):
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
            chosen.append(pick.randrange(len(world.achievements)))
        for achievement in chosen:
            yield educator, achievement


async def _seed_credentials(connection: asyncpg.Connection, world: World) -> int:
    pick = world.random
    credentials, recipients, events = [], [], []
    total = 0
    span = 6.5 * 365 * 86400
    for educator, achievement in _awards(world):
        credential = uuid.uuid4()
        achievement_id, issuer = world.achievements[achievement]
        earned = NOW - timedelta(seconds=int(pick.random() * span))
        until = earned + timedelta(days=3 * 365) if pick.random() < 0.2 else None
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
        if pick.random() < 0.01:
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
    world: World, service: Service, database_url: str, http: httpx.AsyncClient, queries: int
) -> dict[str, Any]:
    engine = create_engine(database_url, pool_size=5)
    sessions = create_session_factory(engine)
    figures: dict[str, Any] = {}
    try:
        async with sessions() as session:
            agency = await session.get(Agency, world.agency_id)
            stacks = [
                await session.get(Stack, uuid.UUID(s["id"].rsplit("/", 1)[1])) for s in world.stacks
            ]
            lattice = await session.get(Lattice, uuid.UUID(world.lattice["id"].rsplit("/", 1)[1]))
        assert agency is not None and lattice is not None
        figures["evaluate_one_stack"] = await _evaluate(
            sessions, world, agency, [stack_target(stacks[0])]
        )
        response_time = time.perf_counter()
        response = await http.post(f"/v1/agency/stacks/{stacks[1].id}/evaluate-all")
        response.raise_for_status()
        figures["evaluate_one_stack_http"] = {
            "seconds": round(time.perf_counter() - response_time, 2),
            "met": response.json()["targets"][0]["met"],
        }
        targets = [stack_target(stack) for stack in stacks if stack]
        targets += [role_target(role) for role in lattice.roles]
        if not world.args.skip_all_targets:
            figures["evaluate_all_stacks_and_roles"] = await _evaluate(
                sessions, world, agency, targets
            )
        # Holders of a stack are read from a run: without the full one, only the two
        # stacks evaluated above have holders to list.
        queried = stacks[:2] if world.args.skip_all_targets else stacks
        figures |= await _latencies(world, sessions, agency, queried, http, queries)
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


async def _latencies(
    world: World,
    sessions: Any,
    agency: Agency,
    stacks: list[Stack],
    http: httpx.AsyncClient,
    queries: int,
) -> dict[str, Any]:
    pick = random.Random(7)
    plans = [
        (
            pick.randrange(len(stacks)),
            f"District {pick.randrange(DISTRICTS):03d}" if pick.random() < 0.5 else None,
            pick.random() < 0.25,
        )
        for _ in range(queries + 5)
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

    achievements = [pick.randrange(len(world.achievements)) for _ in range(queries + 5)]

    async def achievement_domain(index: int) -> None:
        achievement = world.achievements[achievements[index]][0]
        wanted = AchievementSet([achievement], [world.iri(achievements[index])])
        async with sessions() as session:
            query = achievement_holders(agency, wanted, HolderFilter(datetime.now(UTC)))
            await holders_page(session, query, 50)

    async def achievement_http(index: int) -> None:
        response = await http.get(
            "/v1/agency/holders", params={"achievementId": world.iri(achievements[index])}
        )
        response.raise_for_status()

    people = [pick.randrange(len(world.educators)) for _ in range(queries + 5)]

    async def progress_domain(index: int) -> None:
        keys = [world.lookup(people[index])]
        async with sessions() as session:
            educator = await find_educator(session, agency, keys)
            assert educator is not None
            await educator_progress(session, world.base_url, agency, educator, datetime.now(UTC))

    async def progress_http(index: int) -> None:
        body = {"educator": {"educatorId": world.license(people[index]), "state": "TX"}}
        (await http.post("/v1/agency/progress", json=body)).raise_for_status()

    return {
        "holders_stack_domain": await timed(queries, holders_domain),
        "holders_stack_http": await timed(queries, holders_http),
        "holders_achievement_domain": await timed(queries, achievement_domain),
        "holders_achievement_http": await timed(queries, achievement_http),
        "progress_domain": await timed(queries, progress_domain),
        "progress_http": await timed(queries, progress_http),
    }


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


async def run(service: Service, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    secret = KeyVault(MasterKey.load_or_create(service.data_dir / "master.key")).lookup_secret
    world = World(args, service.base_url, secret)
    credentials = agency_client(service)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    figures: dict[str, Any] = {"seed": await seed(world, dsn)}
    async with httpx.AsyncClient(base_url=service.base_url, timeout=HTTP_TIMEOUT) as http:
        http.headers["Authorization"] = f"Bearer {await access_token(http, *credentials)}"
        await define_rules(world, http)
        figures |= await measure(world, service, database_url, http, args.queries)
    return figures


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    seeded = figures["seed"]
    print(
        f"seeded {args.educators:,} educators, {seeded['credentials']:,} credentials from "
        f"{args.issuers} issuers, {args.stacks} stacks and a lattice in {seeded['seconds']} s"
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
    print(f"{'query':<28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for key in ("holders_stack", "holders_achievement", "progress"):
        for via in ("domain", "http"):
            row = figures[f"{key}_{via}"]
            print(
                f"{key + ' (' + via + ')':<28} {row['n']:>5} {row['p50_ms']:>8} "
                f"{row['p95_ms']:>8} {row['max_ms']:>8}"
            )
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database (asyncpg URL)")
    parser.add_argument("--educators", type=int, default=200_000)
    parser.add_argument("--credentials", type=int, default=1_000_000)
    parser.add_argument("--issuers", type=int, default=20)
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200, help="timed queries of each kind")
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
            service = start_service(data_dir, database_url)
            try:
                figures = asyncio.run(run(service, database_url, args))
            finally:
                stop_service(service)
    finally:
        if server is not None:
            stop_postgres(server)
    report(figures, args)


if __name__ == "__main__":
    main()
