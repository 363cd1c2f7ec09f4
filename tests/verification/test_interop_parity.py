"""Credentials issued by the interop harness (../shared/interop) get the same verdict from our
verifier as from the independent Node verifiers (DCC verifier-core and Digital Bazaar `vc` for
Data Integrity, `jose` for VC-JWTs), run on the same files in the same test.

Like the harness's selftest.mjs, a real HTTP server on 127.0.0.1 plays the issuer's web:
the DID document of `did:web:127.0.0.1%3A<port>` and its Bitstring Status List credentials.
The lists are built here and signed with the harness's fixed key (Ed25519 from the sha256
seed its README names), so both sides fetch and check exactly the same bytes. Credentials
come from `node issue.mjs`; the two shapes it cannot make (validFrom in the future, the
VC 1.1 `vc`-claim JWT) from tests/interop_helpers/issue_variant.mjs, which imports the
harness's own library. Both sides use the real clock, since verifier-core takes no `now`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.data_integrity import sign_document
from keys.multikey import did_key_for, encode_ed25519_public_key
from tests.conftest import INTEROP_DIR, node_verify
from tests.verification.support import V2, LocalServer
from tests.verification.test_status import encoded_list
from verification import SafeFetcher, Verdict, Verifier
from verification.resolvers import default_resolver

pytestmark = pytest.mark.interop

HELPER = Path(__file__).resolve().parents[1] / "interop_helpers" / "issue_variant.mjs"
HARNESS_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"ob3-interop-harness reference issuer v1").digest()
)
HARNESS_DID_KEY = "did:key:z6Mkq4C4CXm2Xu2JRqMDZxZfnvGwf5s7BKiDkbMzveamSeFH"
PAST = "2025-06-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"
SET_BIT, CLEAR_BIT = 7, 1


@dataclass(frozen=True)
class Case:
    """One harness credential: how to make it, and the verdict every verifier must give."""

    name: str
    file: str
    make: tuple[str, ...]  # "issue" or "variant" and its args, with {did}/{base}/{dir}
    verdict: Verdict
    because: str = ""  # words our deciding check must say
    # Where a Node verifier answers otherwise on purpose: its verdict, and why ours differs.
    node_verdict: Verdict | None = None
    why: str = ""
    # A disagreement that is our verifier's fault: the test is expected to fail until fixed.
    gap: str = ""


def _issue(*args: str) -> tuple[str, ...]:
    return ("issue", *args)


def _variant(*args: str) -> tuple[str, ...]:
    return ("variant", *args)


WEB = ("--did", "{did}")
REVOCATION = "{base}/status/revocation"

CASES = [
    Case("did:key", "key.json", _issue("--tampered", "{dir}/key.tampered.json"), Verdict.VERIFIED),
    Case("did:key, tampered", "key.tampered.json", (), Verdict.INVALID),
    Case(
        "did:web, status bit clear",
        "web-clear.json",
        _issue(*WEB, "--status-list", REVOCATION, "--status-index", str(CLEAR_BIT)),
        Verdict.VERIFIED,
    ),
    Case(
        "did:web, revoked",
        "web-revoked.json",
        _issue(*WEB, "--status-list", REVOCATION, "--status-index", str(SET_BIT)),
        Verdict.REVOKED,
    ),
    Case(
        "did:web, suspended",
        "web-suspended.json",
        _issue(
            *WEB,
            "--status-list",
            "{base}/status/suspension",
            "--status-index",
            str(SET_BIT),
            "--status-purpose",
            "suspension",
        ),
        Verdict.SUSPENDED,
    ),
    Case(
        "did:web, status list missing (404)",
        "web-list-missing.json",
        _issue(*WEB, "--status-list", "{base}/status/missing", "--status-index", "1"),
        Verdict.CANNOT_VERIFY,
        because="status list unavailable",
    ),
    Case("expired", "expired.json", _issue("--valid-until", PAST), Verdict.EXPIRED),
    Case("not yet valid", "future.json", _variant("--valid-from", FUTURE), Verdict.NOT_YET_VALID),
    Case(
        "VC-JWT (VC 2.0, kid), did:key",
        "key.jwt",
        _issue("--format", "jwt", "--tampered", "{dir}/key.tampered.jwt"),
        Verdict.VERIFIED,
    ),
    Case("VC-JWT (VC 2.0, kid), tampered", "key.tampered.jwt", (), Verdict.INVALID),
    Case(
        "VC-JWT (VC 2.0, kid), did:web",
        "web.jwt",
        _issue("--format", "jwt", *WEB),
        Verdict.VERIFIED,
    ),
    Case(
        "VC-JWT (VC 2.0, kid), did:web, revoked",
        "web-revoked.jwt",
        _issue(
            "--format", "jwt", *WEB, "--status-list", REVOCATION, "--status-index", str(SET_BIT)
        ),
        Verdict.REVOKED,
    ),
    Case(
        "VC-JWT (VC 2.0, kid), validUntil past, no exp claim",
        "expired.jwt",
        _issue("--format", "jwt", "--valid-until", PAST),
        Verdict.INVALID,
        because='"exp" claim is missing',
        node_verdict=Verdict.EXPIRED,
        why=(
            "OB 3.0 §8.2.4.1 requires `exp` when the credential has validUntil; the harness's "
            "signJwt never writes `exp`, so the claims disagree with the credential (we say "
            "invalid on the proof) while jose, finding no `exp`, only sees validUntil passed."
        ),
    ),
    Case(
        "VC-JWT (VC 1.1 vc claim, jwk), did:key",
        "key-vc11.jwt",
        _variant("--format", "vc11"),
        Verdict.VERIFIED,
    ),
    Case(
        "VC-JWT (VC 1.1 vc claim, jwk), did:web",
        "web-vc11.jwt",
        _variant("--format", "vc11", *WEB),
        Verdict.VERIFIED,
    ),
]
TAMPERED_BY = {"key.tampered.json": "key.json", "key.tampered.jwt": "key.jwt"}


def did_web_document(did: str) -> dict[str, Any]:
    """What the harness's didWebDocument() serves: one Multikey, `#key-1`."""
    method = {
        "id": f"{did}#key-1",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": encode_ed25519_public_key(HARNESS_KEY.public_key()),
    }
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [method],
        "assertionMethod": [method["id"]],
        "authentication": [method["id"]],
    }


