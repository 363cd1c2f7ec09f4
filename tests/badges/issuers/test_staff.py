"""Staff accounts: one account per address, a role per place, disabling is dated and ends
the account's sessions; sessions are found only by their token."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from badges.errors import Conflict, InvalidInput
from badges.issuers.issuers import IssuerDetails, KeyVault, create_issuer
from badges.issuers.staff import (
    Address,
    add_staff,
    current_staff_session,
    disable_staff,
    may_issue,
    may_manage_integrations,
    open_staff_session,
    places_of,
)
from badges.policy.agencies import create_agency
from storage.session import transaction


def _address() -> Address:
    key = uuid.uuid4().hex
    return Address(key=key, label=f"{key[:1]}•••@example.org")


async def test_an_address_is_one_account_with_a_role_in_each_place(sessions: Any, vault: KeyVault):
    address = _address()
    async with transaction(sessions) as session:
        issuer = await create_issuer(
            session, vault, IssuerDetails(f"p-{uuid.uuid4().hex[:8]}", "Zeta Provider")
        )
        agency = await create_agency(
            session, vault, IssuerDetails(f"a-{uuid.uuid4().hex[:8]}", "Alpha Agency"), "TX"
        )
        await add_staff(session, address, issuer=issuer)
        await add_staff(session, address, agency=agency, role="admin")
        account = await add_staff(session, address, issuer=issuer, role="admin")  # role change
        places = await places_of(session, account)

    assert [(p.kind, p.name, p.role) for p in places] == [
        ("issuer", "Zeta Provider", "admin"),
        ("agency", "Alpha Agency", "admin"),
    ]
    assert len(account.memberships) == 2


async def test_a_membership_names_exactly_one_place_and_a_known_role(
    sessions: Any, vault: KeyVault
):
    async with transaction(sessions) as session:
        issuer = await create_issuer(
            session, vault, IssuerDetails(f"p-{uuid.uuid4().hex[:8]}", "P")
        )
        with pytest.raises(InvalidInput):
            await add_staff(session, _address())
        with pytest.raises(InvalidInput):
            await add_staff(session, _address(), issuer=issuer, role="owner")


async def test_disabling_is_dated_ends_sessions_and_refuses_new_memberships(
    sessions: Any, vault: KeyVault
):
    address = _address()
    async with transaction(sessions) as session:
        issuer = await create_issuer(
            session, vault, IssuerDetails(f"p-{uuid.uuid4().hex[:8]}", "P")
        )
        account = await add_staff(session, address, issuer=issuer)
        opened = await open_staff_session(session, account, timedelta(hours=1))
        assert await current_staff_session(session, opened.token) is not None
        disabled = await disable_staff(session, address.key)
        first = disabled.disabled_at
        again = await disable_staff(session, address.key)

        assert first is not None and again.disabled_at == first
        assert await current_staff_session(session, opened.token) is None
        with pytest.raises(Conflict):
            await add_staff(session, address, issuer=issuer)


def test_staff_issue_and_only_admins_manage_integrations():
    assert may_issue("staff") and may_issue("admin")
    assert may_manage_integrations("admin") and not may_manage_integrations("staff")
