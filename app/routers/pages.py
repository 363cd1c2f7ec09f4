"""The pages for people: the home page, the verifier (`GET /verify`, a form, and `POST
/verify`, the result on the page), and the browser form of `GET /credentials/{id}`.

Plain HTML forms, no JavaScript. Both pages verify through `verify_presented`, the same code
as `POST /v1/verify`, so a person and a program always get the same verdict. Bad input is the
form again, with the message beside the field at fault and a 4xx status, never a 500.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request, Response
from pydantic import EmailStr, HttpUrl, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from app.counts_toward import counts_toward
from app.deps import State
from app.negotiation import JWT, VC_LD_JSON, preferred
from app.pages import PAGE_HEADERS, When, render, result_view, when
from app.routers.issuing.issuers import logo_src
from app.routers.verification.verify import (
    own_credential,
    verify_presented,
)
from app.state import ServiceState
from badges.errors import DomainError, InvalidInput
from badges.status.copies import original_of
from badges.status.status_changes import (
    Standing,
    events_of,
    standing_of,
)
from storage.models import Credential, Issuer
from verification.context import RecipientQuery
from verification.inputs import InputError, Presented, read_presented

router = APIRouter(tags=["pages"], include_in_schema=False)

_URL: Final = TypeAdapter(HttpUrl)
_EMAIL: Final = TypeAdapter(EmailStr)
_NO_STORE: Final = {**PAGE_HEADERS, "Cache-Control": "no-store"}


@dataclass(frozen=True)
class VerifyForm:
    """What was typed, shown again with the result or the error."""

    url: str = ""
    credential: str = ""
    email: str = ""


@router.get("/")
async def home() -> Response:
    """What this service is, and where to go: the verifier, the API documentation."""
    return render("home.html", headers=PAGE_HEADERS)


@router.get("/verify")
async def verify_page(state: State) -> Response:
    """The verifier's form: a badge URL, its JSON or JWT, or a file."""
    return _verify_page(state, VerifyForm())


@router.post("/verify")
async def verify_submitted(request: Request, state: State) -> Response:
    """Verify what the form gave and show the result under the form's heading."""
    form = VerifyForm()
    try:
        async with request.form() as data:
            form = VerifyForm(_text(data, "url"), _text(data, "credential"), _text(data, "email"))
            upload = await _upload(data)
        presented = await _presented(state, form, upload)
        recipient = RecipientQuery(email=_email(form.email)) if form.email else None
        report = await verify_presented(state, presented, recipient)
    except HTTPException as error:  # a malformed multipart body, or one over the size limit
        return _verify_page(state, form, str(error.detail), None, error.status_code)
    except DomainError as error:
        field = str(error.field[0]) if error.field else None
        return _verify_page(state, form, error.detail, field, error.status_code)
    return _verify_page(state, form, result=result_view(report))


def _text(data: FormData, name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _upload(data: FormData) -> bytes | None:
    """The uploaded file's bytes; None when no file was chosen (browsers still send a part)."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        return None
    content = await upload.read()
    return content if content or upload.filename else None


async def _presented(
    state: ServiceState, form: VerifyForm, upload: bytes | None
) -> Presented | str:
    given = [name for name in ("url", "credential") if getattr(form, name)]
    if upload is not None:
        given.append("file")
    if not given:
        raise InvalidInput("Give a badge URL, paste its JSON or JWT, or choose a file.")
    if len(given) > 1:
        raise InvalidInput(
            f"Give the badge one way only (you gave {' and '.join(given)}).", field=(given[-1],)
        )
    if upload is not None:
        return _read(upload, "file")
    if form.credential:
        return _read(form.credential, "credential")
    try:
        url = str(_URL.validate_python(form.url))
    except ValidationError:
        raise InvalidInput(f"{form.url!r} is not an http(s) URL.", field=("url",)) from None
    return await own_credential(state, url) or url


def _read(data: bytes | str, field: str) -> Presented:
    try:
        return read_presented(data)
    except InputError as error:
        raise InvalidInput(f"This is not a badge we can read: {error}.", field=(field,)) from None


def _email(value: str) -> str:
    try:
        return str(_EMAIL.validate_python(value))
    except ValidationError:
        raise InvalidInput(f"{value!r} is not an email address.", field=("email",)) from None


def _verify_page(
    state: ServiceState,
    form: VerifyForm,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
    **context: object,
) -> Response:
    return render(
        "verify.html",
        status_code,
        _NO_STORE,
        form=form,
        error=error,
        error_field=error_field,
        max_upload=_size(state.settings.max_body_bytes),
        **context,
    )


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.3g} MB"
    return f"{max(1, limit // 1024)} KB"


def prefers_html(request: Request) -> bool:
    """A browser asking for `/credentials/{id}`: HTML ranks above every machine form."""
    offered = [VC_LD_JSON, "application/ld+json", "application/json", JWT, "text/plain"]
    return preferred(request, [*offered, "text/html"]) == "text/html"


@dataclass(frozen=True)
class StandingNote:
    """The issuer's last word on the credential's status, when it is not in good standing."""

    state: str  # "revoked" or "suspended"
    words: str
    on: When
    reason: str | None


async def standing_note(session: AsyncSession, credential_id: uuid.UUID) -> StandingNote | None:
    """Revoked or suspended: since when and why (a wallet copy has its original's status)."""
    original = await original_of(session, credential_id) or credential_id
    events = await events_of(session, original)
    standing = standing_of(events)
    if standing is Standing.ACTIVE:
        return None
    last = next(event for event in reversed(events) if event.event_type == standing.value)
    moment = last.occurred_at.isoformat()
    on = when(moment) or When(moment, moment)
    words = "Revoked on" if standing is Standing.REVOKED else "Suspended since"
    return StandingNote(standing.value, words, on, last.reason)


async def credential_page(identifier: str, session: AsyncSession, state: ServiceState) -> Response:
    """The service's own credential, verified now from its store, with its downloads: what
    it counts toward in words, and when and why it was revoked."""
    headers = {**PAGE_HEADERS, "Vary": "Accept", "Cache-Control": "no-cache"}
    try:
        row = await session.get(Credential, uuid.UUID(identifier))
    except ValueError:
        row = None
    if row is None:
        return render(
            "not_found.html", 404, headers, message=f"There is no badge {identifier!r} here."
        )
    report = await verify_presented(state, read_presented(row.document))
    public_url = state.settings.public_url
    url = f"{public_url}/credentials/{row.id}"
    art = f"/achievements/{row.achievement_id}/image.svg" if row.achievement_id else None
    issuer = await session.get(Issuer, row.issuer_id)
    logo = logo_src(issuer) if issuer else None
    document = report.credential or {}
    return render(
        "credential.html",
        200,
        headers,
        result=result_view(report, default_image=art, issuer_logo=logo),
        goals=await counts_toward(session, public_url, document),
        standing=await standing_note(session, row.id),
        credential_id=row.id,
        url=url,
        json_url=f"/credentials/{row.id}.json",
        jwt_url=f"/credentials/{row.id}.jwt" if row.jwt else None,
    )
