"""Sweeps of an agency's credentials from elsewhere, on the real database with a foreign
issuer serving its revocation list over HTTP: every counted credential is read, in chunks,
a revocation is appended once, and the service's periodic sweep reaches every agency."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.foreign_status import status_source, sweep_periodically
from app.settings import Settings
from app.state import build_state
from badges.policy.foreign_sweeps import Sweeps, sweep_agency
from storage.models import Agency
from tests.app.foreign_issuer import ForeignIssuer, foreign_issuer
from tests.conftest import AgencyClient


@pytest.fixture
def foreign() -> Iterator[ForeignIssuer]:
    with foreign_issuer() as issuer:
        yield issuer


async def _agency_id(sessions: async_sessionmaker[AsyncSession], agency: AgencyClient) -> uuid.UUID:
    async with sessions() as session:
        found = await session.scalar(select(Agency.id).where(Agency.issuer_id == agency.issuer.id))
    assert found is not None
    return found


async def _submitted(
    foreign: ForeignIssuer, agency: AgencyClient, count: int
) -> list[dict[str, Any]]:
    achievement = f"https://district9.example/achievements/{uuid.uuid4()}"
    earned = datetime.now(UTC) - timedelta(days=20)
    address = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    credentials = [foreign.award(address, achievement, earned) for _ in range(count)]
    response = await agency.http.post(
        "/v1/agency/submissions",
        json={"educator": {"email": address}, "credentials": credentials},
    )
    assert response.status_code == 201, response.text
    assert all(result["accepted"] for result in response.json()["results"])
    return credentials


async def test_a_sweep_reads_every_credential_in_chunks_and_appends_a_revocation_once(
    foreign: ForeignIssuer,
    agency: AgencyClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
):
    credentials = await _submitted(foreign, agency, 5)
    agency_id = await _agency_id(sessions, agency)
    foreign.revoke(credentials[1])
    state = build_state(settings)
    try:
        first = await sweep_agency(sessions, agency_id, status_source(state), chunk=2)
        again = await sweep_agency(sessions, agency_id, status_source(state), chunk=2)
    finally:
        await state.close()

    assert (first.read, first.changed) == (5, 1)
    assert (again.read, again.changed) == (5, 0)  # a revocation is final: appended once


async def test_the_periodic_sweep_reaches_each_agency_in_the_background(
    foreign: ForeignIssuer,
    agency: AgencyClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
):
    credentials = await _submitted(foreign, agency, 2)
    agency_id = await _agency_id(sessions, agency)
    foreign.revoke(credentials[0])
    built = build_state(settings)
    state = dataclasses.replace(built, foreign_sweeps=Sweeps(timedelta(minutes=5)))
    looping = asyncio.create_task(sweep_periodically(state, every=0.05))
    try:
        async with asyncio.timeout(60):
            while state.foreign_sweeps.last(agency_id) is None:  # noqa: ASYNC110 (polled, as a caller would)
                await asyncio.sleep(0.05)
    finally:
        looping.cancel()
        await asyncio.gather(looping, return_exceptions=True)
        await state.foreign_sweeps.cancel()
        await built.close()
    record = state.foreign_sweeps.last(agency_id)
    assert record is not None and (record.read, record.changed) == (2, 1)
