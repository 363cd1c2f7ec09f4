"""The teacher's side: sign in with an e-mailed code or link, see and take her badges.

Server-rendered forms that work without JavaScript. Sessions are HttpOnly, SameSite=Lax
cookies; every form carries a CSRF token (bound to the session once signed in, a
double-submit cookie before), and sign-in codes are rate-limited per address and client.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from app.deps import Session, State
from app.foreign_status import status_source
from app.pages import image_src, render
from app.routers.issuing.badge_images import (
    IMAGE_HEADERS,
    IMAGE_TYPES,
)
from app.state import ServiceState
from app.teacher_badges import HeldBadge, her_badge, her_badges, lapse_moments, lapses
from badges.errors import DomainError, InvalidInput
from badges.status.status_changes import (
    Standing,
    Validity,
)
from badges.wallets.exports import (
    BadgeFacts,
    ImageFetch,
    badge_facts,
    badge_picture,
    baked_badge,
    linkedin_url,
)
from badges.wallets.teacher_progress import (
    AgencyProgress,
    teacher_progress,
)
from badges.wallets.teachers import (
    CodeRejected,
    claim_educator_id,
    close_session,
    confirm_educator_ids,
    current_session,
    open_session,
    redeem_code,
    redeem_link,
    start_sign_in,
    teacher_credential,
    teacher_for_code,
)
from storage.models import Credential, Teacher, TeacherSession
from verification.fetch import FetchError

router = APIRouter(prefix="/teacher", tags=["teacher"], include_in_schema=False)
SESSION_COOKIE = "lattice_session"
CSRF_COOKIE = "lattice_csrf"


class SignedIn:
    def __init__(self, teacher: Teacher, row: TeacherSession) -> None:
        self.teacher = teacher
        self.row = row


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def signed_in(request: Request, session: Session) -> SignedIn:
    found = await current_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise SignInRequired(request.url.path)
    return SignedIn(*found)


Teacherly = Annotated[SignedIn, Depends(signed_in)]


def sign_in_redirect(_request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return RedirectResponse(f"/teacher/sign-in?next={quote(error.next_path)}", status_code=303)


def _secure(state: State) -> bool:
    return state.settings.public_url.startswith("https://")


def _check_anonymous_csrf(request: Request, submitted: str) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(cookie, submitted):
        raise InvalidInput("the form expired; reload the page and try again", field=("csrf",))


def _check_csrf(who: SignedIn, submitted: str) -> None:
    if not secrets.compare_digest(who.row.csrf_token, submitted):
        raise InvalidInput("the form expired; reload the page and try again", field=("csrf",))


def _safe_next(next_path: str | None) -> str:
    # Only paths of this site: an open redirect would let a phishing link borrow our name.
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return "/teacher"


# Her pages load nothing from anywhere but this service (images included), run no script,
# are never cached by anyone, and send no Referer when she follows a link out (LinkedIn).
TEACHER_PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _page(template: str, status_code: int = 200, **context: Any) -> Response:
    return render(template, status_code=status_code, headers=TEACHER_PAGE_HEADERS, **context)


@router.get("/sign-in")
async def sign_in_form(request: Request, state: State, next: str | None = None) -> Response:
    """Ask for her e-mail address."""
    return _sign_in_page(request, state, _safe_next(next))


def _sign_in_page(
    request: Request,
    state: State,
    next_path: str,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = _page("teacher_sign_in.html", status_code, next=next_path, csrf=token, error=error)
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(state), path="/teacher"
    )
    return response


@router.post("/sign-in")
async def send_code(
    request: Request,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """E-mail a one-time code and link to the address, then ask for the code."""
    _check_anonymous_csrf(request, csrf)
    address = email.strip()
    if "@" not in address or len(address) < 3:
        return _page(
            "teacher_sign_in.html",
            422,
            next=_safe_next(next),
            csrf=csrf,
            error="Enter your e-mail address.",
        )
    try:
        issued = await start_sign_in(
            session,
            state.vault,
            address,
            client_address=_client(request),
            lifetime=timedelta(minutes=state.settings.sign_in_code_minutes),
            per_client_limit=state.settings.sign_in_codes_per_client,
            next_path=_safe_next(next),
        )
    except DomainError as error:
        return _page(
            "teacher_sign_in.html",
            error.status_code,
            next=_safe_next(next),
            csrf=csrf,
            error=error.detail,
        )
    link = f"{state.settings.public_url}/teacher/sign-in/link?token={issued.link_token}"
    await state.mailer.send(
        session,
        address,
        "Your Lattice sign-in code",
        f"Your sign-in code is {issued.code}.\n\nOr open this link to sign "
        f"in: {link}\n\nIt expires in {state.settings.sign_in_code_minutes}"
        " minutes. If you did not ask for it, ignore this e-mail.",
    )
    return _page("teacher_code.html", email=address, csrf=csrf, next=_safe_next(next))


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/sign-in/code")
async def check_code(
    request: Request,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)],
    code: Annotated[str, Form(max_length=12)],
    csrf: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    _check_anonymous_csrf(request, csrf)
    try:
        proven = await redeem_code(session, state.vault, email, code)
    except CodeRejected as error:
        return _page(
            "teacher_code.html",
            400,
            email=email,
            csrf=csrf,
            next=_safe_next(next),
            error=error.detail,
        )
    return await _signed_in_response(
        session, state, proven.next_path or next, await teacher_for_code(session, proven)
    )


@router.get("/sign-in/link")
async def follow_link(token: str, request: Request, session: Session, state: State) -> Response:
    """The link in the e-mail (and the claim link a provider can send): signs her in."""
    try:
        proven = await redeem_link(session, token)
    except CodeRejected as error:
        return _sign_in_page(request, state, "/teacher", 400, error.detail)
    return await _signed_in_response(
        session, state, proven.next_path, await teacher_for_code(session, proven)
    )


async def _signed_in_response(
    session: Session, state: State, next_path: str | None, teacher: Teacher
) -> Response:
    await confirm_educator_ids(session, teacher)
    lifetime = timedelta(days=state.settings.session_days)
    opened = await open_session(session, teacher, lifetime)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(state),
        path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out(who: Teacherly, session: Session, csrf: Annotated[str, Form()]) -> Response:
    _check_csrf(who, csrf)
    await close_session(session, who.row)
    response = RedirectResponse("/teacher/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("")
async def badges(who: Teacherly, session: Session, state: State) -> Response:
    """Her badges, from every provider on the service: each award once, with its status."""
    held = await her_badges(session, who.teacher, datetime.now(UTC))
    return _page(
        "teacher_badges.html",
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        badges=[_summary(item) for item in held],
    )


_STANDING_WORDS: Final = {Standing.REVOKED: "Revoked", Standing.SUSPENDED: "Suspended"}
_VALIDITY_WORDS: Final = {
    Validity.EXPIRED: "Expired",
    Validity.NOT_YET_VALID: "Not valid yet",
    Validity.NOT_ISSUED: "Not valid yet",
}


def _status(held: HeldBadge) -> dict[str, Any]:
    """What her pages say of the badge's standing: revoked or suspended first (whatever
    its dates), then expired or not yet valid, else valid."""
    row = held.row
    if held.standing in _STANDING_WORDS:
        changed = held.changed
        return {
            "key": held.standing.value,
            "words": _STANDING_WORDS[held.standing],
            "since": changed.occurred_at.date().isoformat() if changed else None,
            "reason": changed.reason if changed else None,
        }
    if held.validity in _VALIDITY_WORDS:
        moment = row.valid_until if held.validity is Validity.EXPIRED else row.valid_from
        return {
            "key": "expired" if held.validity is Validity.EXPIRED else "not_yet_valid",
            "words": _VALIDITY_WORDS[held.validity],
            "since": moment.date().isoformat() if moment else None,
            "reason": None,
        }
    return {"key": "valid", "words": "Valid", "since": None, "reason": None}


def _summary(held: HeldBadge) -> dict[str, Any]:
    row = held.row
    facts = badge_facts(row)
    status = _status(held)
    return {
        "id": str(row.id),
        "name": facts.name,
        "description": facts.description,
        "issuer": facts.issuer_name,
        "issued": facts.issued.date().isoformat(),
        "expires": facts.expires.date().isoformat() if facts.expires else None,
        "image": _picture_src(row, facts),
        "status": status,
        # Sharing a revoked or suspended badge would only show that it is not valid.
        "shareable": held.shareable,
        # A wallet gets a copy only of a badge in good standing and within its dates.
        "to_wallet": held.shareable and status["key"] == "valid",
    }


def _picture_src(row: Credential, facts: BadgeFacts) -> str:
    """Where her pages load the badge's picture from: never another host."""
    if facts.image and facts.image.lower().startswith("data:") and image_src(facts.image):
        return facts.image
    if facts.image is None and row.achievement_id is not None:
        return f"/achievements/{row.achievement_id}/image.svg"
    return f"/teacher/badges/{row.id}/image"  # her own copy of an image from elsewhere


