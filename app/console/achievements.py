"""A provider's achievements in the console: list, create, edit (an issued one gets a new
revision, as `PUT /v1/.../achievements/{id}` does), and the badge image: uploaded, or the
generated art. The API's domain functions do the work; this module reads forms.

Also the public URL of uploaded images (`/images/{id}.png`), which achievements name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from app.console.auth import NotAMember, ProviderContext, ProviderStaff, check_csrf
from app.console.provider import area, provider_page
from app.deps import Session, State
from app.pages import http_url
from app.routers.issuing.badge_images import IMAGE_HEADERS
from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuing.achievements import (
    ACHIEVEMENT_TYPES,
    AchievementDetails,
    create_achievement,
    details_of,
    get_achievement,
    list_achievements,
    update_achievement,
)
from badges.issuing.uploaded_images import MAX_BYTES, get_image, image_url, store_image
from storage.models import Achievement, Credential

router = APIRouter(tags=["console"], include_in_schema=False)
_BASE: Final = "/console/issuers/{slug}/achievements"
TYPES: Final = sorted(ACHIEVEMENT_TYPES)


@dataclass(frozen=True)
class AchievementForm:
    """What the form holds, as typed (shown again beside any error)."""

    name: str = ""
    description: str = ""
    criteria_narrative: str = ""
    criteria_url: str = ""
    achievement_type: str = "MicroCredential"
    tags: str = ""
    image_caption: str = ""
    image_choice: str = "generated"  # generated, upload, keep

    @classmethod
    def of(cls, row: Achievement) -> AchievementForm:
        return cls(
            name=row.name,
            description=row.description,
            criteria_narrative=row.criteria_narrative or "",
            criteria_url=row.criteria_url or "",
            achievement_type=row.achievement_type,
            tags=", ".join(row.tags),
            image_caption=row.image_caption or "",
            image_choice="keep" if row.image_url else "generated",
        )


def _one_line(value: str, what: str, field: str, limit: int, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{what} is required", field=(field,))
    if len(value) > limit:
        raise InvalidInput(f"{what} must be at most {limit} characters", field=(field,))
    if any(ord(c) < 32 for c in value):
        raise InvalidInput(f"{what} must be one line", field=(field,))
    return value


def _required(value: str, what: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{what} is required", field=(field,))
    return value.strip()


def _details(
    form: AchievementForm, image: str | None, base: AchievementDetails
) -> AchievementDetails:
    """The form's values over `base` (what the form does not show, such as rubric rows and
    alignments, is kept as it was)."""
    criteria_url = form.criteria_url.strip()
    if criteria_url and not http_url(criteria_url):
        raise InvalidInput(
            "the criteria URL must start with http:// or https://", field=("criteria_url",)
        )
    if len(form.description) > 10_000 or len(form.criteria_narrative) > 10_000:
        raise InvalidInput("at most 10,000 characters", field=("description",))
    tags = tuple(t.strip() for t in form.tags.split(",") if t.strip())
    if any(len(t) > 100 for t in tags) or len(tags) > 50:
        raise InvalidInput("at most 50 tags of at most 100 characters", field=("tags",))
    return replace(
        base,
        name=_one_line(form.name, "The name", "name", 500, required=True),
        description=_required(form.description, "The description", "description"),
        criteria_narrative=form.criteria_narrative.strip() or None,
        criteria_url=criteria_url or None,
        achievement_type=form.achievement_type,
        tags=tags,
        image_url=image,
        image_caption=_one_line(form.image_caption, "The caption", "image_caption", 500) or None,
    )


async def _image(
    who: ProviderContext,
    session: Session,
    state: State,
    form: AchievementForm,
    upload: UploadFile | None,
    kept: str | None,
) -> str | None:
    if form.image_choice == "upload":
        body = await upload.read(MAX_BYTES + 1) if upload is not None else b""
        if not body:
            raise InvalidInput("choose a PNG file to upload", field=("image",))
        stored = await store_image(session, who.issuer, body)
        return image_url(state.settings.public_url, stored.id)
    if form.image_choice == "keep":
        return kept
    return None  # the generated art


def _thumbnail(public_url: str, row: Achievement) -> str | None:
    """Where the console shows the badge image from: only this service (its CSP)."""
    if row.image_url is None:
        return f"/achievements/{row.id}/image.svg"
    if row.image_url.startswith(f"{public_url}/images/"):
        return row.image_url.removeprefix(public_url)
    return None


def _form_page(
    who: ProviderContext,
    state: State,
    form: AchievementForm,
    *,
    row: Achievement | None = None,
    error: DomainError | None = None,
    saved: str | None = None,
) -> Response:
    field = str(error.field[0]) if error and error.field else None
    return provider_page(
        who,
        "console/achievement_form.html",
        "/achievements",
        422 if error else 200,
        form=form,
        row=row,
        types=TYPES,
        error=error.detail if error else None,
        error_field=field,
        thumbnail=_thumbnail(state.settings.public_url, row) if row else None,
        saved=saved,
    )


@router.get(_BASE)
async def achievements(who: ProviderStaff, session: Session, state: State) -> Response:
    """The issuer's achievements (current revisions), with how often each was awarded."""
    rows = await list_achievements(session, who.issuer, include_archived=True)
    awarded = await session.execute(
        select(Achievement.lineage_id, func.count(Credential.id))
        .join(Credential, Credential.achievement_id == Achievement.id)
        .where(Achievement.issuer_id == who.issuer.id)
        .group_by(Achievement.lineage_id)
    )
    counts: dict[uuid.UUID, int] = {lineage: count for lineage, count in awarded}
    items: list[dict[str, Any]] = [
        {
            "row": row,
            "thumbnail": _thumbnail(state.settings.public_url, row),
            "awarded": counts.get(row.lineage_id, 0),
        }
        for row in rows
    ]
    return provider_page(
        who,
        "console/achievements.html",
        "/achievements",
        items=items,
        public_url=state.settings.public_url,
    )


