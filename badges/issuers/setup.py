"""First-run setup: the first organisation and its admin, made in the browser.

Until someone has a staff account nobody can sign in to the console, so each start of the
service while there is none makes a one-time setup link (`open_setup`) and prints it on
the operator's log. Whoever opens it names the organisation (the first issuer, made by the
same `create_issuer` as `lattice issuer create`, so it gets its keys and did:web) and the
admin's address. One conditional UPDATE spends the link, and only while still no staff
account exists: of two browsers racing with the same link, one wins, and once anyone has an
account (made here or by `lattice staff add`) every link is dead.

On PostgreSQL (READ COMMITTED) the UPDATE alone holds only for one link: the second spender
waits on the token row, then re-checks `used_at` on the row the first one left. Two links
live at once (two starts at the same moment each leave one) are different rows, and the
"no staff" check reads a snapshot taken before the other setup committed its admin; so
spending takes a lock on the staff table first that stops any other writer of staff rows
until this transaction ends, and the UPDATE, a later statement, sees what they committed.

Only a hash of the link's token is stored; a new start replaces a link not yet used.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import delete, exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import NotFound
from badges.issuers.issuers import RESERVED_SLUGS, IssuerDetails, KeyVault, create_issuer
from badges.issuers.staff import ADMIN, Address, add_staff
from storage.models import Issuer, SetupToken, StaffAccount
from storage.session import begin_write

# A slug is at most 64 characters: room for a "-99" suffix when the name's is taken.
_SLUG_STEM: Final = 60
_NO_STAFF: Final = ~exists(select(StaffAccount.id))
_SPENT: Final = "this setup link was used already, or is not the newest one"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def staff_exists(session: AsyncSession) -> bool:
    """Whether anyone has a staff account (disabled ones count: setup is over either way)."""
    return bool(await session.scalar(select(exists(select(StaffAccount.id)))))


async def open_setup(session: AsyncSession) -> str | None:
    """At start-up: a new one-time setup token while no staff account exists, else None.

    Links from earlier starts not used yet stop working: only the newest printed one does."""
    await begin_write(session)
    await session.execute(delete(SetupToken).where(SetupToken.used_at.is_(None)))
    if await staff_exists(session):
        return None
    token = secrets.token_urlsafe(32)
    session.add(SetupToken(token_hash=_digest(token)))
    await session.flush()
    return token


async def setup_open(session: AsyncSession, token: str) -> bool:
    """Whether `token` would set up the service now: unspent, and still no staff account."""
    if not token:
        return False
    found = await session.scalar(
        select(SetupToken.id).where(
            SetupToken.token_hash == _digest(token), SetupToken.used_at.is_(None), _NO_STAFF
        )
    )
    return found is not None


def slug_for(name: str) -> str:
    """The URL name made from an organisation's name: "Springfield PD" -> "springfield-pd"."""
    letters = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", letters.lower()).strip("-")
    return slug[:_SLUG_STEM].strip("-") or "provider"


async def _free_slug(session: AsyncSession, name: str) -> str:
    """`slug_for(name)`, or with the first free "-2", "-3"... if an issuer has it already."""
    stem = slug_for(name)
    taken = set(
        await session.scalars(
            select(Issuer.slug).where((Issuer.slug == stem) | Issuer.slug.like(f"{stem}-%"))
        )
    ) | set(RESERVED_SLUGS)
    number = 1
    slug = stem
    while slug in taken:
        number += 1
        slug = f"{stem}-{number}"
    return slug


async def _lock_staff(session: AsyncSession) -> None:
    """On PostgreSQL, keep every other transaction from writing staff rows (another setup's
    admin, `lattice staff add`) until this one ends, having waited for those under way.
    SHARE ROW EXCLUSIVE conflicts with itself and with INSERT, UPDATE and DELETE, not with
    reads. SQLite needs none: its writers take turns for the whole transaction."""
    if session.get_bind().dialect.name == "postgresql":
        table = StaffAccount.__tablename__
        await session.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))


async def complete_setup(
    session: AsyncSession, vault: KeyVault, token: str, organisation: str, admin: Address
) -> Issuer:
    """Spend the setup token, then create the organisation's issuer and make `admin` its
    admin, in the caller's transaction (so a failure after spending leaves it unspent).

    Raises NotFound when the token is unknown or spent, or anyone has a staff account."""
    await begin_write(session)
    # Checked before the lock too, so a guessed link never makes staff writes wait.
    if not await setup_open(session, token):
        raise NotFound(_SPENT)
    await _lock_staff(session)
    spent = await session.execute(
        update(SetupToken)
        .where(SetupToken.token_hash == _digest(token), SetupToken.used_at.is_(None), _NO_STAFF)
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        raise NotFound(_SPENT)
    slug = await _free_slug(session, organisation)
    issuer = await create_issuer(session, vault, IssuerDetails(slug=slug, name=organisation))
    await add_staff(session, admin, issuer=issuer, role=ADMIN)
    return issuer
