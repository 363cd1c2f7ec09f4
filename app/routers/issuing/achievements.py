"""Achievements: providers manage their micro-credential definitions; anyone can read them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import Provider, RequireScopes, Session, State, issuer_of
from app.negotiation import JSON_LD, json_ld
from badges.issuing.achievements import (
    AchievementDetails,
    Alignment,
    ResultDescription,
    RubricLevel,
    achievement_document,
    achievement_json,
    achievement_url,
    archive_achievement,
    create_achievement,
    get_achievement,
    list_achievements,
    update_achievement,
)
from schemas.api.achievements import AchievementIn, AchievementOut
from storage.models import Achievement

router = APIRouter(tags=["achievements"])
Writer = Annotated[Provider, Depends(RequireScopes("achievements:write"))]
Reader = Annotated[Provider, Depends(RequireScopes())]


def to_details(body: AchievementIn) -> AchievementDetails:
    return AchievementDetails(
        name=body.name,
        description=body.description,
        criteria_narrative=body.criteria.narrative,
        criteria_url=str(body.criteria.url) if body.criteria.url else None,
        image_url=str(body.image.url) if body.image else None,
        image_caption=body.image.caption if body.image else None,
        achievement_type=body.achievement_type,
        version=body.version,
        tags=tuple(body.tags),
        alignments=tuple(
            Alignment(
                target_name=item.target_name,
                target_url=str(item.target_url),
                target_description=item.target_description,
                target_framework=item.target_framework,
                target_code=item.target_code,
                target_type=item.target_type,
            )
            for item in body.alignment
        ),
        result_descriptions=tuple(
            ResultDescription(
                key=row.key,
                name=row.name,
                result_type=row.result_type,
                required_level=row.required_level,
                levels=tuple(
                    RubricLevel(level.key, level.name, level.description, level.level, level.points)
                    for level in row.rubric_criterion_level
                ),
            )
            for row in body.result_description
        ),
    )


def to_out(public_url: str, row: Achievement) -> AchievementOut:
    return AchievementOut(
        id=str(row.id),
        lineage_id=str(row.lineage_id),
        revision=row.revision,
        is_current=row.is_current,
        archived=row.archived_at is not None,
        url=achievement_url(public_url, row.id),
        achievement=achievement_json(public_url, row),
    )


@router.post(
    "/v1/issuers/{slug}/achievements",
    status_code=201,
    response_model=AchievementOut,
    response_model_by_alias=True,
)
async def create(
    slug: str,
    body: AchievementIn,
    provider: Writer,
    session: Session,
    state: State,
    response: Response,
) -> AchievementOut:
    """Define a micro-credential this issuer can award."""
    issuer = await issuer_of(slug, provider, session)
    row = await create_achievement(session, issuer, to_details(body))
    response.headers["Location"] = achievement_url(state.settings.public_url, row.id)
    return to_out(state.settings.public_url, row)


@router.get(
    "/v1/issuers/{slug}/achievements",
    response_model=list[AchievementOut],
    response_model_by_alias=True,
)
async def list_all(
    slug: str, provider: Reader, session: Session, state: State, include_archived: bool = False
) -> list[AchievementOut]:
    """The current revision of each of the issuer's achievements."""
    issuer = await issuer_of(slug, provider, session)
    rows = await list_achievements(session, issuer, include_archived=include_archived)
    return [to_out(state.settings.public_url, row) for row in rows]


@router.get(
    "/v1/issuers/{slug}/achievements/{achievement_id}",
    response_model=AchievementOut,
    response_model_by_alias=True,
)
async def read(
    slug: str, achievement_id: uuid.UUID, provider: Reader, session: Session, state: State
) -> AchievementOut:
    issuer = await issuer_of(slug, provider, session)
    return to_out(state.settings.public_url, await get_achievement(session, issuer, achievement_id))


@router.put(
    "/v1/issuers/{slug}/achievements/{achievement_id}",
    response_model=AchievementOut,
    response_model_by_alias=True,
)
async def update(
    slug: str,
    achievement_id: uuid.UUID,
    body: AchievementIn,
    provider: Writer,
    session: Session,
    state: State,
    response: Response,
) -> AchievementOut:
    """Edit an achievement; once issued, this creates a new revision with its own id."""
    issuer = await issuer_of(slug, provider, session)
    row = await update_achievement(session, issuer, achievement_id, to_details(body))
    if row.id != achievement_id:
        response.status_code = 201
        response.headers["Location"] = achievement_url(state.settings.public_url, row.id)
    return to_out(state.settings.public_url, row)


@router.delete(
    "/v1/issuers/{slug}/achievements/{achievement_id}",
    response_model=AchievementOut,
    response_model_by_alias=True,
)
async def archive(
    slug: str, achievement_id: uuid.UUID, provider: Writer, session: Session, state: State
) -> AchievementOut:
    """Stop awarding an achievement. Its public definition stays online for verifiers."""
    issuer = await issuer_of(slug, provider, session)
    row = await archive_achievement(session, issuer, achievement_id)
    return to_out(state.settings.public_url, row)


@router.get(
    "/achievements/{achievement_id}",
    response_class=Response,
    responses={200: {"content": {JSON_LD: {}}}},
)
async def public(achievement_id: uuid.UUID, session: Session, state: State) -> Response:
    """The public OB 3.0 Achievement (what credentials embed), for any verifier."""
    row = await get_achievement(session, None, achievement_id)
    return json_ld(achievement_document(state.settings.public_url, row))
