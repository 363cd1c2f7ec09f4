"""A provider's console: badges issued from a CSV file (upload, preview, issue, progress).

The preview offers to issue the rows without errors and says how many rows with errors
will be left out (never issued); a file with no valid row offers nothing to issue. The
progress page reloads itself (`<meta http-equiv="refresh">`, no script) until the batch
is done.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from app.console.auth import NotAMember, ProviderContext, ProviderStaff, check_csrf
from app.console.provider import area, provider_page
from app.deps import Session, State
from app.issue_batches import runner_of
from badges.errors import InvalidInput, NotFound
from badges.issuing.achievements import list_achievements
from badges.issuing.csv_batch import COLUMNS, MAX_FILE_BYTES, MAX_ROWS, check_rows, read_csv
from badges.issuing.issue_batches import (
    batch_rows,
    confirm,
    create_batch,
    get_batch,
    invalid_rows,
    list_batches,
    progress,
)
from storage.models import IssueBatch

router = APIRouter(prefix="/console/issuers/{slug}", tags=["console"], include_in_schema=False)
# Rows shown on the preview page (all of them are checked; the errors are all shown).
PREVIEW_ROWS: Final = 100
REFRESH_SECONDS: Final = 2


@router.get("/batches")
async def batches(who: ProviderStaff, session: Session) -> Response:
    """The upload form, and the issuer's past batches with their counts."""
    return await _upload_page(who, session)


async def _upload_page(
    who: ProviderContext,
    session: Session,
    *,
    error: str | None = None,
    field: str | None = None,
    chosen: str = "",
) -> Response:
    past = await list_batches(session, who.issuer)
    return provider_page(
        who,
        "console/batches.html",
        "/batches",
        422 if error else 200,
        achievements=await list_achievements(session, who.issuer),
        batches=[(batch, await progress(session, batch)) for batch in past],
        columns=COLUMNS,
        max_rows=MAX_ROWS,
        max_megabytes=MAX_FILE_BYTES // (1024 * 1024),
        error=error,
        field=field,
        chosen=chosen,
    )


@router.post("/batches")
async def upload(who: ProviderStaff, request: Request, session: Session, state: State) -> Response:
    """Check an uploaded file, keep it as a batch awaiting confirmation, show its preview."""
    form = await request.form()
    check_csrf(who, _text(form, "csrf"))
    chosen = _text(form, "achievement")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _upload_page(
            who, session, error="Choose a CSV file.", field="file", chosen=chosen
        )
    data = await upload.read(MAX_FILE_BYTES + 1)
    try:
        whole_batch = uuid.UUID(chosen) if chosen else None
    except ValueError:
        return await _upload_page(
            who, session, error="Choose one of the listed achievements.", field="achievement"
        )
    try:
        lines = read_csv(data, whole_batch_achievement=whole_batch is not None)
        preview = await check_rows(
            session, state.settings.public_url, who.issuer, lines, whole_batch
        )
    except InvalidInput as error:
        field = str(error.field[-1]) if error.field else "file"
        return await _upload_page(who, session, error=error.detail, field=field, chosen=chosen)
    batch = await create_batch(
        session,
        who.issuer,
        preview,
        filename=upload.filename,
        created_by=who.member.email,
        whole_batch=whole_batch,
    )
    await session.commit()
    return RedirectResponse(area(who, f"/batches/{batch.id}"), status_code=303)


@router.get("/batches/{batch_id}")
async def batch_page(who: ProviderStaff, batch_id: str, session: Session) -> Response:
    """A batch awaiting confirmation (its preview), or its progress once confirmed."""
    batch = await _batch(who, session, batch_id)
    counts = await progress(session, batch)
    problems = await invalid_rows(session, batch)
    context: dict[str, Any] = {"batch": batch, "progress": counts, "problems": problems}
    if counts.status == "preview":
        rows = await batch_rows(session, batch, limit=PREVIEW_ROWS)
        return provider_page(who, "console/batches_preview.html", "/batches", rows=rows, **context)
    return provider_page(
        who,
        "console/batches_progress.html",
        "/batches",
        refresh=None if counts.finished else REFRESH_SECONDS,
        **context,
    )


@router.post("/batches/{batch_id}/confirm")
async def confirm_batch(
    who: ProviderStaff, batch_id: str, request: Request, session: Session
) -> Response:
    """Issue the batch's valid rows. Confirming again (a second click, a second tab) issues
    nothing more: only the first confirmation starts the work."""
    form = await request.form()
    check_csrf(who, _text(form, "csrf"))
    batch = await _batch(who, session, batch_id)
    started = await confirm(session, who.issuer, batch.id, actor=who.member.email)
    await session.commit()
    if started:
        runner_of(request.app.state).start(batch.id)
    return RedirectResponse(area(who, f"/batches/{batch.id}"), status_code=303)


async def _batch(who: ProviderContext, session: Session, batch_id: str) -> IssueBatch:
    """The issuer's batch; any other (another issuer's, or none) is the console's 404 page."""
    try:
        return await get_batch(session, who.issuer, uuid.UUID(batch_id))
    except (ValueError, NotFound):
        raise NotAMember() from None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
