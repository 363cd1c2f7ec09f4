"""Who is at the console: the signed-in staff member, the issuer or agency a page belongs
to, CSRF, and how console pages are rendered.

Routes declare what they need as a type: `who: ProviderStaff` for a page under
`/console/issuers/{slug}/...`, `who: AgencyStaff` under `/console/agencies/{agency_id}/...`
(and `ProviderAdmin` / `AgencyAdmin` where only admins may go). Not signed in: a redirect
to the sign-in form, back here afterwards. Signed in but not a member: the same 404 page
as for an issuer that does not exist, so the console does not tell which exist.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.deps import Session
from app.pages import render
from app.state import ServiceState
from badges.issuers.staff import (
    ADMIN,
    Address,
    Place,
    current_staff_session,
    may_manage_integrations,
    places_of,
)
from badges.wallets.teachers import email_key, masked
from storage.models import Agency, Issuer, StaffAccount, StaffSession

SESSION_COOKIE: Final = "lattice_console"
CSRF_COOKIE: Final = "lattice_console_csrf"
COOKIE_PATH: Final = "/console"
# Shorter than a teacher's: a console session can issue and revoke in an issuer's name.
SESSION_LIFETIME: Final = timedelta(hours=12)

# Console pages load nothing from elsewhere, run no script, are never cached and are never
# framed; forms post only here.
CONSOLE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class StaffMember:
    """A signed-in person and where they work (`admin_of`: issuer and agency ids)."""

    account_id: uuid.UUID
    email: str  # the masked label (`j•••@example.org`): the address itself is not stored
    issuer_ids: frozenset[uuid.UUID]
    agency_ids: frozenset[uuid.UUID]
    admin_of: frozenset[uuid.UUID]


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in member with what every console page needs: the CSRF token of the
    session and the places for the navigation."""

    member: StaffMember
    csrf: str
    places: tuple[Place, ...]
    session_id: uuid.UUID


@dataclass(frozen=True)
class ProviderContext(ConsoleUser):
    """A member at one issuer's console: `.issuer` is the storage row, `.role` their role."""

    issuer: Issuer
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


@dataclass(frozen=True)
class AgencyContext(ConsoleUser):
    """A member at one agency's console: `.agency` and its issuer profile `.issuer`."""

    agency: Agency
    issuer: Issuer
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


# --- failures, rendered as pages by `install_handlers` -----------------------------------


class ConsoleSignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class NotAMember(Exception):
    """Nothing here for this member: answered as a 404 page."""


class AdminsOnly(Exception):
    """A member, but this needs an admin: answered as a 403 page."""


class CsrfRejected(Exception):
    """A form without this session's token: answered as a 403 page."""


def address_of(state: ServiceState, email: str) -> Address:
    """`email` as staff accounts store it (the sign-in codes' lookup key, and a label)."""
    return Address(email_key(state.vault, email), masked(email))


def secure_cookies(state: ServiceState) -> bool:
    return state.settings.public_url.startswith("https://")


def safe_next(next_path: str | None) -> str:
    # Console paths only: an open redirect would let a phishing link borrow our name.
    if next_path and next_path.startswith("/console") and not next_path.startswith("//"):
        return next_path
    return "/console"


def _member(account: StaffAccount) -> StaffMember:
    memberships = account.memberships
    return StaffMember(
        account_id=account.id,
        email=account.email_label,
        issuer_ids=frozenset(m.issuer_id for m in memberships if m.issuer_id),
        agency_ids=frozenset(m.agency_id for m in memberships if m.agency_id),
        admin_of=frozenset(
            place
            for m in memberships
            if m.role == ADMIN
            for place in (m.issuer_id, m.agency_id)
            if place
        ),
    )


