"""Credential status (OB 3.0 §9.1 step 4): is the credential revoked or suspended?

`StatusChecker` is the injection point: the service may answer its own credentials from its
database; `BitstringStatusListChecker` is what a third party does (W3C Bitstring Status
List §3.2): fetch the `statusListCredential` through the safe fetcher (JSON with an embedded
proof, or a VC-JWT as some issuers publish it), verify it with the same proof and binding
checks as any credential (`verify_list`, supplied by the pipeline), require the same issuer
as the credential, decode `encodedList` (multibase base64url of a GZIP bitstring, inflated
with a size limit) and read the bit, index 0 being the left-most bit of the first byte. A
list that cannot be fetched or verified is an error (the verdict becomes "cannot verify"),
never "revoked".
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

from verification.fetch import Fetcher, FetchError
from verification.inputs import InputError, InputLimits, Presented, read_presented
from verification.model import issuer_id, subject_of, types_of
from verification.report import Verdict, VerificationReport

ENTRY_TYPES: Final = ("BitstringStatusListEntry", "StatusList2021Entry")
LIST_TYPES: Final = ("BitstringStatusList", "StatusList2021")
LIST_ACCEPT: Final = (
    "application/vc+ld+json, application/vc, application/vc+jwt, application/jwt, "
    "application/json;q=0.9"
)


class StatusOutcome(StrEnum):
    OK = "ok"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    ERROR = "error"  # could not be determined
    UNSUPPORTED = "unsupported"  # a status type this checker does not read


@dataclass(frozen=True)
class StatusResult:
    outcome: StatusOutcome
    message: str


# Verifies a fetched status list credential (JSON or VC-JWT) as the pipeline does any other.
ListVerifier = Callable[[Presented], Awaitable[VerificationReport]]


class StatusChecker(Protocol):
    async def check(
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        issuer_id: str | None,
        verify_list: ListVerifier,
    ) -> list[StatusResult]:
        """The status each `credentialStatus` entry gives the credential, in order.

        All of a credential's entries at once, so a checker can answer them together (the
        service reads its own lists' bits in one query).
        """
        ...


def _index(entry: Mapping[str, Any]) -> int | None:
    value = entry.get("statusListIndex")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def decode_bitstring(encoded: Any, max_bytes: int) -> bytes:
    """The raw bitstring of `encodedList`; ValueError if malformed or too large."""
    if not isinstance(encoded, str) or not encoded:
        raise ValueError('"encodedList" must be a non-empty string')
    # Bitstring Status List: multibase "u" + base64url; StatusList2021: base64url alone.
    text = encoded[1:] if encoded.startswith("u") else encoded
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError('"encodedList" is not base64url') from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as error:
        raise ValueError(f'"encodedList" is not GZIP data: {error}') from None
    if len(raw) > max_bytes:
        raise ValueError(f"the status list inflates past {max_bytes} bytes; refused")
    return raw


def bit_is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] >> (7 - index % 8) & 1)


class BitstringStatusListChecker:
    """Reads `BitstringStatusListEntry` (and legacy `StatusList2021Entry`) via the fetcher."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        max_list_bytes: int = 2 * 1024 * 1024,
        require_same_issuer: bool = True,
        limits: InputLimits = InputLimits(),
    ) -> None:
        self._fetcher = fetcher
        self._max_list_bytes = max_list_bytes
        self._require_same_issuer = require_same_issuer
        self._limits = limits

    async def check(
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        issuer_id: str | None,
        verify_list: ListVerifier,
    ) -> list[StatusResult]:
        return [await self._check_one(entry, issuer_id, verify_list) for entry in entries]

    async def _check_one(
        self, entry: Mapping[str, Any], issuer_id: str | None, verify_list: ListVerifier
    ) -> StatusResult:
        kind = entry.get("type")
        if kind not in ENTRY_TYPES:
            return StatusResult(StatusOutcome.UNSUPPORTED, f"status type {kind!r} is not read")
        purpose, index = entry.get("statusPurpose"), _index(entry)
        url = entry.get("statusListCredential")
        if not isinstance(purpose, str) or index is None or not isinstance(url, str):
            return StatusResult(
                StatusOutcome.ERROR,
                f"{kind} needs a string statusPurpose, a non-negative statusListIndex "
                "and a statusListCredential URL",
            )
        try:
            presented = await self._fetch_list(url)
        except (FetchError, InputError) as error:
            return StatusResult(StatusOutcome.ERROR, f"status list unavailable: {error}")
        report = await verify_list(presented)
        problem = self._list_problem(report, url, purpose, issuer_id)
        if problem is not None:
            return StatusResult(StatusOutcome.ERROR, problem)
        subject = subject_of(report.credential or {}) or {}
        try:
            bits = decode_bitstring(subject.get("encodedList"), self._max_list_bytes)
        except ValueError as error:
            return StatusResult(StatusOutcome.ERROR, f"status list {url}: {error}")
        if index >= len(bits) * 8:
            return StatusResult(
                StatusOutcome.ERROR, f"statusListIndex {index} is past the end of {url}"
            )
        if not bit_is_set(bits, index):
            return StatusResult(StatusOutcome.OK, f"not {_past(purpose)} ({url}, index {index})")
        if purpose == "revocation":
            return StatusResult(StatusOutcome.REVOKED, f"revoked by its issuer ({url})")
        if purpose == "suspension":
            return StatusResult(StatusOutcome.SUSPENDED, f"suspended by its issuer ({url})")
        return StatusResult(StatusOutcome.OK, f'"{purpose}" status bit is set (informational)')

    async def _fetch_list(self, url: str) -> Presented:
        """The list credential at `url`: JSON with an embedded proof, or a VC-JWT."""
        fetched = await self._fetcher.fetch(url, accept=LIST_ACCEPT)
        presented = read_presented(fetched.body, self._limits)
        if presented.container not in ("json", "jwt"):
            raise InputError(f"{url} returned a baked image, not a status list credential")
        return presented

    def _list_problem(
        self, report: VerificationReport, url: str, purpose: str, expected_issuer: str | None
    ) -> str | None:
        if report.verdict is not Verdict.VERIFIED:
            reason = report.decided_by.message if report.decided_by else report.verdict.value
            return f"status list {url} does not verify ({report.verdict.value}): {reason}"
        listed = report.credential or {}
        if self._require_same_issuer and issuer_id(listed) != expected_issuer:
            return (
                f"status list {url} is issued by {issuer_id(listed)}, not the credential's issuer"
            )
        subject = subject_of(listed)
        if subject is None or not set(types_of(subject)) & set(LIST_TYPES):
            return f"status list {url} has no BitstringStatusList subject"
        list_purposes = subject.get("statusPurpose")
        allowed = list_purposes if isinstance(list_purposes, list) else [list_purposes]
        if purpose not in allowed:
            return f'status list {url} is for {list_purposes!r}, not "{purpose}"'
        return None


def _past(purpose: str) -> str:
    return {"revocation": "revoked", "suspension": "suspended"}.get(purpose, f"flagged ({purpose})")
