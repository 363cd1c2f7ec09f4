"""Status re-checking in a state-scale benchmark: sweeps of foreign credentials, timed.

The service re-reads the status of each agency's credentials from elsewhere in the
background (a "sweep", `badges.policy.foreign_sweeps`), once per
`LATTICE_FOREIGN_STATUS_SWEEP_SECONDS`; state queries answer from what the last sweep saw
and never wait for one. So a benchmark times the queries while sweeps run, and the sweeps
themselves apart:

- `domain_sweep` runs a sweep in this process, with the service's own verifier
  (`app.state.build_verifier`) and an empty reading cache, then re-evaluates the educators
  it marked stale, as the next query would;
- `service_sweeps` reads the sweeps the service logged (one line each, at level info), so
  a series of queries can say how many sweeps ran meanwhile and how long they took.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.foreign_status import status_check
from app.settings import Settings
from app.state import build_verifier
from badges.policy.foreign_status import StatusCache, StatusSource
from badges.policy.foreign_sweeps import sweep_agency
from badges.policy.stack_completions import refresh_stale
from storage.models import Agency, ForeignStatusObservation, HeldCredential, SubmittedCredential
from storage.session import transaction
from verification.pipeline import Verifier


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


_SWEEP_LINE = re.compile(
    r"foreign status sweep of agency \S+: (\d+) read, (\d+) changed, ([\d.]+) s"
)


def service_sweeps(log: Path) -> list[dict[str, float]]:
    """The sweeps the service has logged so far: credentials read, changed, seconds."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = _SWEEP_LINE.search(line)
        if match:
            read, changed, seconds = match.groups()
            found.append({"read": int(read), "changed": int(changed), "seconds": float(seconds)})
    return found


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
    """A sweep as the service runs one, with an empty reading cache, then the re-evaluation
    of the educators it marked stale; the figures, and the source whose readings a steady
    state would reuse."""
    source = StatusSource(status_check(verifier), StatusCache(), datetime.now(UTC))
    start = time.perf_counter()
    record = await sweep_agency(sessions, agency.id, source)
    swept_at = time.perf_counter()
    async with transaction(sessions) as session:
        stale = await refresh_stale(session, public_url, agency, datetime.now(UTC))
    return {
        "sweep_s": round(swept_at - start, 2),
        "read": record.read,
        "per_credential_ms": round(record.seconds / max(record.read, 1) * 1000, 3),
        "changed": record.changed,
        "stale_reevaluated": stale,
        "with_stale_and_commit_s": round(time.perf_counter() - start, 2),
    }, source
