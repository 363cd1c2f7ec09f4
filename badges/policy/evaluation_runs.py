"""Re-evaluation after a stack revision, in the background, with its progress visible.

A revised stack changes who holds it, and who holds every stack nesting it and every lattice
role naming them. The stored completions (holders, reports, reminders) of those targets that
the agency has had evaluated in full are brought up to date by one `evaluate_all` run over
them, started once the revision is committed, so no one has to re-run evaluate-all by hand.
A run is tracked here (pending, running, done or failed; which targets; how many educators
were evaluated, and why the others were not) and the service answers for it by id.

Also here: why an evaluate-all run evaluated fewer educators than the agency has.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.policy.completion_rules import Target
from badges.policy.stack_completions import (
    RunSummary,
    evaluate_all,
    evaluated_targets,
)
from badges.policy.stack_rules import (
    Rule,
    parse_rule,
    stacks_of,
)
from badges.policy.stacks import resolve_stack_ref
from storage.models import Agency
from storage.session import transaction

logger = logging.getLogger("lattice.evaluation_runs")

RunStatus = Literal["pending", "running", "done", "failed"]
# Why an educator of the agency was not evaluated by a run. The only educators a run leaves
# out are those holding no credential the rules could count: they cannot meet them.
HOLDS_NONE = "holds no credential of an achievement these rules name (so cannot meet them)"
# Finished runs kept for their status answer, per service process (the oldest go first).
KEEP_RUNS = 500


def not_evaluated(summary: RunSummary) -> list[tuple[str, int]]:
    """(reason, how many educators) for those of the agency's educators a run left out."""
    left_out = summary.educators - summary.evaluated
    return [(HOLDS_NONE, left_out)] if left_out > 0 else []


@dataclass
class EvaluationRun:
    """One background re-evaluation after a stack revision."""

    id: uuid.UUID
    agency_id: uuid.UUID
    stack_id: uuid.UUID  # the revision that started it
    status: RunStatus = "pending"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    targets: list[Target] = field(default_factory=list)
    summary: RunSummary | None = None
    error: str | None = None


Work = Callable[[EvaluationRun], Awaitable[None]]


class EvaluationRuns:
    """The background runs of one service process: each an asyncio task held until it ends
    (so none is garbage-collected half way), its record kept for status queries."""

    def __init__(self, keep: int = KEEP_RUNS) -> None:
        self._runs: OrderedDict[uuid.UUID, EvaluationRun] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._keep = keep

    def start(self, agency_id: uuid.UUID, stack_id: uuid.UUID, work: Work) -> EvaluationRun:
        run = EvaluationRun(uuid.uuid4(), agency_id, stack_id)
        self._runs[run.id] = run
        while len(self._runs) > self._keep:
            self._runs.popitem(last=False)
        task = asyncio.create_task(self._run(run, work), name=f"evaluation-run-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def get(self, agency_id: uuid.UUID, run_id: uuid.UUID) -> EvaluationRun | None:
        """The run, if it is this agency's (another agency's is as unknown as none)."""
        run = self._runs.get(run_id)
        return run if run is not None and run.agency_id == agency_id else None

    async def wait(self) -> None:
        """Until every run started so far has ended (tests, and an orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @staticmethod
    async def _run(run: EvaluationRun, work: Work) -> None:
        run.status = "running"
        try:
            await work(run)
        except Exception as error:  # the run reports it; the service goes on
            logger.exception("re-evaluation %s failed", run.id)
            run.status, run.error = "failed", f"{type(error).__name__}: {error}"
        else:
            run.status = "done"
        finally:
            run.finished_at = datetime.now(UTC)


def reevaluation(
    sessions: async_sessionmaker[AsyncSession], public_url: str, lineage_id: uuid.UUID
) -> Work:
    """The work of re-evaluating what a revision of the stack `lineage_id` changed, in its
    own transaction (started after the revision's was committed)."""

    async def work(run: EvaluationRun) -> None:
        async with transaction(sessions) as session:
            agency = await session.get(Agency, run.agency_id)
            if agency is None:
                return
            run.targets = await affected_targets(session, public_url, agency, lineage_id)
            if run.targets:
                at = datetime.now(UTC)
                run.summary = await evaluate_all(session, public_url, agency, run.targets, at)

    return work


async def affected_targets(
    session: AsyncSession, public_url: str, agency: Agency, lineage_id: uuid.UUID
) -> list[Target]:
    """The targets the agency has evaluated in full whose rule counts the stack, directly or
    through stacks it nests (the stack itself included, at its current revision)."""
    found = []
    for target in await evaluated_targets(session, agency):
        if (target.kind == "stack" and target.id == lineage_id) or await _nests(
            session, public_url, agency, target.policy.rule, lineage_id, frozenset()
        ):
            found.append(target)
    return found


async def _nests(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    rule: Rule,
    lineage_id: uuid.UUID,
    seen: frozenset[uuid.UUID],
) -> bool:
    """Whether `rule` nests the stack `lineage_id`, at any depth."""
    for ref in stacks_of(rule):
        stack = await resolve_stack_ref(session, public_url, agency, ref)
        if stack.lineage_id == lineage_id:
            return True
        inner = parse_rule(stack.rule)
        if stack.lineage_id not in seen and await _nests(
            session, public_url, agency, inner, lineage_id, seen | {stack.lineage_id}
        ):
            return True
    return False
