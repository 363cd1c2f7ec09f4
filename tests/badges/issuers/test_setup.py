"""First-run setup: a link at each start while nobody has a staff account; spending it makes
the organisation (an issuer with its keys) and its admin, once; after that there is none.

Each test runs on an empty database of its own (`fresh_sessions`), of the suite's backend
(SQLite or PostgreSQL): the shared one has the staff accounts of other tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from badges.errors import NotFound
from badges.issuers.issuers import IssuerDetails, KeyVault, create_issuer, issuer_did
from badges.issuers.setup import complete_setup, open_setup, setup_open, slug_for, staff_exists
from badges.issuers.staff import Address, add_staff
from storage.models import Issuer, SetupToken, StaffAccount
from storage.session import transaction
from tests.app.console.fresh import fresh_sessions, fresh_settings  # noqa: F401  # fixtures

# ruff: noqa: F811


def _address(name: str = "chief") -> Address:
    return Address(key=uuid.uuid4().hex, label=f"{name[0]}•••@example.org")


async def _opened(sessions: Any) -> str:
    async with transaction(sessions) as session:
        token = await open_setup(session)
    assert token is not None
    return token


async def _set_up(sessions: Any, vault: KeyVault, token: str, name: str, admin: Address) -> Issuer:
    async with transaction(sessions) as session:
        return await complete_setup(session, vault, token, name, admin)


async def test_setup_makes_the_organisation_with_its_keys_and_its_admin(
    fresh_sessions: Any, vault: KeyVault
):
    token = await _opened(fresh_sessions)
    admin = _address()

    issuer = await _set_up(fresh_sessions, vault, token, "Springfield PD", admin)

    async with fresh_sessions() as session:
        account = await session.scalar(
            select(StaffAccount).where(StaffAccount.email_key == admin.key)
        )
        assert await staff_exists(session)
        assert not await setup_open(session, token)
    assert issuer.slug == "springfield-pd" and issuer.name == "Springfield PD"
    assert {key.algorithm for key in issuer.keys} == {"Ed25519", "RSA"}
    assert issuer_did("http://localhost:8000", issuer) == (
        "did:web:localhost%3A8000:issuers:springfield-pd"
    )
    assert account is not None
    assert [(m.issuer_id, m.role) for m in account.memberships] == [(issuer.id, "admin")]


async def test_a_link_works_once(fresh_sessions: Any, vault: KeyVault):
    token = await _opened(fresh_sessions)
    await _set_up(fresh_sessions, vault, token, "Springfield PD", _address())

    with pytest.raises(NotFound):
        await _set_up(fresh_sessions, vault, token, "Shelbyville PD", _address("mayor"))


async def test_of_two_racing_with_one_link_exactly_one_sets_up(
    fresh_sessions: Any, vault: KeyVault
):
    token = await _opened(fresh_sessions)

    outcomes = await asyncio.gather(
        _set_up(fresh_sessions, vault, token, "Springfield PD", _address("a")),
        _set_up(fresh_sessions, vault, token, "Shelbyville PD", _address("b")),
        return_exceptions=True,
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Issuer", "NotFound"]
    async with fresh_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffAccount)) == 1
        assert await session.scalar(select(func.count()).select_from(Issuer)) == 1


async def test_of_two_racing_with_the_links_of_two_starts_at_once_exactly_one_sets_up(
    fresh_sessions: Any, vault: KeyVault
):
    # Two starts at the same moment can each leave a link (neither saw the other's to
    # replace it). The two spends then update different rows, so the token row cannot be
    # what makes the second one wait: that it sees the first's staff account must.
    first = await _opened(fresh_sessions)
    second = secrets.token_urlsafe(32)
    async with transaction(fresh_sessions) as session:
        session.add(SetupToken(token_hash=hashlib.sha256(second.encode()).hexdigest()))

    outcomes = await asyncio.gather(
        _set_up(fresh_sessions, vault, first, "Springfield PD", _address("a")),
        _set_up(fresh_sessions, vault, second, "Shelbyville PD", _address("b")),
        return_exceptions=True,
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Issuer", "NotFound"]
    async with fresh_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffAccount)) == 1
        assert await session.scalar(select(func.count()).select_from(Issuer)) == 1


async def test_a_new_start_replaces_the_link_of_the_last(fresh_sessions: Any, vault: KeyVault):
    first = await _opened(fresh_sessions)
    second = await _opened(fresh_sessions)

    async with fresh_sessions() as session:
        assert not await setup_open(session, first)
        assert await setup_open(session, second)
        assert not await setup_open(session, "")
        assert not await setup_open(session, "made-up")


async def test_once_anyone_has_an_account_no_link_is_made_and_none_works(
    fresh_sessions: Any, vault: KeyVault
):
    token = await _opened(fresh_sessions)
    async with transaction(fresh_sessions) as session:
        # The CLI's way: `lattice issuer create` then `lattice staff add`.
        issuer = await create_issuer(session, vault, IssuerDetails("nea", "NEA"))
        await add_staff(session, _address(), issuer=issuer, role="admin")

    async with transaction(fresh_sessions) as session:
        assert await open_setup(session) is None
    with pytest.raises(NotFound):
        await _set_up(fresh_sessions, vault, token, "Springfield PD", _address())
    async with fresh_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SetupToken)) == 0


async def test_a_taken_slug_gets_the_next_free_number(fresh_sessions: Any, vault: KeyVault):
    async with transaction(fresh_sessions) as session:
        await create_issuer(session, vault, IssuerDetails("springfield-pd", "Springfield PD"))
        await create_issuer(session, vault, IssuerDetails("springfield-pd-2", "Springfield PD"))
    token = await _opened(fresh_sessions)

    issuer = await _set_up(fresh_sessions, vault, token, "Springfield PD", _address())

    assert issuer.slug == "springfield-pd-3"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Springfield PD", "springfield-pd"),
        ("  Café Académie, Inc. ", "cafe-academie-inc"),
        ("Lattice", "lattice"),  # reserved: `complete_setup` moves it on to "lattice-2"
        ("東京", "provider"),
        ("x" * 80, "x" * 60),
    ],
)
def test_the_slug_is_made_from_the_name(name: str, slug: str):
    assert slug_for(name) == slug


async def test_the_reserved_slug_is_never_taken(fresh_sessions: Any, vault: KeyVault):
    token = await _opened(fresh_sessions)

    issuer = await _set_up(fresh_sessions, vault, token, "Lattice", _address())

    assert issuer.slug == "lattice-2"
