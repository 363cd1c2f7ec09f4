"""A provider's console: the overview of one issuer."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from app.console.auth import ProviderStaff, page
from app.deps import Session
from storage.models import Achievement, Credential

router = APIRouter(prefix="/console/issuers/{slug}", tags=["console"], include_in_schema=False)


def area(who: ProviderStaff, path: str = "") -> str:
    """The console address of one of the issuer's areas (the navigation marks it)."""
    return f"/console/issuers/{who.issuer.slug}{path}"


@router.get("")
async def overview(who: ProviderStaff, session: Session) -> Response:
    """What the issuer has: its achievements and how many credentials it issued."""
    achievements = await session.scalar(
        select(func.count())
        .select_from(Achievement)
        .where(Achievement.issuer_id == who.issuer.id, Achievement.is_current.is_(True))
    )
    issued = await session.scalar(
        select(func.count()).select_from(Credential).where(Credential.issuer_id == who.issuer.id)
    )
    return page(
        who,
        "console/provider_home.html",
        issuer=who.issuer,
        area=area(who),
        achievements=achievements or 0,
        issued=issued or 0,
    )
