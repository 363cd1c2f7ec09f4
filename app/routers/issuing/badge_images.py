"""`GET /achievements/{id}/image.svg|.png`: the default badge image of an achievement.

Public and cacheable: pages show it when an achievement has no image of its own, and the
baked downloads are made from it.
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

from fastapi import APIRouter, Response

from app.deps import Session, State
from badges.issuing.achievements import (
    achievement_url,
    get_achievement,
)
from badges.issuing.badge_art import (
    default_png,
    default_svg,
)
from storage.models import Issuer

router = APIRouter(tags=["achievements"])

IMAGE_TYPES: Final = {"svg": "image/svg+xml", "png": "image/png"}
# An SVG opened on its own must not run anything or reach anywhere.
IMAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


@router.get(
    "/achievements/{achievement_id}/image.{kind}",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}},
)
async def default_image(
    achievement_id: uuid.UUID, kind: Literal["svg", "png"], session: Session, state: State
) -> Response:
    """The achievement's default badge image (its name, its issuer, colours from its id)."""
    row = await get_achievement(session, None, achievement_id)
    issuer = await session.get(Issuer, row.issuer_id)
    iri = achievement_url(state.settings.public_url, row.id)
    name = issuer.name if issuer else ""
    body = default_png(iri, row.name, name) if kind == "png" else default_svg(iri, row.name, name)
    return Response(
        body,
        media_type=IMAGE_TYPES[kind],
        # Unissued revisions may still be renamed in place: cached for an hour, not forever.
        headers={**IMAGE_HEADERS, "Cache-Control": "public, max-age=3600"},
    )
