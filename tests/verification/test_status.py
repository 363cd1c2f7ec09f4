"""Bitstring Status List: lists served by a real local server and signed with real keys."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from formats.bitstring import (
    bit_is_set,
    decode_bitstring,
)
from tests.verification.support import (
    DidKeyIssuer,
    LocalServer,
    credential,
    encoded_status_bits,
    fixed_clock,
    signed_status_list,
    status_entry,
)
from verification import SafeFetcher, Verdict, Verifier

# The shared builders, under the names these tests (and two other modules) use.
encoded_list = encoded_status_bits
status_list = signed_status_list


def with_status(
    issuer: DidKeyIssuer, url: str, index: int, purpose: str = "revocation"
) -> dict[str, Any]:
    entry = status_entry(url, index, purpose)
    return issuer.sign(credential(issuer.did, credentialStatus=entry))


@pytest.fixture
def verifier(loopback_fetcher: SafeFetcher) -> Verifier:
    return Verifier(fetcher=loopback_fetcher, clock=fixed_clock)


async def test_clear_bit_is_verified(server: LocalServer, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = server.base + "/status/clear"
    server.serve("/status/clear", status_list(issuer, url, "revocation", 3))
    report = await verifier.verify(with_status(issuer, url, 7))
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert "not revoked" in report.check("status").message


async def test_set_revocation_bit_is_revoked(server: LocalServer, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = server.base + "/status/revoked"
    server.serve("/status/revoked", status_list(issuer, url, "revocation", 7))
    report = await verifier.verify(with_status(issuer, url, 7))
    assert report.verdict is Verdict.REVOKED
    assert report.decided_by is not None and report.decided_by.id == "status"


async def test_set_suspension_bit_is_suspended(server: LocalServer, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = server.base + "/status/suspended"
    server.serve("/status/suspended", status_list(issuer, url, "suspension", 0))
    report = await verifier.verify(with_status(issuer, url, 0, "suspension"))
    assert report.verdict is Verdict.SUSPENDED


async def test_unreachable_list_cannot_verify_never_revoked(
    server: LocalServer, verifier: Verifier
) -> None:
    issuer = DidKeyIssuer()
    report = await verifier.verify(with_status(issuer, server.base + "/status/missing", 1))
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "status list unavailable" in report.check("status").message


async def test_list_from_another_issuer_is_read_with_a_warning(
    server: LocalServer, verifier: Verifier
) -> None:
    # No specification requires the list's issuer to be the credential's: hosted status
    # services sign lists with their own keys. The bit counts; the report says whose it is.
    issuer, service = DidKeyIssuer(), DidKeyIssuer()
    url = server.base + "/status/foreign"
    server.serve("/status/foreign", status_list(service, url, "revocation", 1))
    report = await verifier.verify(with_status(issuer, url, 1))
    assert report.verdict is Verdict.REVOKED
    assert f"is signed by {service.did}, not by the credential's issuer" in (
        report.check("status").message
    )


async def test_forged_list_is_not_trusted(server: LocalServer, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = server.base + "/status/forged"
    listed = status_list(issuer, url, "revocation")
    listed["credentialSubject"]["encodedList"] = encoded_list(1)  # after signing
    server.serve("/status/forged", listed)
    report = await verifier.verify(with_status(issuer, url, 1))
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "does not verify" in report.check("status").message


async def test_status_lists_are_cached_by_max_age(server: LocalServer, verifier: Verifier) -> None:
    issuer = DidKeyIssuer()
    url = server.base + "/status/cached"
    server.serve(
        "/status/cached",
        status_list(issuer, url, "revocation"),
        headers={"cache-control": "max-age=300"},
    )
    for _ in range(3):
        assert (await verifier.verify(with_status(issuer, url, 2))).verified
    assert server.hits["/status/cached"] == 1


def test_bit_order_is_left_most_first() -> None:
    bits = decode_bitstring(encoded_list(0, 9), 1 << 20)
    assert bits[0] == 0x80 and bits[1] == 0x40
    assert bit_is_set(bits, 0) and bit_is_set(bits, 9) and not bit_is_set(bits, 1)


def test_gzip_bomb_is_refused() -> None:
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(50 * 1024 * 1024))).decode()
    with pytest.raises(ValueError, match="inflates past"):
        decode_bitstring(bomb, 2 * 1024 * 1024)