def _wanted(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def signed_in(request: Request, session: Session) -> ConsoleUser:
    found = await current_staff_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise ConsoleSignInRequired(_wanted(request) if request.method == "GET" else "/console")
    account, row = found
    return await _user(session, account, row)


async def _user(session: Session, account: StaffAccount, row: StaffSession) -> ConsoleUser:
    places = tuple(await places_of(session, account))
    return ConsoleUser(_member(account), row.csrf_token, places, row.id)


async def _provider(request: Request, session: Session, slug: str) -> ProviderContext:
    user = await signed_in(request, session)
    place = next((p for p in user.places if p.kind == "issuer" and p.slug == slug), None)
    issuer = await session.get(Issuer, place.id) if place else None
    if place is None or issuer is None:
        raise NotAMember()
    return ProviderContext(
        user.member, user.csrf, user.places, user.session_id, issuer=issuer, role=place.role
    )


async def _provider_admin(request: Request, session: Session, slug: str) -> ProviderContext:
    who = await _provider(request, session, slug)
    if not may_manage_integrations(who.role):
        raise AdminsOnly()
    return who


async def _agency(request: Request, session: Session, agency_id: str) -> AgencyContext:
    user = await signed_in(request, session)
    try:
        wanted = uuid.UUID(agency_id)
    except ValueError:
        raise NotAMember() from None
    place = next((p for p in user.places if p.kind == "agency" and p.id == wanted), None)
    agency = await session.get(Agency, wanted) if place else None
    issuer = (
        await session.scalar(select(Issuer).where(Issuer.id == agency.issuer_id))
        if agency
        else None
    )
    if place is None or agency is None or issuer is None:
        raise NotAMember()
    return AgencyContext(
        user.member,
        user.csrf,
        user.places,
        user.session_id,
        agency=agency,
        issuer=issuer,
        role=place.role,
    )


async def _agency_admin(request: Request, session: Session, agency_id: str) -> AgencyContext:
    who = await _agency(request, session, agency_id)
    if not who.is_admin:
        raise AdminsOnly()
    return who


Console = Annotated[ConsoleUser, Depends(signed_in)]
ProviderStaff = Annotated[ProviderContext, Depends(_provider)]
ProviderAdmin = Annotated[ProviderContext, Depends(_provider_admin)]
AgencyStaff = Annotated[AgencyContext, Depends(_agency)]
AgencyAdmin = Annotated[AgencyContext, Depends(_agency_admin)]


# --- CSRF --------------------------------------------------------------------------------


def csrf_token(who: ConsoleUser) -> str:
    """The token a form of this session carries (as the hidden field `csrf`); console
    pages rendered by `page` have it as `{{ csrf }}`."""
    return who.csrf


def check_csrf(who: ConsoleUser, submitted: str | None) -> None:
    """Refuse (403 page) a form whose `csrf` field is not this session's token."""
    if not submitted or not secrets.compare_digest(who.csrf, submitted):
        raise CsrfRejected()


# --- rendering ---------------------------------------------------------------------------


def page(who: ConsoleUser, template: str, status_code: int = 200, **context: Any) -> Response:
    """A console page: the template gets `member`, `places`, `csrf`, `current_place` (the
    issuer's or agency's Place, on their pages) and `is_admin`, besides `context`."""
    here = _place_of(who)
    return render(
        template,
        status_code=status_code,
        headers=CONSOLE_HEADERS,
        member=who.member,
        places=who.places,
        csrf=who.csrf,
        current_place=here,
        is_admin=bool(here and here.role == ADMIN),
        **context,
    )


def _place_of(who: ConsoleUser) -> Place | None:
    if isinstance(who, ProviderContext):
        return next((p for p in who.places if p.kind == "issuer" and p.id == who.issuer.id), None)
    if isinstance(who, AgencyContext):
        return next((p for p in who.places if p.kind == "agency" and p.id == who.agency.id), None)
    return None


def anonymous_page(template: str, status_code: int = 200, **context: Any) -> Response:
    return render(template, status_code=status_code, headers=CONSOLE_HEADERS, **context)


async def _to_sign_in(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ConsoleSignInRequired)
    return RedirectResponse(f"/console/sign-in?next={quote(error.next_path)}", status_code=303)


def _problem_page(
    status_code: int, heading: str, message: str
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An exception handler answering with the console's problem page."""

    async def handler(_request: Request, _error: Exception) -> Response:
        return anonymous_page("console/problem.html", status_code, heading=heading, message=message)

    return handler


_not_found = _problem_page(404, "Not found", "There is nothing here, or it is not yours to open.")
_admins_only = _problem_page(
    403, "Admins only", "Ask an admin of this organisation to do this, or to make you an admin."
)
_csrf_rejected = _problem_page(403, "The form expired", "Go back, reload the page and try again.")

HANDLERS: Final = (
    (ConsoleSignInRequired, _to_sign_in),
    (NotAMember, _not_found),
    (AdminsOnly, _admins_only),
    (CsrfRejected, _csrf_rejected),
)
