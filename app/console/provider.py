"""A provider's console: the overview of one issuer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from app.console.auth import ProviderContext, ProviderStaff, page
from app.deps import Session
from storage.models import Achievement, Credential

router = APIRouter(prefix="/console/issuers/{slug}", tags=["console"], include_in_schema=False)


def area(who: ProviderContext, path: str = "") -> str:
    """The console address of one of the issuer's areas (the navigation marks it)."""
    return f"/console/issuers/{who.issuer.slug}{path}"


def provider_page(
    who: ProviderContext, template: str, section: str = "", status_code: int = 200, **context: Any
) -> Response:
    """`page` with what the provider templates' frame reads: `issuer`, and `area`, the
    address of the section (`/achievements`, `/credentials`, ...) the navigation marks."""
    return page(who, template, status_code, issuer=who.issuer, area=area(who, section), **context)


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
    return provider_page(
        who,
        "console/provider_home.html",
        achievements=achievements or 0,
        issued=issued or 0,
    )
