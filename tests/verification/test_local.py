"""The service's own credentials and status lists, answered from its database
(verification/local.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from badges.status.status_lists import (
    StatusEntry,
    allocate,
)
from formats.bitstring import set_bit
from storage.models import Credential, Issuer, StatusList
from storage.session import transaction
from verification.fetch import MappedFetcher
from verification.local import OwnCredentials, OwnIssuerKeys, OwnReference, OwnStatusLists
from verification.report import VerificationReport
from verification.resolvers import default_resolver
from verification.status import BitstringStatusListChecker, StatusOutcome, StatusResult

PUBLIC_URL = "https://lattice.example"
FOREIGN_ENTRY = {
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "7",
    "statusListCredential": "https://other.example/status/1",
}


def signer(issuer: Issuer) -> str:
    return f"did:web:lattice.example:issuers:{issuer.slug}"


Entries = tuple[StatusEntry, StatusEntry]


@pytest.fixture
async def entries(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault, issuer: Issuer
) -> Entries:
    """A fresh revocation and suspension entry of `issuer`, as issuing allocates them."""
    async with transaction(sessions) as session:
        attached = await session.merge(issuer)
        revocation = await allocate(
            session, PUBLIC_URL, vault, attached, signer(issuer), "revocation", 1
        )
        suspension = await allocate(
            session, PUBLIC_URL, vault, attached, signer(issuer), "suspension", 1
        )
    return revocation[0], suspension[0]


Flip = Callable[[StatusEntry], Awaitable[None]]


@pytest.fixture
def flip(sessions: async_sessionmaker[AsyncSession]) -> Flip:
    """Sets an entry's bit in its stored list, as revoking or suspending does."""

    async def set_entry_bit(entry: StatusEntry) -> None:
        async with transaction(sessions) as session:
            row = await session.scalar(select(StatusList).where(StatusList.id == entry.list_id))
            assert row is not None
            row.bits = set_bit(row.bits, entry.index, True)

    return set_entry_bit


async def no_list_verifier(listed: dict[str, Any]) -> VerificationReport:
    raise AssertionError("the service's own lists are read, not verified as credentials")


@pytest.fixture
def checker(sessions: async_sessionmaker[AsyncSession]) -> OwnStatusLists:
    # Foreign lists go to a third-party checker that has nothing to fetch (no network).
    fallback = BitstringStatusListChecker(MappedFetcher({}))
    return OwnStatusLists(sessions, PUBLIC_URL, fallback)


async def check(
    checker: OwnStatusLists, issuer: Issuer, *listed: dict[str, Any]
) -> list[StatusResult]:
    return await checker.check(listed, issuer_id=signer(issuer), verify_list=no_list_verifier)


async def test_fresh_entries_are_neither_revoked_nor_suspended(
    checker: OwnStatusLists, entries: Entries, issuer: Issuer
) -> None:
    revocation, suspension = entries

    results = await check(checker, issuer, revocation.as_json(), suspension.as_json())

    assert [r.outcome for r in results] == [StatusOutcome.OK, StatusOutcome.OK]
    assert "not revoked" in results[0].message
    assert "not suspended" in results[1].message


async def test_a_set_bit_revokes_or_suspends_and_reads_the_current_value(
    checker: OwnStatusLists, entries: Entries, issuer: Issuer, flip: Flip
) -> None:
    revocation, suspension = entries
    await flip(suspension)

    suspended = await check(checker, issuer, revocation.as_json(), suspension.as_json())
    await flip(revocation)
    both = await check(checker, issuer, revocation.as_json(), suspension.as_json())

    assert [r.outcome for r in suspended] == [StatusOutcome.OK, StatusOutcome.SUSPENDED]
    assert [r.outcome for r in both] == [StatusOutcome.REVOKED, StatusOutcome.SUSPENDED]


async def test_entries_that_do_not_fit_the_list_are_errors_not_revocations(
    checker: OwnStatusLists, entries: Entries, issuer: Issuer
) -> None:
    revocation, _ = entries
    entry = revocation.as_json()
    missing_list = f"{PUBLIC_URL}/status/{issuer.slug}/{uuid.uuid4()}"

    results = await check(
        checker,
        issuer,
        {**entry, "statusListIndex": str(131_072 * 8)},
        {**entry, "statusListCredential": missing_list},
        {**entry, "statusPurpose": "suspension"},
        {**entry, "statusListIndex": "-3"},
        {**entry, "statusListCredential": f"{PUBLIC_URL}/status/{issuer.slug}/not-a-uuid"},
    )

    assert all(r.outcome is StatusOutcome.ERROR for r in results)
    outside, missing, wrong_purpose, negative, malformed = (r.message for r in results)
    assert "past the end" in outside
    assert "does not exist" in missing
    assert 'is for "revocation", not for "suspension"' in wrong_purpose
    assert "non-negative statusListIndex" in negative
    assert "not a list of this service" in malformed