def status_list_credential(did: str, url: str, purpose: str) -> dict[str, Any]:
    """A BitstringStatusListCredential with bit SET_BIT set, signed as the did:web issuer."""
    unsigned = {
        "@context": [V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list(SET_BIT),
        },
    }
    return sign_document(unsigned, HARNESS_KEY, f"{did}#key-1", datetime(2025, 1, 1, tzinfo=UTC))


@dataclass
class Harness:
    server: LocalServer
    files: Path

    @property
    def did(self) -> str:
        return self.server.did_web_host


def _make(case: Case, harness: Harness) -> None:
    if not case.make:
        return
    node = shutil.which("node")
    assert node is not None
    kind, *raw = case.make
    fill = {"did": harness.did, "base": harness.server.base, "dir": str(harness.files)}
    args = [arg.format(**fill) for arg in raw]
    script = "issue.mjs" if kind == "issue" else str(HELPER)
    made = subprocess.run(
        [node, script, *args],
        cwd=INTEROP_DIR,
        env={**os.environ, "LATTICE_INTEROP_DIR": str(INTEROP_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, f"{case.name}: {made.stderr[-2000:]}"
    (harness.files / case.file).write_text(made.stdout, encoding="utf-8")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    if shutil.which("node") is None or not (INTEROP_DIR / "node_modules").is_dir():
        pytest.fail("the interop harness is not installed: run scripts/test (it runs npm ci)")
    with LocalServer() as server:
        made = Harness(server, tmp_path_factory.mktemp("harness"))
        json_type = {"content-type": "application/json"}
        server.serve("/.well-known/did.json", did_web_document(made.did), headers=json_type)
        for purpose in ("revocation", "suspension"):
            url = f"{server.base}/status/{purpose}"
            server.serve(
                f"/status/{purpose}",
                status_list_credential(made.did, url, purpose),
                headers=json_type,
            )
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda case: _make(case, made), CASES))
        yield made


def node_verdict(report: Mapping[str, Any]) -> Verdict:
    """A harness verifier's JSON line, in our verdict vocabulary.

    A bad signature outranks everything; then what the verifier found (status, dates);
    "no verdict" on the signature counts only when nothing else was found, because
    verifier-core refuses a not-yet-valid credential before it looks at the signature.
    """
    checks = report["checks"]
    if report["verified"] is True:
        return Verdict.VERIFIED
    if checks.get("signature") is False:
        return Verdict.INVALID
    found = {
        "revoked": Verdict.REVOKED,
        "suspended": Verdict.SUSPENDED,
        "error": Verdict.CANNOT_VERIFY,
        "unchecked": Verdict.CANNOT_VERIFY,
    }.get(checks.get("status"))
    if found is None:
        found = {False: Verdict.EXPIRED, "not-yet-valid": Verdict.NOT_YET_VALID}.get(
            checks.get("expiry")
        )
    if found is not None:
        return found
    if checks.get("signature") is None:
        return Verdict.CANNOT_VERIFY
    if checks.get("dataModel") is False:
        return Verdict.INVALID
    raise AssertionError(f"unmapped harness report: {report}")


def test_the_python_key_is_the_harness_key() -> None:
    assert did_key_for(HARNESS_KEY.public_key()) == HARNESS_DID_KEY


def test_tampered_copies_differ_from_their_originals(harness: Harness) -> None:
    for tampered, original in TAMPERED_BY.items():
        assert (harness.files / tampered).read_text().strip() != (
            harness.files / original
        ).read_text().strip()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason=case.gap)] if case.gap else [],
        )
        for case in CASES
    ],
)
async def test_same_verdict_as_the_node_verifiers(
    harness: Harness, loopback_fetcher: SafeFetcher, case: Case
) -> None:
    path = harness.files / case.file
    verifier = Verifier(
        fetcher=loopback_fetcher,
        resolver=default_resolver(loopback_fetcher, did_web_scheme="http"),
    )
    ours = await verifier.verify(path.read_bytes())
    reports = await asyncio.to_thread(node_verify, path, "--verifier", "all")

    expected_verifiers = {"jose"} if case.file.endswith(".jwt") else {"core", "vc"}
    assert {report["verifier"] for report in reports} == expected_verifiers, reports
    theirs = {report["verifier"]: node_verdict(report) for report in reports}
    assert theirs == dict.fromkeys(expected_verifiers, case.node_verdict or case.verdict), reports
    assert ours.verdict is case.verdict, ours.decided_by
    if case.because:
        assert ours.decided_by is not None and case.because in ours.decided_by.message