@router.get(_BASE + "/new")
async def new_achievement(who: ProviderStaff, state: State) -> Response:
    return _form_page(who, state, AchievementForm())


FormText = Annotated[str, Form(max_length=20_000)]


def _posted(image_choice_default: str) -> Callable[..., AchievementForm]:
    """A dependency reading the posted form; without an `image_choice`, the default given
    (a new achievement: the generated art; an edit: keep the image it has)."""

    def posted(
        name: FormText = "",
        description: FormText = "",
        criteria_narrative: FormText = "",
        criteria_url: FormText = "",
        achievement_type: FormText = "MicroCredential",
        tags: FormText = "",
        image_caption: FormText = "",
        image_choice: FormText = image_choice_default,
    ) -> AchievementForm:
        return AchievementForm(
            name,
            description,
            criteria_narrative,
            criteria_url,
            achievement_type,
            tags,
            image_caption,
            image_choice,
        )

    return posted


@router.post(_BASE + "/new")
async def create(
    who: ProviderStaff,
    session: Session,
    state: State,
    form: Annotated[AchievementForm, Depends(_posted("generated"))],
    csrf: FormText = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Define a new achievement."""
    check_csrf(who, csrf)
    try:
        async with session.begin_nested():  # an image stored for a form refused goes too
            picture = await _image(who, session, state, form, image, None)
            blank = AchievementDetails(name="", description="")
            row = await create_achievement(session, who.issuer, _details(form, picture, blank))
    except DomainError as error:
        return _form_page(who, state, form, error=error)
    return RedirectResponse(area(who, f"/achievements/{row.id}?saved=created"), status_code=303)


@router.get(_BASE + "/{achievement_id}")
async def edit_form(
    who: ProviderStaff,
    session: Session,
    state: State,
    achievement_id: uuid.UUID,
    saved: str | None = None,
) -> Response:
    row = await own_achievement(session, who, achievement_id)
    return _form_page(who, state, AchievementForm.of(row), row=row, saved=saved)


async def own_achievement(
    session: Session, who: ProviderContext, achievement_id: uuid.UUID
) -> Achievement:
    """One of the issuer's achievements; anyone else's is the console's 404 page."""
    try:
        return await get_achievement(session, who.issuer, achievement_id)
    except NotFound:
        raise NotAMember() from None


@router.post(_BASE + "/{achievement_id}")
async def edit(
    who: ProviderStaff,
    session: Session,
    state: State,
    achievement_id: uuid.UUID,
    form: Annotated[AchievementForm, Depends(_posted("keep"))],
    csrf: FormText = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Save an edit: in place while never awarded, else as the next revision."""
    check_csrf(who, csrf)
    current = await own_achievement(session, who, achievement_id)
    try:
        async with session.begin_nested():
            picture = await _image(who, session, state, form, image, current.image_url)
            details = _details(form, picture, details_of(current))
            row = await update_achievement(session, who.issuer, achievement_id, details)
    except DomainError as error:
        return _form_page(who, state, form, row=current, error=error)
    saved = "saved" if row.id == achievement_id else "revision"
    return RedirectResponse(area(who, f"/achievements/{row.id}?saved={saved}"), status_code=303)


@router.get("/images/{image_id}.png")
async def uploaded_image(image_id: uuid.UUID, session: Session) -> Response:
    """An uploaded badge image, public like the achievement that names it."""
    row = await get_image(session, image_id)
    return Response(
        row.body,
        media_type=row.media_type,
        headers={**IMAGE_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"},
    )
