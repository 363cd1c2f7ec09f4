"""Reading only the status of a credential verified before (`Verifier.status_only`), and a
status list verified once however many credentials it holds.

A service re-reads the status of thousands of stored credentials from other issuers; their
proofs cannot have changed since they were verified, only their issuers' lists. The lists
are served by a real local server and signed with real keys.
"""

from __future__ import annotations

import json
from typing import Any

from keys.keypair import KeyAlgorithm, KeyPair
from keys.vc_jwt import encode_vc_jwt
from tests.verification.support import (
    DidKeyIssuer,
    LocalServer,
    credential,
    fixed_clock,
    signed_status_list,
    status_entry,
)
from verification import SafeFetcher, Verifier
from verification.inputs import Presented, read_presented
from verification.report import CheckStatus, Verdict, VerificationReport
from verification.status import BitstringStatusListChecker, StatusOutcome


def _with_status(issuer: DidKeyIssuer, url: str, index: int) -> dict[str, Any]:
    return issuer.sign(credential(issuer.did, credentialStatus=status_entry(url, index)))


def _published(server: LocalServer, issuer: DidKeyIssuer, *revoked: int) -> str:
    url = server.base + "/status/1"
    server.serve("/status/1", signed_status_list(issuer, url, "revocation", *revoked))
    return url


async def test_it_reads_revoked_and_active_as_the_whole_verifier_does(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    issuer = DidKeyIssuer()
    url = _published(server, issuer, 7)
    verifier = Verifier(fetcher=loopback_fetcher, clock=fixed_clock)
    for index, verdict in ((7, Verdict.REVOKED), (8, Verdict.VERIFIED)):
        document = _with_status(issuer, url, index)
        only = await verifier.status_only(read_presented(json.dumps(document)))
        whole = await verifier.verify(document)
        assert whole.verdict is verdict
        assert only.status is whole.check("status").status
        assert only.outcome is whole.check("status").outcome
        assert only.message == whole.check("status").message


async def test_a_vc_jwt_is_read_from_its_claims(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    issuer = DidKeyIssuer()
    url = _published(server, issuer, 3)
    document = credential(issuer.did, credentialStatus=status_entry(url, 3))
    token = encode_vc_jwt(document, KeyPair(KeyAlgorithm.ED25519, issuer.key), kid=issuer.vm)
    verifier = Verifier(fetcher=loopback_fetcher, clock=fixed_clock)

    only = await verifier.status_only(read_presented(token))

    assert only.status is CheckStatus.FAILED
    assert only.outcome is Verdict.REVOKED


async def test_no_entry_or_an_unreadable_credential_says_nothing_of_status(
    loopback_fetcher: SafeFetcher,
) -> None:
    issuer = DidKeyIssuer()
    verifier = Verifier(fetcher=loopback_fetcher, clock=fixed_clock)

    none = await verifier.status_only(Presented("json", credential=issuer.issue()))
    broken = await verifier.status_only(Presented("jwt", jwt="not.a.jwt"))

    assert none.status is CheckStatus.NOT_APPLICABLE
    assert broken.status is CheckStatus.ERROR
    assert broken.outcome is None


async def test_a_list_is_verified_once_for_many_credentials_and_again_once_republished(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    issuer = DidKeyIssuer()
    url = _published(server, issuer)
    verifier = Verifier(fetcher=loopback_fetcher, clock=fixed_clock)
    checker = BitstringStatusListChecker(loopback_fetcher)
    verified: list[Presented] = []

    async def verify_list(listed: Presented) -> VerificationReport:
        verified.append(listed)
        return await verifier.verify(listed)

    entries = [status_entry(url, index) for index in (1, 2, 3)]
    first = await checker.check(entries, issuer_id=issuer.did, verify_list=verify_list)
    assert [result.outcome for result in first] == [StatusOutcome.OK] * 3
    assert len(verified) == 1

    _published(server, issuer, 2)  # other bytes: verified again, read at once
    second = await checker.check(entries, issuer_id=issuer.did, verify_list=verify_list)
    assert [result.outcome for result in second] == [
        StatusOutcome.OK,
        StatusOutcome.REVOKED,
        StatusOutcome.OK,
    ]
    assert len(verified) == 2


async def test_a_remembered_list_is_verified_again_after_a_minute(
    server: LocalServer, loopback_fetcher: SafeFetcher
) -> None:
    """Its verdict depends on the clock (the list's validity window): not kept longer."""
    issuer = DidKeyIssuer()
    url = _published(server, issuer)
    verifier = Verifier(fetcher=loopback_fetcher, clock=fixed_clock)
    now = [1000.0]
    checker = BitstringStatusListChecker(loopback_fetcher, clock=lambda: now[0])
    verified: list[Presented] = []

    async def verify_list(listed: Presented) -> VerificationReport:
        verified.append(listed)
        return await verifier.verify(listed)

    entry = [status_entry(url, 1)]
    await checker.check(entry, issuer_id=issuer.did, verify_list=verify_list)
    now[0] += 59.9
    await checker.check(entry, issuer_id=issuer.did, verify_list=verify_list)
    assert len(verified) == 1
    now[0] += 0.1
    await checker.check(entry, issuer_id=issuer.did, verify_list=verify_list)
    assert len(verified) == 2