@router.get("/badges/{credential_id}")
async def badge(
    credential_id: uuid.UUID, who: Teacherly, session: Session, state: State
) -> Response:
    """One badge, with its status, its downloads and (in good standing) ways to share it."""
    held = await her_badge(session, who.teacher, credential_id, datetime.now(UTC))
    if isinstance(held, uuid.UUID):  # a wallet copy: the award is shown as its original
        return RedirectResponse(f"/teacher/badges/{held}", status_code=303)
    row = held.row
    url = f"{state.settings.public_url}/credentials/{row.id}"
    return _page(
        "teacher_badge.html",
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        badge=_summary(held),
        url=url,
        linkedin=linkedin_url(badge_facts(row), url),
        has_jwt=row.jwt is not None,
    )


DownloadKind = Literal["json", "jwt", "png", "svg"]


@router.get("/badges/{credential_id}/download.{kind}")
async def download(
    credential_id: uuid.UUID, kind: DownloadKind, who: Teacherly, session: Session, state: State
) -> Response:
    """Her badge as a file: JSON (embedded proof), VC-JWT, or a baked PNG or SVG image."""
    row = await teacher_credential(session, who.teacher, credential_id)
    headers = {
        "Content-Disposition": f'attachment; filename="badge-{row.id}.{kind}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if kind == "json":
        return Response(row.document, media_type="application/vc+ld+json", headers=headers)
    if kind == "jwt":
        if row.jwt is None:
            raise InvalidInput("this badge has no VC-JWT form", field=("kind",))
        return Response(row.jwt, media_type="application/jwt", headers=headers)
    baked = await baked_badge(row, kind, image_fetch(state))
    return Response(baked, media_type=IMAGE_TYPES[kind], headers={**IMAGE_HEADERS, **headers})


@router.get("/badges/{credential_id}/image")
async def picture(
    credential_id: uuid.UUID, who: Teacherly, session: Session, state: State
) -> Response:
    """The badge's picture, fetched here (safely) so her pages load nothing from elsewhere."""
    row = await teacher_credential(session, who.teacher, credential_id)
    kind, body = await badge_picture(badge_facts(row), image_fetch(state))
    return Response(
        body,
        media_type=IMAGE_TYPES[kind],
        headers={**IMAGE_HEADERS, "Cache-Control": "private, max-age=3600"},
    )


def image_fetch(state: ServiceState) -> ImageFetch:
    """Badge images from elsewhere, only through the service's guarded fetcher."""

    async def fetch(url: str) -> bytes | None:
        try:
            fetched = await state.fetcher.fetch(url, accept="image/png, image/svg+xml;q=0.9")
        except FetchError:
            return None
        return fetched.body

    return fetch


@router.get("/progress")
async def progress(who: Teacherly, session: Session, state: State) -> Response:
    """Her stacks and career lattices: what is complete (and until when), and what is
    still missing."""
    now = datetime.now(UTC)
    status = status_source(state, now)

    async def progress_at(moment: datetime) -> list[AgencyProgress]:
        return await teacher_progress(
            session, state.settings.public_url, who.teacher, moment, status
        )

    agencies = await progress_at(now)
    moments = await lapse_moments(session, who.teacher, now)
    lapsing = await lapses(agencies, moments, progress_at)
    return _page(
        "teacher_progress.html",
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        agencies=agencies,
        lapses={key: moment.date().isoformat() for key, moment in lapsing.items()},
    )


@router.get("/account")
async def account(who: Teacherly, state: State) -> Response:
    return _page("teacher_account.html", teacher=who.teacher, csrf=who.row.csrf_token)


@router.post("/account/emails")
async def add_email(
    request: Request,
    who: Teacherly,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()],
) -> Response:
    """Send a code to another address of hers; it joins her account once proven."""
    _check_csrf(who, csrf)
    issued = await start_sign_in(
        session,
        state.vault,
        email,
        client_address=_client(request),
        lifetime=timedelta(minutes=state.settings.sign_in_code_minutes),
        per_client_limit=state.settings.sign_in_codes_per_client,
        purpose="add_email",
        teacher=who.teacher,
        next_path="/teacher/account",
    )
    link = f"{state.settings.public_url}/teacher/sign-in/link?token={issued.link_token}"
    await state.mailer.send(
        session,
        email.strip(),
        "Confirm your e-mail address for Lattice",
        f"Your code is {issued.code}, or open {link}",
    )
    return _page(
        "teacher_account.html",
        teacher=who.teacher,
        csrf=who.row.csrf_token,
        pending_email=email.strip(),
    )


