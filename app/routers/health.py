"""Liveness for load balancers and the container health check."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import Session

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(session: Session) -> dict[str, str]:
    """200 when the service can reach its database."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
