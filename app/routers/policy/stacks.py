"""Public stack, lattice and role documents: JSON for machines, a page for a browser."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import Session, State
from app.negotiation import json_ld, preferred
from app.pages import render
from badges.errors import NotFound
from badges.policy.stacks import (
    get_lattice,
    get_stack,
    lattice_document,
    role_document,
    stack_document,
)
from storage.models import Agency, Issuer

router = APIRouter(tags=["stacks"])


async def _agency_name(session: AsyncSession, agency_id: uuid.UUID) -> str:
    agency = await session.get(Agency, agency_id)
    issuer = await session.get(Issuer, agency.issuer_id) if agency else None
    return issuer.name if issuer else ""


def _answer(request: Request, document: dict[str, Any]) -> Response:
    if preferred(request, ["application/json", "text/html"]) == "text/html":
        return render("rule_document.html", document=document)
    return json_ld(document, "application/json")


@router.get("/stacks/{stack_id}", response_class=Response)
async def public_stack(
    stack_id: uuid.UUID, request: Request, session: Session, state: State
) -> Response:
    """A stack's rule and member achievements."""
    stack = await get_stack(session, None, stack_id)
    name = await _agency_name(session, stack.agency_id)
    return _answer(request, stack_document(state.settings.public_url, stack, name))


@router.get("/lattices/{lattice_id}", response_class=Response)
async def public_lattice(
    lattice_id: uuid.UUID, request: Request, session: Session, state: State
) -> Response:
    """A career lattice: its roles, their rules and their order."""
    lattice = await get_lattice(session, None, lattice_id)
    name = await _agency_name(session, lattice.agency_id)
    return _answer(request, lattice_document(state.settings.public_url, lattice, name))


@router.get("/lattices/{lattice_id}/roles/{key}", response_class=Response)
async def public_role(
    lattice_id: uuid.UUID, key: str, request: Request, session: Session, state: State
) -> Response:
    lattice = await get_lattice(session, None, lattice_id)
    role = next((role for role in lattice.roles if role.key == key), None)
    if role is None:
        raise NotFound(f"lattice {lattice_id} has no role {key!r}")
    return _answer(request, role_document(state.settings.public_url, lattice, role))
