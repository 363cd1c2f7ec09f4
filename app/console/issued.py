"""What the issuer issued: newest first, searched (`badges.issuing.issued_search`, the query
the API's list uses), paged; one credential with its history, revoked or suspended (with a
reason) by `change_status`, as the API does, the staff member named as the actor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from app.console.auth import NotAMember, ProviderContext, ProviderStaff, check_csrf
from app.console.provider import provider_page
from app.deps import Session, State
from app.routers.issuing.status import list_cache
from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuing.issued_search import IssuedFilter, IssuedStatus, Position, search_issued
from badges.status.status_changes import (
    Action,
    Standing,
    change_status,
    get_issued_credential,
    status_at,
)
from storage.models import Achievement, StaffAccount

router = APIRouter(tags=["console"], include_in_schema=False)
_BASE: Final = "/console/issuers/{slug}/credentials"
PAGE_SIZE: Final = 25
# How status events name who changed them (`CredentialEvent.actor`).
_STAFF: Final = "staff:"
_CONSOLE_CLIENT: Final = "console_"


def _after(value: str) -> Position | None:
    """`<issued_at ISO>_<id>`, as the previous page's "next" link wrote it."""
    if not value:
        return None
    moment, _, identifier = value.rpartition("_")
    try:
        return Position(datetime.fromisoformat(moment), uuid.UUID(identifier))
    except ValueError:
        raise InvalidInput("that page link is broken; start again", field=("after",)) from None


def _status(value: str) -> IssuedStatus | None:
    try:
        return IssuedStatus(value) if value else None
    except ValueError:
        raise InvalidInput("unknown status", field=("status",)) from None


@router.get(_BASE)
async def issued(
    who: ProviderStaff,
    session: Session,
    state: State,
    q: str = "",
    status: str = "",
    after: str = "",
) -> Response:
    """Issued credentials, newest first; search by e-mail (whole), name or achievement."""
    error = None
    items: list[Any] = []
    next_after = None
    try:
        found = await search_issued(
            session,
            who.issuer,
            IssuedFilter(text=q.strip() or None, status=_status(status)),
            lookup_secret=state.vault.lookup_secret,
            at=datetime.now(UTC),
            after=_after(after),
            limit=PAGE_SIZE,
        )
        items = found.items
        if found.next is not None:
            next_after = f"{found.next.issued_at.isoformat()}_{found.next.id}"
    except DomainError as problem:
        error = problem.detail
    return provider_page(
        who,
        "console/issued.html",
        "/credentials",
        422 if error else 200,
        items=items,
        q=q,
        status=status,
        statuses=[s.value for s in IssuedStatus],
        next_after=next_after,
        first_page=not after,
        error=error,
    )


async def _credential_page(
    who: ProviderContext,
    session: Session,
    state: State,
    credential_id: uuid.UUID,
    *,
    status_code: int = 200,
    error: DomainError | None = None,
    notice: str | None = None,
) -> Response:
    try:
        row = await get_issued_credential(session, who.issuer, credential_id)
    except NotFound:
        raise NotAMember() from None
    answer = await status_at(session, who.issuer, credential_id)
    achievement = await session.get(Achievement, row.achievement_id) if row.achievement_id else None
    subject = json.loads(row.document).get("credentialSubject", {})
    actors = await _actor_names(session, [event.actor for event in answer.events])
    return provider_page(
        who,
        "console/credential.html",
        "/credentials",
        status_code,
        row=row,
        achievement=achievement,
        recipient_name=subject.get("name") if isinstance(subject, dict) else None,
        answer=answer,
        actors=actors,
        revoked=answer.standing is Standing.REVOKED,
        suspended=answer.standing is Standing.SUSPENDED,
        public_url=f"{state.settings.public_url}/credentials/{row.id}",
        error=error.detail if error else None,
        notice=notice,
    )


async def _actor_names(session: Session, actors: list[str | None]) -> dict[str, str]:
    """How the history names who did what: a staff member by their (masked) address, the
    console's own client as "Console", an API client by its id."""
    names: dict[str, str] = {}
    for actor in filter(None, actors):
        if actor.startswith(_STAFF):
            try:
                account = await session.get(StaffAccount, uuid.UUID(actor.removeprefix(_STAFF)))
            except ValueError:
                account = None
            names[actor] = account.email_label if account else actor
        elif actor.startswith(_CONSOLE_CLIENT):
            names[actor] = "Console"
        else:
            names[actor] = f"API client {actor}"
    return names


_NOTICES: Final = {
    "1": "Issued.",
    "notified": "Issued. The recipient was e-mailed a link to claim it.",
    "revoke": "Revoked. Verifiers now see it as revoked.",
    "suspend": "Suspended. Verifiers now see it as suspended.",
    "unsuspend": "Suspension lifted.",
}


@router.get(_BASE + "/{credential_id}")
async def credential(
    who: ProviderStaff,
    session: Session,
    state: State,
    credential_id: uuid.UUID,
    issued: str = "",
    changed: str = "",
) -> Response:
    """One credential: whom and what it was for, its status and history, and the actions."""
    notice = _NOTICES.get(issued) or _NOTICES.get(changed)
    return await _credential_page(who, session, state, credential_id, notice=notice)


@router.post(_BASE + "/{credential_id}/{action}")
async def change(
    who: ProviderStaff,
    session: Session,
    state: State,
    request: Request,
    credential_id: uuid.UUID,
    action: Action,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Revoke, suspend or lift a suspension, with the reason kept in the audit log."""
    check_csrf(who, csrf)
    slug = who.issuer.slug
    try:
        await change_status(
            session,
            state.settings.public_url,
            state.vault,
            who.issuer,
            credential_id,
            action,
            actor=f"{_STAFF}{who.member.account_id}",
            reason=reason,
        )
    except NotFound:
        raise NotAMember() from None
    except DomainError as error:  # refused before anything was written
        return await _credential_page(
            who, session, state, credential_id, status_code=error.status_code, error=error
        )
    # Committed before the served lists are dropped, as the API does: a fetch in between
    # must not keep the old list.
    await session.commit()
    list_cache(request).forget_issuer(slug)
    return RedirectResponse(
        f"/console/issuers/{slug}/credentials/{credential_id}?changed={action.value}",
        status_code=303,
    )