@router.post("/account/emails/verify")
async def verify_email(
    who: Teacherly,
    session: Session,
    state: State,
    email: Annotated[str, Form(max_length=320)],
    code: Annotated[str, Form(max_length=12)],
    csrf: Annotated[str, Form()],
) -> Response:
    _check_csrf(who, csrf)
    try:
        proven = await redeem_code(session, state.vault, email, code)
    except CodeRejected as error:
        return _page(
            "teacher_account.html",
            400,
            teacher=who.teacher,
            csrf=who.row.csrf_token,
            pending_email=email,
            error=error.detail,
        )
    if proven.teacher_id != who.teacher.id:
        raise InvalidInput("that code was not sent for this account", field=("code",))
    await teacher_for_code(session, proven)
    await confirm_educator_ids(session, who.teacher)
    return RedirectResponse("/teacher/account", status_code=303)


@router.post("/account/educator-id")
async def add_educator_id(
    who: Teacherly,
    session: Session,
    state: State,
    educator_id: Annotated[str, Form(max_length=64)],
    us_state: Annotated[str, Form(max_length=2)],
    csrf: Annotated[str, Form()],
) -> Response:
    _check_csrf(who, csrf)
    await claim_educator_id(session, state.vault, who.teacher, us_state, educator_id)
    return RedirectResponse("/teacher/account", status_code=303)
