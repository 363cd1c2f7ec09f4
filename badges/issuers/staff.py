"""Console staff: accounts for people (API clients stay for machines), their memberships,
sessions, and who may do what.

An account is an e-mail address, kept as teachers' are: a keyed lookup hash and a masked
label, never the address itself. The caller computes both (`Address`) with the same key
the sign-in codes use (`badges.wallets.teachers.email_key`), so a code proven for an
address finds its account. Each membership makes the account staff of one issuer or one
agency, as `admin` or `staff`. Disabling is a dated event: the account and what it did stay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from badges.issuers.browser_sessions import (
    NewSession,
    close_browser_session,
    live_browser_session,
    open_browser_session,
)
from storage.models import Agency, Issuer, StaffAccount, StaffMembership, StaffSession

ADMIN: Final = "admin"
STAFF: Final = "staff"
ROLES: Final = (ADMIN, STAFF)


@dataclass(frozen=True)
class Address:
    """An e-mail address as stored: its lookup key and what may be shown of it."""

    key: str
    label: str


# --- who may do what ---------------------------------------------------------------------


def may_issue(role: str) -> bool:
    """Issue, revoke and suspend credentials, edit achievements: every member."""
    return role in ROLES


def may_manage_integrations(role: str) -> bool:
    """API clients and webhooks hold the keys to the issuer's name: admins only."""
    return role == ADMIN


# --- accounts and memberships ------------------------------------------------------------


async def add_staff(
    session: AsyncSession,
    address: Address,
    *,
    issuer: Issuer | None = None,
    agency: Agency | None = None,
    role: str = STAFF,
) -> StaffAccount:
    """Make `address` staff of the issuer or the agency (exactly one), creating the account
    on first use; adding an existing member again sets the role."""
    if (issuer is None) == (agency is None):
        raise InvalidInput("name either an issuer or an agency", field=("issuer",))
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field=("role",))
    account = await account_by_key(session, address.key)
    if account is None:
        account = StaffAccount(email_key=address.key, email_label=address.label, memberships=[])
        session.add(account)
    elif account.disabled_at is not None:
        raise Conflict(
            f"the account {account.email_label} was disabled on "
            f"{account.disabled_at.date().isoformat()}"
        )
    existing = next(
        (
            m
            for m in account.memberships
            if (issuer is not None and m.issuer_id == issuer.id)
            or (agency is not None and m.agency_id == agency.id)
        ),
        None,
    )
    if existing is not None:
        existing.role = role
    else:
        account.memberships.append(
            StaffMembership(
                issuer_id=issuer.id if issuer else None,
                agency_id=agency.id if agency else None,
                role=role,
            )
        )
    await session.flush()
    return account


async def account_by_key(session: AsyncSession, key: str) -> StaffAccount | None:
    found: StaffAccount | None = await session.scalar(
        select(StaffAccount).where(StaffAccount.email_key == key)
    )
    return found


async def active_account(session: AsyncSession, key: str) -> StaffAccount | None:
    """The account that may sign in with the address `key`: None if none, or disabled."""
    account = await account_by_key(session, key)
    return account if account is not None and account.disabled_at is None else None


async def list_staff(session: AsyncSession) -> list[StaffAccount]:
    """Every account, disabled ones included, oldest first."""
    return list(await session.scalars(select(StaffAccount).order_by(StaffAccount.created_at)))


async def disable_staff(session: AsyncSession, key: str) -> StaffAccount:
    """Disable the account for good and end its sessions; disabling again changes nothing."""
    account = await account_by_key(session, key)
    if account is None:
        raise NotFound("no staff account has that e-mail address")
    if account.disabled_at is None:
        now = datetime.now(UTC)
        account.disabled_at = now
        await session.execute(
            update(StaffSession)
            .where(StaffSession.account_id == account.id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    await session.flush()
    return account


@dataclass(frozen=True)
class Place:
    """Somewhere the account works: an issuer (by slug) or an agency (by id), and its role."""

    kind: str  # "issuer" or "agency"
    id: uuid.UUID
    name: str
    slug: str
    role: str


async def places_of(session: AsyncSession, account: StaffAccount) -> list[Place]:
    """The account's issuers and agencies, named, issuers first, each by name."""
    issuer_roles = {m.issuer_id: m.role for m in account.memberships if m.issuer_id}
    agency_roles = {m.agency_id: m.role for m in account.memberships if m.agency_id}
    places = []
    if issuer_roles:
        issuers = await session.scalars(select(Issuer).where(Issuer.id.in_(list(issuer_roles))))
        places += sorted(
            (Place("issuer", i.id, i.name, i.slug, issuer_roles[i.id]) for i in issuers),
            key=lambda place: place.name.lower(),
        )
    if agency_roles:
        rows = await session.execute(
            select(Agency.id, Issuer.name, Issuer.slug)
            .join(Issuer, Issuer.id == Agency.issuer_id)
            .where(Agency.id.in_(list(agency_roles)))
        )
        places += sorted(
            (Place("agency", a, name, slug, agency_roles[a]) for a, name, slug in rows),
            key=lambda place: place.name.lower(),
        )
    return places


# --- sessions ----------------------------------------------------------------------------


async def open_staff_session(
    session: AsyncSession, account: StaffAccount, lifetime: timedelta
) -> NewSession:
    return await open_browser_session(session, StaffSession(account_id=account.id), lifetime)


async def current_staff_session(
    session: AsyncSession, token: str | None
) -> tuple[StaffAccount, StaffSession] | None:
    """The live session `token` opens, with its account; None if expired, signed out or
    the account was disabled since."""
    row = await live_browser_session(session, StaffSession, token)
    account = await session.get(StaffAccount, row.account_id) if row else None
    if row is None or account is None or account.disabled_at is not None:
        return None
    return account, row


async def close_staff_session(session: AsyncSession, row: StaffSession) -> None:
    await close_browser_session(session, row)
