"""The agency's approved providers: its issuer registry, which the verifier reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.deps import AgencyCaller, RequireAgency, Session, State
from badges.policy.approved_providers import (
    ProviderDetails,
    approve_provider,
    providers_at,
    withdraw_provider,
)
from schemas.api.base import AwareDatetime
from schemas.api.providers import ProviderIn, ProviderOut, WithdrawalIn
from storage.models import ApprovedProvider

router = APIRouter(prefix="/v1/agency", tags=["agency"])
Registrar = Annotated[AgencyCaller, Depends(RequireAgency("registry:write"))]
Reporter = Annotated[AgencyCaller, Depends(RequireAgency("reports:read"))]


def _out(row: ApprovedProvider) -> ProviderOut:
    return ProviderOut(
        id=str(row.id),
        issuer_id=row.issuer_iri,
        name=row.name,
        url=row.url,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


@router.post(
    "/providers", status_code=201, response_model=ProviderOut, response_model_by_alias=True
)
async def approve(
    body: ProviderIn, caller: Registrar, session: Session, state: State
) -> ProviderOut:
    """Approve an issuer as a provider: the verifier then reports its credentials as
    "issued by a provider the <agency> (<state>) has approved since <date>"."""
    details = ProviderDetails(
        body.issuer_id,
        body.name,
        str(body.url) if body.url else None,
        body.valid_from,
        body.valid_until,
    )
    row = await approve_provider(session, caller.agency, details, caller.client.client_id)
    # Committed before the verifier reloads: a reload between would keep the old list.
    await session.commit()
    state.approved_providers.changed()
    return _out(row)


@router.post(
    "/providers/{provider_id}/withdraw", response_model=ProviderOut, response_model_by_alias=True
)
async def withdraw(
    provider_id: uuid.UUID,
    caller: Registrar,
    session: Session,
    state: State,
    body: WithdrawalIn | None = None,
) -> ProviderOut:
    """End an approval at `at` (default now, never earlier): the period stays on record."""
    row = await withdraw_provider(session, caller.agency, provider_id, body.at if body else None)
    await session.commit()
    state.approved_providers.changed()
    return _out(row)


@router.get("/providers", response_model=list[ProviderOut], response_model_by_alias=True)
async def providers(
    caller: Reporter,
    session: Session,
    at: Annotated[
        AwareDatetime | None,
        Query(description="Approved on this date, as recorded by then (default now)."),
    ] = None,
) -> list[ProviderOut]:
    """The agency's approved providers on a date, each with its whole period."""
    rows = await providers_at(session, caller.agency, at or datetime.now(UTC))
    return [_out(row) for row in rows]