async def test_another_issuers_credential_is_read_from_this_list_with_a_warning(
    checker: OwnStatusLists, entries: Entries, issuer: Issuer, flip: Flip
) -> None:
    # As a third party fetching the list would: the list is genuine, only not the
    # credential issuer's own, which no specification forbids.
    revocation, _ = entries
    await flip(revocation)

    results = await checker.check(
        [revocation.as_json()], issuer_id="did:web:elsewhere.example", verify_list=no_list_verifier
    )

    assert results[0].outcome is StatusOutcome.REVOKED
    assert results[0].warning == (
        f"status list {revocation.as_json()['statusListCredential']} is signed by "
        f"{signer(issuer)}, not by the credential's issuer did:web:elsewhere.example"
    )


async def test_foreign_entries_go_to_the_third_party_checker_in_their_places(
    checker: OwnStatusLists, entries: Entries, issuer: Issuer, flip: Flip
) -> None:
    revocation, suspension = entries
    await flip(revocation)

    results = await check(
        checker, issuer, FOREIGN_ENTRY, revocation.as_json(), FOREIGN_ENTRY, suspension.as_json()
    )

    assert [r.outcome for r in results] == [
        StatusOutcome.ERROR,
        StatusOutcome.REVOKED,
        StatusOutcome.ERROR,
        StatusOutcome.OK,
    ]
    assert "other.example" in results[0].message


# --- stored credentials ------------------------------------------------------------------


async def store_credential(
    sessions: async_sessionmaker[AsyncSession],
    issuer: Issuer,
    jwt: str | None = None,
    credential_id: uuid.UUID | None = None,
) -> uuid.UUID:
    credential_id = credential_id or uuid.uuid4()
    document = json.dumps({"id": f"urn:uuid:{credential_id}", "type": ["VerifiableCredential"]})
    async with transaction(sessions) as session:
        session.add(
            Credential(
                id=credential_id,
                issuer_id=issuer.id,
                issuer_did=signer(issuer),
                valid_from=datetime.now(UTC),
                document=document,
                jwt=jwt,
            )
        )
    return credential_id


def test_credential_urls_of_this_service_name_a_credential_and_a_form(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    own = OwnCredentials(sessions, PUBLIC_URL, max_entries=8)
    credential_id = uuid.uuid4()
    base = f"{PUBLIC_URL}/credentials/{credential_id}"

    assert own.reference(base) == OwnReference(credential_id, wants_jwt=False)
    assert own.reference(f"{base}.json") == OwnReference(credential_id, wants_jwt=False)
    assert own.reference(f"{base}.jwt") == OwnReference(credential_id, wants_jwt=True)
    for other in (
        f"https://other.example/credentials/{credential_id}",
        f"{PUBLIC_URL}/credentials/not-a-uuid",
        f"{PUBLIC_URL}/status/x/{credential_id}",
    ):
        assert own.reference(other) is None


async def test_stored_credentials_are_read_once_then_served_from_memory(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    own = OwnCredentials(sessions, PUBLIC_URL, max_entries=8)
    first = await store_credential(sessions, issuer, jwt="a.b.c")
    second = await store_credential(sessions, issuer, jwt=None)
    unknown = uuid.uuid4()

    found = await own.get_many([first, second, unknown])
    assert set(found) == {first, second}
    assert found[first].jwt == "a.b.c"
    assert found[second].jwt is None
    assert json.loads(found[second].document)["id"] == f"urn:uuid:{second}"

    # Issued rows never change, so the cache may answer without the database.
    async with transaction(sessions) as session:
        await session.execute(delete(Credential).where(Credential.id.in_([first, second])))
    assert await own.get(first) == found[first]


async def test_an_unknown_credential_is_not_remembered_as_missing(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    own = OwnCredentials(sessions, PUBLIC_URL, max_entries=8)
    credential_id = uuid.uuid4()
    assert await own.get(credential_id) is None

    await store_credential(sessions, issuer, credential_id=credential_id)

    assert await own.get(credential_id) is not None


# --- issuer keys -------------------------------------------------------------------------


async def test_an_own_issuers_keys_are_listed_from_the_database(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    keys = OwnIssuerKeys(sessions, PUBLIC_URL)

    listed = await keys.keys_of(signer(issuer))

    assert listed, "an issuer has at least one signing key"
    assert all(key.id.startswith(f"{signer(issuer)}#") for key in listed)
    assert await keys.keys_of("did:web:lattice.example:issuers:nobody") == []
    assert await keys.keys_of("did:web:other.example") is None
    assert await keys.keys_of(f"{signer(issuer)}#key-1") is None


async def test_the_verifier_lists_an_own_issuers_keys_without_fetching(
    sessions: async_sessionmaker[AsyncSession], issuer: Issuer
) -> None:
    # The fetcher knows no documents: a did:web fetch would fail.
    resolver = default_resolver(MappedFetcher({}), local=OwnIssuerKeys(sessions, PUBLIC_URL))

    listed = await resolver.keys_of(signer(issuer))

    assert listed
    assert all(key.id.startswith(f"{signer(issuer)}#") for key in listed)
