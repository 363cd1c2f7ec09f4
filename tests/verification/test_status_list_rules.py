"""The rules of W3C Bitstring Status List v1.0 §3.2 (validate algorithm), one fixture each.

Status list credentials are signed with real Ed25519 keys and served by a real local
server; the service's own lists are real rows of the database. Both readers — the third
party's (`BitstringStatusListChecker`) and the service's own (`OwnStatusLists`) — must give
the same answers.
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.issuers.issuers import KeyVault
from badges.status.status_lists import (
    StatusEntry,
    allocate,
)
from storage.models import Issuer, StatusList
from storage.session import transaction
from tests.verification.support import (
    NOW,
    V2,
    DidKeyIssuer,
    LocalServer,
    credential,
    fixed_clock,
)
from tests.verification.test_local import PUBLIC_URL, check, no_list_verifier, signer
from verification import CheckStatus, SafeFetcher, Verdict, Verifier
from verification.fetch import MappedFetcher
from verification.local import OwnStatusLists
from verification.status import MIN_ENTRIES, BitstringStatusListChecker, StatusOutcome

# --- building lists and entries from the spec --------------------------------------------


def bitstring(
    values: Mapping[int, int] | None = None, *, size: int = 1, entries: int = 131_072
) -> bytes:
    """`entries` statuses of `size` bits, index i at bits i*size .. i*size+size-1, the
    left-most bit of the first byte being bit 0 and each value's most significant bit first."""
    raw = bytearray((entries * size + 7) // 8)
    for index, value in (values or {}).items():
        for offset in range(size):
            if value >> (size - 1 - offset) & 1:
                bit = index * size + offset
                raw[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(raw)


def encoded(bits: bytes) -> str:
    """Multibase base64url (no padding) of the GZIP of the bits."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(bits)).rstrip(b"=").decode()


def list_credential(
    signer_: DidKeyIssuer, url: str, purpose: str | list[str], bits: bytes, **extra: Any
) -> dict[str, Any]:
    return signer_.sign(
        {
            "@context": [V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": signer_.did,
            "validFrom": "2025-01-01T00:00:00Z",
            **extra,
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": encoded(bits),
            },
        }
    )


def entry(url: str, index: int, purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
        **extra,
    }


def status_messages(size: int) -> list[dict[str, str]]:
    """One message per possible value, as `statusSize` > 1 requires."""
    return [{"status": f"{value:#x}", "message": f"state {value}"} for value in range(1 << size)]


def badge(issuer: DidKeyIssuer, *entries: dict[str, Any]) -> dict[str, Any]:
    status = entries[0] if len(entries) == 1 else list(entries)
    return issuer.sign(credential(issuer.did, credentialStatus=status))


@pytest.fixture
def verifier(loopback_fetcher: SafeFetcher) -> Verifier:
    return Verifier(fetcher=loopback_fetcher, clock=fixed_clock)


class Web:
    """Publishes list credentials on the local server under a name unique to the test."""

    def __init__(self, server: LocalServer, name: str) -> None:
        self._server, self._name = server, name

    def publish(self, path: str, document: dict[str, Any]) -> None:
        self._server.serve(f"/rules/{self._name}/{path}", document)

    def url(self, path: str) -> str:
        return f"{self._server.base}/rules/{self._name}/{path}"


@pytest.fixture
def web(server: LocalServer, request: pytest.FixtureRequest) -> Web:
    return Web(server, re.sub(r"[^A-Za-z0-9]+", "-", request.node.name))


# --- 1. the minimum length: STATUS_LIST_LENGTH_ERROR --------------------------------------


async def test_a_list_shorter_than_131072_entries_cannot_establish_the_status(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("short")
    # 131,064 entries (16 KB less one byte), the credential's bit set: still not "revoked".
    web.publish(
        "short", list_credential(issuer, url, "revocation", bitstring({5: 1}, entries=131_064))
    )

    report = await verifier.verify(badge(issuer, entry(url, 5)))

    assert report.verdict is Verdict.CANNOT_VERIFY
    message = report.check("status").message
    assert f"status list {url} is too short: it holds 131,064 entries" in message
    assert "at least 131,072" in message


async def test_a_list_of_exactly_131072_entries_is_long_enough(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("minimum")
    web.publish(
        "minimum", list_credential(issuer, url, "revocation", bitstring({MIN_ENTRIES - 1: 1}))
    )

    last = await verifier.verify(badge(issuer, entry(url, MIN_ENTRIES - 1)))
    past_the_end = await verifier.verify(badge(issuer, entry(url, MIN_ENTRIES)))

    assert last.verdict is Verdict.REVOKED
    assert past_the_end.verdict is Verdict.CANNOT_VERIFY
    assert "past the end" in past_the_end.check("status").message


async def test_the_length_counts_entries_of_status_size_bits(web: Web, verifier: Verifier) -> None:
    # 16 KB holds 131,072 one-bit entries but only 65,536 two-bit ones.
    issuer = DidKeyIssuer()
    url = web.url("two-bit")
    web.publish("two-bit", list_credential(issuer, url, "message", bitstring()))

    two_bit = entry(url, 3, "message", statusSize=2, statusMessage=status_messages(2))

    report = await verifier.verify(badge(issuer, two_bit))

    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "it holds 65,536 entries" in report.check("status").message


# --- 2. the purpose: STATUS_VERIFICATION_ERROR --------------------------------------------


async def test_an_entry_purpose_among_the_lists_purposes_is_read(
    web: Web, verifier: Verifier
) -> None:
    # "The statusListCredential might contain multiple status purposes in a single list."
    issuer = DidKeyIssuer()
    url = web.url("both")
    web.publish(
        "both", list_credential(issuer, url, ["revocation", "suspension"], bitstring({4: 1}))
    )

    report = await verifier.verify(badge(issuer, entry(url, 4, "suspension")))

    assert report.verdict is Verdict.SUSPENDED


@pytest.mark.parametrize(
    ("list_purpose", "stated"),
    [("suspension", '"suspension"'), (["suspension", "message"], '"suspension" or "message"')],
)
async def test_an_entry_purpose_the_list_does_not_have_cannot_establish_the_status(
    web: Web, verifier: Verifier, list_purpose: str | list[str], stated: str
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("other-purpose")
    web.publish("other-purpose", list_credential(issuer, url, list_purpose, bitstring({4: 1})))

    report = await verifier.verify(badge(issuer, entry(url, 4, "revocation")))

    assert report.verdict is Verdict.CANNOT_VERIFY
    assert f'status list {url} is for {stated}, not for "revocation"' in (
        report.check("status").message
    )


# --- 3. statusSize and statusMessage --------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"statusSize": 0}, '"statusSize" must be a whole number greater than zero, not 0'),
        ({"statusSize": "2"}, '"statusSize" must be a whole number greater than zero'),
        ({"statusSize": 2}, '"statusSize" is 2 but there is no "statusMessage"'),
        (
            {"statusSize": 2, "statusMessage": status_messages(1)},
            '"statusMessage" must list 4 messages',
        ),
        (
            {"statusSize": 1, "statusMessage": [{"status": "0x0"}, {"status": "0x1"}]},
            '"statusMessage" entries need a distinct hexadecimal "status"',
        ),
    ],
)
async def test_a_malformed_status_size_or_message_cannot_establish_the_status(
    web: Web, verifier: Verifier, extra: dict[str, Any], problem: str
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("sizes")
    web.publish("sizes", list_credential(issuer, url, "message", bitstring(size=2)))

    report = await verifier.verify(badge(issuer, entry(url, 1, "message", **extra)))

    assert report.verdict is Verdict.CANNOT_VERIFY
    assert problem in report.check("status").message


async def test_the_index_addresses_status_size_bits_and_the_message_is_reported(
    web: Web, verifier: Verifier
) -> None:
    # Index 2 of a 3-bit list is bits 6, 7 and 8: the value straddles a byte boundary.
    issuer = DidKeyIssuer()
    url = web.url("three-bit")
    values = {2: 0b101, 3: 0b010}
    web.publish("three-bit", list_credential(issuer, url, "message", bitstring(values, size=3)))
    messages = status_messages(3)

    reports = [
        await verifier.verify(
            badge(issuer, entry(url, index, "message", statusSize=3, statusMessage=messages)),
        )
        for index in (2, 3, 4)
    ]

    assert [r.verdict for r in reports] == [Verdict.VERIFIED] * 3
    assert [r.check("status").message for r in reports] == [
        f'"message" status is 0x5: "state 5" ({url}, index 2; informational)',
        f'"message" status is 0x2: "state 2" ({url}, index 3; informational)',
        f'"message" status is 0x0: "state 0" ({url}, index 4; informational)',
    ]


async def test_a_set_status_of_another_purpose_is_informational_never_revoked(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("refresh")
    web.publish("refresh", list_credential(issuer, url, "refresh", bitstring({9: 1})))

    report = await verifier.verify(badge(issuer, entry(url, 9, "refresh")))

    assert report.verdict is Verdict.VERIFIED
    assert report.check("status").message == (
        f'"refresh" status is 0x1 ({url}, index 9; informational)'
    )


async def test_a_multi_bit_revocation_status_other_than_zero_revokes(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("two-bit-revocation")
    bits = bitstring({1: 0b01, 2: 0b00}, size=2, entries=MIN_ENTRIES)
    web.publish("two-bit-revocation", list_credential(issuer, url, "revocation", bits))

    def at(index: int) -> dict[str, Any]:
        return entry(url, index, statusSize=2, statusMessage=status_messages(2))

    revoked = await verifier.verify(badge(issuer, at(1)))
    kept = await verifier.verify(badge(issuer, at(2)))

    assert revoked.verdict is Verdict.REVOKED
    assert revoked.check("status").message == f'revoked by its issuer: "state 1" ({url}, index 1)'
    assert kept.verdict is Verdict.VERIFIED


# --- 4. the list's own validity window ------------------------------------------------------


async def test_an_expired_list_cannot_establish_the_status_never_revoked(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("expired")
    web.publish(
        "expired",
        list_credential(
            issuer, url, "revocation", bitstring({3: 1}), validUntil="2026-01-01T00:00:00Z"
        ),
    )

    report = await verifier.verify(badge(issuer, entry(url, 3)))

    assert report.verdict is Verdict.CANNOT_VERIFY
    assert report.check("status").message == (
        f"status list {url} expired on 2026-01-01T00:00:00Z, so the credential's status "
        "cannot be established"
    )


async def test_a_list_not_yet_valid_cannot_establish_the_status(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("future")
    web.publish(
        "future",
        list_credential(issuer, url, "revocation", bitstring(), validFrom="2027-01-01T00:00:00Z"),
    )

    report = await verifier.verify(badge(issuer, entry(url, 3)))

    assert report.verdict is Verdict.CANNOT_VERIFY
    assert report.check("status").message == (
        f"status list {url} is not valid until 2027-01-01T00:00:00Z, so the credential's "
        "status cannot be established"
    )


async def test_a_list_that_ended_within_the_clock_skew_is_still_read(
    web: Web, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    url = web.url("just-ended")
    ended = (NOW - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    web.publish(
        "just-ended",
        list_credential(issuer, url, "revocation", bitstring({3: 1}), validUntil=ended),
    )

    report = await verifier.verify(badge(issuer, entry(url, 3)))

    assert report.verdict is Verdict.REVOKED


# --- 6. a list signed by another issuer: a warning -----------------------------------------


async def test_a_list_signed_by_a_status_service_is_read_with_a_warning(
    web: Web, verifier: Verifier
) -> None:
    issuer, service = DidKeyIssuer(), DidKeyIssuer()
    url = web.url("hosted")
    web.publish("hosted", list_credential(service, url, "revocation", bitstring({8: 1})))

    kept = await verifier.verify(badge(issuer, entry(url, 7)))
    revoked = await verifier.verify(badge(issuer, entry(url, 8)))

    warning = (
        f"status list {url} is signed by {service.did}, not by the credential's issuer {issuer.did}"
    )
    assert kept.verdict is Verdict.VERIFIED
    assert kept.check("status").status is CheckStatus.WARNING
    assert kept.check("status").message == f"not revoked ({url}, index 7); {warning}"
    assert revoked.verdict is Verdict.REVOKED
    assert warning in revoked.check("status").message


async def test_the_same_issuers_list_passes_without_a_warning(web: Web, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = web.url("own")
    web.publish("own", list_credential(issuer, url, "revocation", bitstring()))

    report = await verifier.verify(badge(issuer, entry(url, 7)))

    assert report.check("status").status is CheckStatus.PASSED
    assert report.check("status").message == f"not revoked ({url}, index 7)"


# --- 7. the service's own lists, read from the database, by the same rules ---------------


@pytest.fixture
def own_checker(sessions: async_sessionmaker[AsyncSession]) -> OwnStatusLists:
    return OwnStatusLists(sessions, PUBLIC_URL, BitstringStatusListChecker(MappedFetcher({})))


@pytest.fixture
async def own_entry(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault, issuer: Issuer
) -> StatusEntry:
    async with transaction(sessions) as session:
        attached = await session.merge(issuer)
        allocated = await allocate(
            session, PUBLIC_URL, vault, attached, signer(issuer), "revocation", 1
        )
    return allocated[0]


async def store_bits(
    sessions: async_sessionmaker[AsyncSession], listed: StatusEntry, bits: bytes
) -> None:
    async with transaction(sessions) as session:
        row = await session.scalar(select(StatusList).where(StatusList.id == listed.list_id))
        assert row is not None
        row.bits = bits


async def test_own_lists_are_long_enough(
    own_checker: OwnStatusLists, own_entry: StatusEntry, issuer: Issuer
) -> None:
    (result,) = await check(own_checker, issuer, own_entry.as_json())

    assert result.outcome is StatusOutcome.OK


async def test_a_short_own_list_cannot_establish_the_status(
    own_checker: OwnStatusLists,
    own_entry: StatusEntry,
    issuer: Issuer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Index 5 is inside the stored 65,536 entries, and set: still not "revoked".
    await store_bits(sessions, own_entry, bitstring({5: 1}, entries=65_536))

    (result,) = await check(own_checker, issuer, {**own_entry.as_json(), "statusListIndex": "5"})

    assert result.outcome is StatusOutcome.ERROR
    assert f"status list {own_entry.list_url} is too short: it holds 65,536 entries" in (
        result.message
    )


async def test_own_lists_read_status_size_bits_across_a_byte_boundary(
    own_checker: OwnStatusLists,
    own_entry: StatusEntry,
    issuer: Issuer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store_bits(sessions, own_entry, bitstring({2: 0b101, 3: 0b000}, size=3))
    three_bit = {"statusSize": 3, "statusMessage": status_messages(3)}
    listed = own_entry.as_json()

    revoked, kept = await check(
        own_checker,
        issuer,
        {**listed, "statusListIndex": "2", **three_bit},
        {**listed, "statusListIndex": "3", **three_bit},
    )

    assert revoked.outcome is StatusOutcome.REVOKED
    assert revoked.message == f'revoked by its issuer: "state 5" ({own_entry.list_url}, index 2)'
    assert kept.outcome is StatusOutcome.OK


async def test_a_two_bit_entry_on_an_own_one_bit_list_is_too_short(
    own_checker: OwnStatusLists, own_entry: StatusEntry, issuer: Issuer
) -> None:
    two_bit = {**own_entry.as_json(), "statusSize": 2, "statusMessage": status_messages(2)}

    (result,) = await check(own_checker, issuer, two_bit)

    assert result.outcome is StatusOutcome.ERROR
    assert "it holds 65,536 entries" in result.message


async def test_an_own_list_of_another_purpose_cannot_establish_the_status(
    own_checker: OwnStatusLists, own_entry: StatusEntry, issuer: Issuer
) -> None:
    (result,) = await check(
        own_checker, issuer, {**own_entry.as_json(), "statusPurpose": "suspension"}
    )

    assert result.outcome is StatusOutcome.ERROR
    assert result.message == (
        f'status list {own_entry.list_url} is for "revocation", not for "suspension"'
    )


async def test_an_own_list_read_for_another_issuers_credential_carries_a_warning(
    own_checker: OwnStatusLists, own_entry: StatusEntry, issuer: Issuer
) -> None:
    (result,) = await own_checker.check(
        [own_entry.as_json()], issuer_id="did:example:other", verify_list=no_list_verifier
    )

    assert result.outcome is StatusOutcome.OK
    assert result.warning == (
        f"status list {own_entry.list_url} is signed by {signer(issuer)}, "
        "not by the credential's issuer did:example:other"
    )
