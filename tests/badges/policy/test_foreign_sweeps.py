"""The schedule of sweeps: one per agency at a time, none again within the window, a failed
sweep logged and tried again when next due, and a caller that must wait can."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from badges.policy.foreign_sweeps import SweepRecord, Sweeps


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _sweep(agency_id: uuid.UUID, gate: asyncio.Event, runs: list[int]):  # type: ignore[no-untyped-def]
    async def sweep() -> SweepRecord:
        runs.append(1)
        await gate.wait()
        return SweepRecord(agency_id, datetime.now(UTC), 0.0, read=3, changed=1)

    return sweep


async def test_one_sweep_per_agency_at_a_time_and_none_again_within_the_window() -> None:
    clock, agency, gate, runs = _Clock(), uuid.uuid4(), asyncio.Event(), []
    sweeps = Sweeps(timedelta(minutes=5), clock)

    assert sweeps.start_if_due(agency, _sweep(agency, gate, runs)) is True
    assert sweeps.start_if_due(agency, _sweep(agency, gate, runs)) is False  # running
    other = uuid.uuid4()
    assert sweeps.start_if_due(other, _sweep(other, gate, runs)) is True  # agencies apart
    gate.set()
    await sweeps.wait()
    assert len(runs) == 2
    last = sweeps.last(agency)
    assert last is not None and (last.read, last.changed) == (3, 1)

    clock.now += timedelta(minutes=4, seconds=59)
    assert sweeps.start_if_due(agency, _sweep(agency, gate, runs)) is False
    clock.now += timedelta(seconds=1)
    assert sweeps.start_if_due(agency, _sweep(agency, gate, runs)) is True
    await sweeps.wait()
    assert len(runs) == 3


async def test_a_failed_sweep_is_logged_keeps_the_last_record_and_runs_again_when_due(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, agency, gate, runs = _Clock(), uuid.uuid4(), asyncio.Event(), []
    gate.set()
    sweeps = Sweeps(timedelta(minutes=5), clock)
    sweeps.start_if_due(agency, _sweep(agency, gate, runs))
    await sweeps.wait()
    before = sweeps.last(agency)

    async def failing() -> SweepRecord:
        raise OSError("the database went away")

    clock.now += timedelta(minutes=5)
    with caplog.at_level(logging.ERROR):
        assert sweeps.start_if_due(agency, failing) is True
        await sweeps.wait()
        await asyncio.sleep(0)  # the done callback runs on the loop's next turn
    assert "foreign status sweep" in caplog.text
    assert sweeps.last(agency) is before

    clock.now += timedelta(minutes=5)
    assert sweeps.start_if_due(agency, _sweep(agency, gate, runs)) is True
    await sweeps.wait()
    assert len(runs) == 2


async def test_a_question_that_must_wait_waits_for_the_running_sweep() -> None:
    clock, agency, gate, runs = _Clock(), uuid.uuid4(), asyncio.Event(), []
    sweeps = Sweeps(timedelta(minutes=5), clock)
    sweeps.start_if_due(agency, _sweep(agency, gate, runs))

    waiting = asyncio.create_task(sweeps.sweep_now_if_due(agency, _sweep(agency, gate, runs)))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    gate.set()
    await asyncio.wait_for(waiting, 5)
    assert len(runs) == 1  # it joined the running sweep, it did not start another
