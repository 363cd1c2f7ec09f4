"""Staff sign-in: an e-mailed one-time code (or link), the teachers' machinery with the
`console` purpose; the console landing page; sign-out.

Every address gets the same answer ("if it has an account, we sent a code"): a code is
made (and counted against the rate limits) whether or not the address has an account,
and mailed only when it has one, so the form tells nobody who is staff.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from app.console.auth import (
    COOKIE_PATH,
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Console,
    address_of,
    anonymous_page,
    check_csrf,
    page,
    safe_next,
    secure_cookies,
)
from app.deps import Session, State
from badges.errors import DomainError
from badges.issuers.setup import staff_exists
from badges.issuers.staff import active_account, close_staff_session, open_staff_session
from badges.wallets.teachers import (
    CONSOLE,
    CodeRejected,
    redeem_code,
    redeem_link,
    start_sign_in,
)
from storage.models import SignInCode, StaffSession

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
_REJECTED = "That code is wrong, expired or already used. Ask for a new one."


def anonymous_csrf_ok(request: Request, submitted: str) -> bool:
    """A form shown before sign-in carries the token of its cookie (`with_csrf_cookie`)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and secrets.compare_digest(cookie, submitted))


def anonymous_csrf(request: Request) -> str:
    """The token for a form shown before sign-in: the cookie's, or a new one."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def with_csrf_cookie(response: Response, state: State, token: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(state),
        path=COOKIE_PATH,
    )
    return response


def _sign_in_form(
    request: Request,
    state: State,
    next_path: str,
    status_code: int = 200,
    error: str = "",
    first_run: bool = False,
) -> Response:
    token = anonymous_csrf(request)
    response = anonymous_page(
        "console/sign_in.html",
        status_code,
        next=next_path,
        csrf=token,
        error=error,
        first_run=first_run,
    )
    return with_csrf_cookie(response, state, token)


@router.get("/sign-in")
async def sign_in_form(
    request: Request, session: Session, state: State, next: str | None = None
) -> Response:
    """Ask for the staff member's work e-mail address (and, before anyone has an account,
    say where the first-run setup link is)."""
    first_run = not await staff_exists(session)
    return _sign_in_form(request, state, safe_next(next), first_run=first_run)


@router.post("/sign-in")
async def send_code(
    request: Request,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """E-mail a one-time code to the address if it has a staff account; the same answer
    either way."""
    next_path = safe_next(next)
    if not anonymous_csrf_ok(request, csrf):
        return _sign_in_form(request, state, next_path, 403, "The form expired; try again.")
    address = email.strip()
    if "@" not in address or len(address) < 3:
        return _sign_in_form(request, state, next_path, 422, "Enter your e-mail address.")
    return await mail_code(request, session, state, address, next_path, csrf)


async def mail_code(
    request: Request,
    session: Session,
    state: State,
    address: str,
    next_path: str,
    csrf: str,
    notice: str = "",
) -> Response:
    """Make a code for `address`, mail it if the address has an account, and ask for it."""
    try:
        issued = await start_sign_in(
            session,
            state.vault,
            address,
            client_address=request.client.host if request.client else None,
            lifetime=timedelta(minutes=state.settings.sign_in_code_minutes),
            per_client_limit=state.settings.sign_in_codes_per_client,
            purpose=CONSOLE,
            next_path=next_path,
        )
    except DomainError as error:
        return _sign_in_form(request, state, next_path, error.status_code, error.detail)
    if await active_account(session, address_of(state, address).key) is not None:
        link = f"{state.settings.public_url}/console/sign-in/link?token={issued.link_token}"
        await state.mailer.send(
            session,
            address,
            "Your Lattice console sign-in code",
            f"Your console sign-in code is {issued.code}.\n\nOr open this link to sign in: "
            f"{link}\n\nIt expires in {state.settings.sign_in_code_minutes} minutes. If you "
            "did not ask for it, ignore this e-mail.",
        )
    return anonymous_page(
        "console/code.html", email=address, csrf=csrf, next=next_path, notice=notice
    )


@router.post("/sign-in/code")
async def check_code(
    request: Request,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    next_path = safe_next(next)
    if not anonymous_csrf_ok(request, csrf):
        return _sign_in_form(request, state, next_path, 403, "The form expired; try again.")
    try:
        proven = await redeem_code(session, state.vault, email, code, purpose=CONSOLE)
    except CodeRejected:
        # Committed all the same (the page is an answer, not an error): the try counts.
        return anonymous_page(
            "console/code.html", 400, email=email, csrf=csrf, next=next_path, error=_REJECTED
        )
    return await _signed_in(session, state, proven, next_path) or anonymous_page(
        "console/code.html", 400, email=email, csrf=csrf, next=next_path, error=_REJECTED
    )


@router.get("/sign-in/link")
async def follow_link(
    request: Request, session: Session, state: State, token: str = ""
) -> Response:
    """The link in the e-mail: signs the member in."""
    try:
        proven = await redeem_link(session, token, purpose=CONSOLE)
    except CodeRejected:
        return _sign_in_form(request, state, "/console", 400, _REJECTED)
    signed_in = await _signed_in(session, state, proven, proven.next_path)
    return signed_in or _sign_in_form(request, state, "/console", 400, _REJECTED)


async def _signed_in(
    session: Session, state: State, proven: SignInCode, next_path: str | None
) -> Response | None:
    """A session for the account of the proven address; None if it has none (or it was
    disabled), answered like a wrong code."""
    account = await active_account(session, proven.email_key)
    if account is None:
        return None
    opened = await open_staff_session(session, account, SESSION_LIFETIME)
    response = RedirectResponse(safe_next(proven.next_path or next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(state),
        path=COOKIE_PATH,
    )
    return response


@router.post("/sign-out")
async def sign_out(who: Console, session: Session, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(who, csrf)
    row = await session.get(StaffSession, who.session_id)
    if row is not None:
        await close_staff_session(session, row)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("")
async def landing(who: Console) -> Response:
    """The issuers and agencies the member can open."""
    return page(who, "console/home.html")
