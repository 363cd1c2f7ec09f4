"""A teacher's vetting requests: she asks an agency to vet an MC from elsewhere, follows
it, and may withdraw it. Pages with a form under /teacher/vetting, and the same as JSON
under /teacher/vetting-requests. Both use her session cookie, like every /teacher page, so
neither is in the OpenAPI document; the JSON routes take JSON bodies only, which no other
site's form can send, and answer 401 (not the sign-in redirect) without a session.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.deps import Session, State
from app.pages import render
from app.problems import field_path
from app.routers.wallets.teacher import (
    SESSION_COOKIE,
    TEACHER_PAGE_HEADERS,
    SignedIn,
    Teacherly,
)
from app.state import ServiceState
from app.vetting_views import CursorParam, Limit, own_page, request_views
from badges.errors import DomainError, InvalidInput
from badges.policy.purposes import check_purpose
from badges.policy.vetting import (
    submit,
    withdraw,
)
from badges.policy.vetting_parties import (
    Requester,
    Subject,
    find_agency,
    outside_mc,
)
from badges.policy.vetting_queries import (
    agencies_with_purposes,
    own_request,
    requests_page,
)
from badges.wallets.teachers import current_session
from schemas.api.vetting import (
    TeacherVettingIn,
    VettingRequestOut,
    VettingRequestsOut,
    VettingWithdrawIn,
)
from storage.models import Teacher, VettingRequest
from verification import InputError, read_presented

router = APIRouter(prefix="/teacher", tags=["teacher"], include_in_schema=False)


# --- JSON ------------------------------------------------------------------------------------


async def _teacher(request: Request, session: Session) -> Teacher:
    """The signed-in teacher; a 401 rather than the sign-in redirect her pages give."""
    found = await current_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise HTTPException(401, "sign in at /teacher/sign-in first")
    return found[0]


TeacherCaller = Annotated[Teacher, Depends(_teacher)]


async def _teacher_submit(
    session: Session, state: ServiceState, teacher: Teacher, body: TeacherVettingIn
) -> VettingRequest:
    agency = await find_agency(session, state.settings.public_url, body.agency)
    await check_purpose(session, agency, body.purpose)  # before the credential is checked
    subject = await _outside_mc(state, body)
    requester = Requester.teacher(teacher.id)
    return await submit(session, agency, body.purpose, subject, body.statement, requester)


async def _outside_mc(state: ServiceState, body: TeacherVettingIn) -> Subject:
    """The MC she describes; the credential she holds, if she sent it, is verified first
    and the verdict kept for the reviewers (a failing one is not refused: the request is
    about the MC, and the reviewers see why it failed)."""
    document = check = text = None
    if body.credential is not None:
        credential = body.credential
        text = credential if isinstance(credential, str) else json.dumps(credential)
        try:
            report = await state.verifier.verify(read_presented(credential))
        except InputError as error:
            raise InvalidInput(
                f"the credential cannot be read: {error}", field=("credential",)
            ) from None
        if report.credential is None:
            raise InvalidInput("the credential cannot be read", field=("credential",))
        document = report.credential
        check = {"verdict": report.verdict.value, "reason": report.reason}
    return outside_mc(
        name=body.name,
        provider=body.provider,
        url=body.url,
        achievement_id=body.achievement_id,
        credential=text,
        document=document,
        check=check,
    )


@router.post("/vetting-requests", status_code=201, response_model_by_alias=True)
async def teacher_submit(
    body: TeacherVettingIn, teacher: TeacherCaller, session: Session, state: State
) -> VettingRequestOut:
    """Ask an agency to vet an MC from elsewhere for a purpose."""
    row = await _teacher_submit(session, state, teacher, body)
    [view] = await request_views(session, [row])
    return view


@router.get("/vetting-requests", response_model_by_alias=True)
async def teacher_list(
    teacher: TeacherCaller, session: Session, limit: Limit = 50, cursor: CursorParam = None
) -> VettingRequestsOut:
    return await own_page(session, Requester.teacher(teacher.id), cursor, limit)


@router.get("/vetting-requests/{request_id}", response_model_by_alias=True)
async def teacher_request(
    request_id: uuid.UUID, teacher: TeacherCaller, session: Session
) -> VettingRequestOut:
    row = await own_request(session, Requester.teacher(teacher.id), request_id)
    [view] = await request_views(session, [row])
    return view


@router.post("/vetting-requests/{request_id}/withdraw", response_model_by_alias=True)
async def teacher_withdraw(
    request_id: uuid.UUID, body: VettingWithdrawIn, teacher: TeacherCaller, session: Session
) -> VettingRequestOut:
    requester = Requester.teacher(teacher.id)
    row = await own_request(session, requester, request_id)
    [view] = await request_views(session, [await withdraw(session, row, requester, body.reason)])
    return view


# --- pages -----------------------------------------------------------------------------------

_FORM_FIELDS: Final = (
    "choice",
    "name",
    "provider",
    "url",
    "achievement_id",
    "credential",
    "statement",
)


def _page(template: str, status_code: int = 200, **context: Any) -> Response:
    return render(template, status_code=status_code, headers=TEACHER_PAGE_HEADERS, **context)


async def _vetting_page(
    who: SignedIn,
    session: Session,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
) -> Response:
    requester = Requester.teacher(who.teacher.id)
    rows, _ = await requests_page(session, requester, None, 500)
    choices = [
        (f"{issuer.slug} {key}", f"{issuer.name}: {name}")
        for issuer, purposes in await agencies_with_purposes(session)
        for key, name in purposes.items()
    ]
    return _page(
        "teacher_vetting.html",
        status_code,
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        requests=list(reversed(await request_views(session, rows))),
        choices=choices,
        form=form or dict.fromkeys(_FORM_FIELDS, ""),
        error=error,
        error_field=error_field,
    )


@router.get("/vetting")
async def vetting_page(who: Teacherly, session: Session) -> Response:
    """Her vetting requests, newest first, and a form to ask for another."""
    return await _vetting_page(who, session)


@router.post("/vetting")
async def vetting_form(
    who: Teacherly,
    session: Session,
    state: State,
    csrf: Annotated[str, Form()],
    choice: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    provider: Annotated[str, Form(max_length=500)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    achievement_id: Annotated[str, Form(max_length=2000)] = "",
    credential: Annotated[str, Form(max_length=1_000_000)] = "",
    statement: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """The form's request: her request's page, or the form again saying what to fix."""
    _check_csrf(who, csrf)
    form = {
        "choice": choice,
        "name": name,
        "provider": provider,
        "url": url,
        "achievement_id": achievement_id,
        "credential": credential,
        "statement": statement,
    }
    agency, _, purpose = choice.partition(" ")
    try:
        body = TeacherVettingIn(
            agency=agency,
            purpose=purpose,
            **{key: value.strip() or None for key, value in form.items() if key != "choice"},
        )
        row = await _teacher_submit(session, state, who.teacher, body)
    except ValidationError as error:
        first = error.errors()[0]
        where = field_path([part for part in first["loc"] if isinstance(part, str | int)])
        shown = _form_field(where)
        return await _vetting_page(
            who, session, 422, form, f"{_label(shown)}: {first['msg']}", shown
        )
    except DomainError as error:
        shown = _form_field(str(error.field[0]) if error.field else None)
        return await _vetting_page(who, session, error.status_code, form, error.detail, shown)
    return RedirectResponse(f"/teacher/vetting/{row.id}", status_code=303)


_LABELS: Final = {
    "choice": "Agency and purpose",
    "name": "Name",
    "provider": "Provider",
    "url": "Web page",
    "achievement_id": "Achievement id",
    "credential": "Credential",
    "statement": "Why",
}


def _form_field(field: str | None) -> str | None:
    """The form's field for an API field at fault."""
    if field in ("agency", "purpose"):
        return "choice"
    return "achievement_id" if field == "achievementId" else field


def _label(field: str | None) -> str:
    return _LABELS.get(field or "", "The form")


def _check_csrf(who: SignedIn, submitted: str) -> None:
    if not secrets.compare_digest(who.row.csrf_token, submitted):
        raise InvalidInput("the form expired; reload the page and try again", field=("csrf",))


@router.get("/vetting/{request_id}")
async def vetting_request_page(request_id: uuid.UUID, who: Teacherly, session: Session) -> Response:
    """One of her requests: where it stands and, once decided, the decision."""
    row = await own_request(session, Requester.teacher(who.teacher.id), request_id)
    [view] = await request_views(session, [row])
    return _page(
        "teacher_vetting_request.html", teacher=who.teacher, csrf=who.row.csrf_token, item=view
    )


@router.post("/vetting/{request_id}/withdraw")
async def vetting_withdraw_form(
    request_id: uuid.UUID,
    who: Teacherly,
    session: Session,
    csrf: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    _check_csrf(who, csrf)
    requester = Requester.teacher(who.teacher.id)
    row = await own_request(session, requester, request_id)
    await withdraw(session, row, requester, reason.strip() or None)
    return RedirectResponse(f"/teacher/vetting/{request_id}", status_code=303)
