"""Status re-checking in a state-scale benchmark: sweeps of foreign credentials, timed.

A state query first re-reads the status of the agency's credentials from elsewhere (a
"sweep", `badges.policy.holdings.refresh_foreign_status`), at most once per freshness window
(`badges.policy.foreign_status.FRESH_FOR`) per service process. So the first query after the window
expired pays the sweep and the ones after it do not: a benchmark times them apart.

- `Window` follows the service's window from outside: it knows when a request that swept
  was sent, waits for the window to expire, and bounds a steady-state series to it.
- `swept` times the request that pays a sweep while a probe asks the service something
  else every half second: the sweep runs on the service's event loop, and the probe tells
  how the service answers everyone else meanwhile.
- `domain_sweep` does in this process what a route's `refresh` does, with the service's
  own verifier (`app.state.build_verifier`) and an empty reading cache, which is what an
  expired window is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.foreign_status import status_check
from app.settings import Settings
from app.state import build_verifier
from badges.policy.foreign_status import (
    FRESH_FOR,
    StatusCache,
    StatusSource,
)
from badges.policy.holdings import refresh_foreign_status
from badges.policy.stack_completions import refresh_stale
from storage.models import Agency, ForeignStatusObservation, HeldCredential, SubmittedCredential
from storage.session import transaction
from verification.pipeline import Verifier

PROBE_EVERY = 0.5
# Past the service's own clock reading at the start of a sweep: the request's way in.
MARGIN = 2.0


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


@dataclass
class LoadLog:
    """The 1-minute load average, sampled at each phase of a run."""

    samples: list[tuple[str, list[float]]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, phase: str) -> None:
        """Sample the load at the end of `phase`; progress to stderr (a run takes long)."""
        self.samples.append((phase, load()))
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:7.1f} s] {phase}; load {self.samples[-1][1]}", file=sys.stderr)

    def summary(self) -> dict[str, Any]:
        ones = [values[0] for _, values in self.samples]
        return {
            "min_1m": min(ones),
            "max_1m": max(ones),
            "phases": {phase: values for phase, values in self.samples},
        }


@dataclass
class Window:
    """The service's freshness window, as seen by the client that makes it sweep."""

    fresh_for: float = FRESH_FOR.total_seconds()
    opened: float | None = None

    def swept_now(self) -> None:
        self.opened = time.monotonic()

    @property
    def deadline(self) -> float:
        """When the window that opened last expires (monotonic); a query sent later sweeps."""
        return (self.opened or 0.0) + self.fresh_for - MARGIN

    async def expire(self) -> float:
        """Sleep until the last window has expired; the seconds waited."""
        if self.opened is None:
            return 0.0
        wait = max(0.0, self.opened + self.fresh_for + MARGIN - time.monotonic())
        await asyncio.sleep(wait)
        return round(wait, 1)


async def swept(
    window: Window, call: Callable[[], Awaitable[Any]], probe: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    """Time `call`, the first request of an expired window, with `probe` sent meanwhile."""
    done = asyncio.Event()
    probes: list[float] = []

    async def probing() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await probe()
            probes.append(time.perf_counter() - start)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), PROBE_EVERY)

    window.swept_now()
    start = time.perf_counter()
    task = asyncio.create_task(probing())
    await asyncio.sleep(0.2)  # the sweeping request goes first
    try:
        await call()
    finally:
        done.set()
        await task
    seconds = time.perf_counter() - start - 0.2
    ordered = sorted(probes)
    return {
        "seconds": round(seconds, 2),
        "outlasts_window": seconds >= window.fresh_for,
        "probes_during": {
            "n": len(ordered),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1) if ordered else None,
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
        },
    }


def bench_verifier(
    public_url: str, database_url: str, data_dir: Path, sessions: async_sessionmaker[AsyncSession]
) -> Verifier:
    """The verifier the service builds, with the same development-only fetch settings."""
    # No .env file of the checkout: only what is given here (a pydantic-settings option).
    settings = Settings(
        _env_file=None,
        public_url=public_url,
        database_url=database_url,
        data_dir=data_dir,
        fetch_allow_http=True,
        fetch_allow_private=True,
    )
    _, verifier = build_verifier(settings, sessions)
    return verifier


async def foreign_counts(session: AsyncSession, agency: Agency) -> dict[str, int]:
    submitted = select(func.count()).where(SubmittedCredential.agency_id == agency.id)
    revoked = select(func.count()).where(ForeignStatusObservation.status == "revoked")
    return {
        "submitted": int(await session.scalar(submitted) or 0),
        "held": int(await session.scalar(select(func.count()).select_from(HeldCredential)) or 0),
        "seen_revoked": int(await session.scalar(revoked) or 0),
    }


async def domain_sweep(
    sessions: async_sessionmaker[AsyncSession],
    verifier: Verifier,
    public_url: str,
    agency: Agency,
) -> tuple[dict[str, Any], StatusSource]:
    """What a route's `refresh` does, with an expired window (an empty reading cache);
    the figures, and the source whose readings a steady state would reuse."""
    source = StatusSource(status_check(verifier), StatusCache(), datetime.now(UTC))
    start = time.perf_counter()
    async with transaction(sessions) as session:
        changed = await refresh_foreign_status(session, agency, source)
        swept_at = time.perf_counter()
        stale = await refresh_stale(session, public_url, agency, datetime.now(UTC))
    return {
        "sweep_s": round(swept_at - start, 2),
        "changed": changed,
        "stale_reevaluated": stale,
        "with_stale_and_commit_s": round(time.perf_counter() - start, 2),
    }, source
