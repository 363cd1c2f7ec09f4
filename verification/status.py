"""Credential status (OB 3.0 §9.1 step 4): is the credential revoked or suspended?

`StatusChecker` is the injection point: the service may answer its own credentials from its
database; `BitstringStatusListChecker` is what a third party does, following the validate
algorithm of W3C Bitstring Status List v1.0 §3.2:

- fetch the `statusListCredential` through the safe fetcher (JSON with an embedded proof,
  or a VC-JWT as some issuers publish it) and verify it with the same proof, binding and
  validity checks as any credential (`verify_list`, supplied by the pipeline): a list that
  cannot be fetched (STATUS_RETRIEVAL_ERROR), does not verify (STATUS_VERIFICATION_ERROR)
  or is outside its own validity window cannot establish the status;
- the entry's `statusPurpose` must be one of the list's (STATUS_VERIFICATION_ERROR);
- decode `encodedList` (multibase base64url of a GZIP bitstring, inflated with a size
  limit); a list of fewer than 131,072 entries of `statusSize` bits is refused
  (STATUS_LIST_LENGTH_ERROR), and so is an index past its end (RANGE_ERROR);
- read the `statusSize` bits at `statusListIndex` times `statusSize`, index 0 being the left-most
  bit of the first byte.

Every such failure is an error (the verdict becomes "cannot verify"), never "revoked". A
list signed by another issuer than the credential's is read all the same, with a warning:
no specification requires the same issuer, and hosted status services sign with their own
keys. The entry and bit rules are shared with the service's own-list reader
(`verification.local.OwnStatusLists`), so both answer the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

from formats.bitstring import (
    bit_is_set,
    decode_bitstring,
)
from net.lru import LruCache
from verification.fetch import Fetcher, FetchError
from verification.inputs import InputError, InputLimits, Presented, read_presented
from verification.model import issuer_id, subject_of, types_of, valid_from, valid_until
from verification.report import Verdict, VerificationReport

ENTRY_TYPES: Final = ("BitstringStatusListEntry", "StatusList2021Entry")
LIST_TYPES: Final = ("BitstringStatusList", "StatusList2021")
LIST_ACCEPT: Final = (
    "application/vc+ld+json, application/vc, application/vc+jwt, application/jwt, "
    "application/json;q=0.9"
)
# §3.2 step 2: "Let minimumNumberOfEntries be 131,072 unless a different lower bound is
# established by a specific ecosystem specification" (none is, for Open Badges).
MIN_ENTRIES: Final = 131_072
# statusSize > 1 needs 2^statusSize status messages: past this no credential can carry them.
MAX_STATUS_SIZE: Final = 16
# Verified list credentials remembered per checker (16 KB of bits and a subject each).
REMEMBERED_LISTS: Final = 256
# A set status of these purposes changes the verdict; any other purpose ("message",
# "refresh", ...) is information about the credential, reported and never a revocation.
_DECISIVE: Final = {"revocation": "revoked", "suspension": "suspended"}


class StatusOutcome(StrEnum):
    OK = "ok"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    ERROR = "error"  # could not be determined
    UNSUPPORTED = "unsupported"  # a status type this checker does not read


@dataclass(frozen=True)
class StatusResult:
    """What one status entry says; `warning` is worth telling but does not change it."""

    outcome: StatusOutcome
    message: str
    warning: str | None = None


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


@dataclass(frozen=True)
class ListEntry:
    """A well-formed `BitstringStatusListEntry`: where its status is, and how to read it."""

    url: str
    purpose: str
    index: int
    size: int = 1
    messages: Mapping[int, str] = field(default_factory=dict)  # status value -> message

    @property
    def first_bit(self) -> int:
        """§3.2 step 10: the status is at "credentialIndex multiplied by the size"."""
        return self.index * self.size


def status_error(message: str) -> StatusResult:
    return StatusResult(StatusOutcome.ERROR, message)


def _index(value: Any) -> int | None:
    # "an arbitrary size integer greater than or equal to 0, expressed as a string in base
    # 10"; a JSON number is read too (the 1EdTech validator's fixtures use one).
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _status_size(entry: Mapping[str, Any]) -> int | str:
    """`statusSize`: "If present, statusSize MUST be an integer greater than zero"; absent
    it "MUST be processed as 1"."""
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        return f'"statusSize" must be a whole number greater than zero, not {size!r}'
    if size > MAX_STATUS_SIZE:
        return f'"statusSize" {size} is larger than this verifier reads ({MAX_STATUS_SIZE})'
    return size


def _status_messages(entry: Mapping[str, Any], size: int) -> dict[int, str] | str:
    """`statusMessage`: "MAY be present if statusSize is 1, and MUST be present if statusSize
    is greater than 1"; its length "MUST equal the number of possible status messages
    indicated by statusSize", each element holding a hexadecimal "status" and a "message"."""
    listed = entry.get("statusMessage")
    possible = 1 << size
    if listed is None:
        return {} if size == 1 else f'"statusSize" is {size} but there is no "statusMessage"'
    if not isinstance(listed, list) or len(listed) != possible:
        return f'"statusMessage" must list {possible} messages, one per value of {size} bit(s)'
    messages: dict[int, str] = {}
    for item in listed:
        status = item.get("status") if isinstance(item, dict) else None
        message = item.get("message") if isinstance(item, dict) else None
        value = _hex(status)
        if value is None or value >= possible or value in messages or not isinstance(message, str):
            return (
                '"statusMessage" entries need a distinct hexadecimal "status" (such as "0x1") '
                f'below {possible:#x} and a "message"; {item!r} is not one'
            )
        messages[value] = message
    return messages


def _hex(value: Any) -> int | None:
    """A status value as `statusMessage` writes it: a hexadecimal string such as "0x2"."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return None
    return number if number >= 0 else None


def parse_entry(entry: Mapping[str, Any]) -> ListEntry | str:
    """The entry's status location and reading rules, or why it is malformed."""
    purpose, index = entry.get("statusPurpose"), _index(entry.get("statusListIndex"))
    url = entry.get("statusListCredential")
    if not isinstance(purpose, str) or index is None or not isinstance(url, str):
        return (
            f"{entry.get('type')} needs a string statusPurpose, a non-negative "
            "statusListIndex and a statusListCredential URL"
        )
    size = _status_size(entry)
    if isinstance(size, str):
        return size
    messages = _status_messages(entry, size)
    if isinstance(messages, str):
        return messages
    return ListEntry(url, purpose, index, size, messages)


def read_status(bitstring: bytes, first_bit: int, size: int) -> int:
    """The `size`-bit value starting at `first_bit`, its left-most bit the most significant."""
    value = 0
    for position in range(first_bit, first_bit + size):
        value = value << 1 | bit_is_set(bitstring, position)
    return value


def purpose_problem(url: str, list_purposes: Any, purpose: str) -> str | None:
    """§3.2 step 5: the entry's purpose must equal "a statusPurpose value in the
    statusListCredential" (one string, or several in an array)."""
    allowed = list_purposes if isinstance(list_purposes, list) else [list_purposes]
    if purpose in allowed:
        return None
    named = [p for p in allowed if isinstance(p, str)]
    stated = " or ".join(f'"{p}"' for p in named) if named else "no purpose at all"
    return f'status list {url} is for {stated}, not for "{purpose}"'


def length_problem(url: str, bit_count: int, entry: ListEntry) -> str | None:
    """§3.2 step 9: "If the length of bitstring divided by statusSize is less than
    minimumNumberOfEntries, raise a STATUS_LIST_LENGTH_ERROR". A short list could single a
    credential out (the minimum is what gives its holders herd privacy)."""
    entries = bit_count // entry.size
    if entries >= MIN_ENTRIES:
        return None
    return (
        f"status list {url} is too short: it holds {entries:,} entries, and a Bitstring "
        f"Status List must hold at least {MIN_ENTRIES:,}; the credential's status cannot "
        "be established from it"
    )


def range_problem(url: str, bit_count: int, entry: ListEntry) -> str | None:
    """§3.2 step 10: an index outside the bitstring is a RANGE_ERROR."""
    if entry.first_bit + entry.size <= bit_count:
        return None
    return (
        f"statusListIndex {entry.index} is past the end of {url} "
        f"({bit_count // entry.size:,} entries)"
    )


def status_outcome(entry: ListEntry, value: int) -> StatusResult:
    """What the status value read for `entry` means (§3.2 steps 11-13)."""
    where = f"{entry.url}, index {entry.index}"
    note = entry.messages.get(value)
    said = f': "{note}"' if note else ""
    past = _DECISIVE.get(entry.purpose)
    if past is None:
        return StatusResult(
            StatusOutcome.OK,
            f'"{entry.purpose}" status is {value:#x}{said} ({where}; informational)',
        )
    if value == 0:
        return StatusResult(StatusOutcome.OK, f"not {past} ({where})")
    # A multi-bit revocation or suspension status: any value but 0x0 is set.
    outcome = StatusOutcome.REVOKED if entry.purpose == "revocation" else StatusOutcome.SUSPENDED
    return StatusResult(outcome, f"{past} by its issuer{said} ({where})")


def issuer_warning(url: str, signer: str | None, issuer: str | None) -> str | None:
    """A list signed by someone else is still read; the reader is told whose word it is."""
    if signer == issuer:
        return None
    return f"status list {url} is signed by {signer}, not by the credential's issuer {issuer}"


@dataclass(frozen=True)
class _ReadList:
    """A fetched list credential as verified: why it cannot be read, or its subject, its
    signer and its bits (decoded once)."""

    problem: str | None
    subject: Mapping[str, Any] = field(default_factory=dict)
    signer: str | None = None
    bits: bytes | str = b""  # str: why `encodedList` cannot be decoded
    read_at: float = 0.0


class BitstringStatusListChecker:
    """Reads `BitstringStatusListEntry` (and legacy `StatusList2021Entry`) via the fetcher.

    A list credential, once verified and decoded, is remembered by the digest of its bytes
    for `reuse_for` (60 s, a Lattice list's own `max-age`): the many credentials of one list
    (a sweep re-reading thousands) verify its proof once, and a republished list has other
    bytes, so it is verified again at once. The bound keeps a verdict that depends on the
    clock (the list's validity window) from outliving it by more than that.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        max_list_bytes: int = 2 * 1024 * 1024,
        limits: InputLimits = InputLimits(),
        reuse_for: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._max_list_bytes = max_list_bytes
        self._limits = limits
        self._reuse_for = reuse_for
        self._clock = clock
        self._lists: LruCache[str, _ReadList] = LruCache(REMEMBERED_LISTS)

    async def check(
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        issuer_id: str | None,
        verify_list: ListVerifier,
    ) -> list[StatusResult]:
        return [await self._check_one(entry, issuer_id, verify_list) for entry in entries]

    async def _check_one(
        self, raw: Mapping[str, Any], issuer: str | None, verify_list: ListVerifier
    ) -> StatusResult:
        kind = raw.get("type")
        if kind not in ENTRY_TYPES:
            return StatusResult(StatusOutcome.UNSUPPORTED, f"status type {kind!r} is not read")
        entry = parse_entry(raw)
        if isinstance(entry, str):
            return status_error(entry)
        try:
            fetched = await self._fetcher.fetch(entry.url, accept=LIST_ACCEPT)
        except FetchError as unavailable:
            return status_error(f"status list unavailable: {unavailable}")
        listed = await self._read_list(entry, fetched.body, verify_list)
        if listed.problem is not None:
            return status_error(listed.problem)
        problem = _subject_problem(listed.subject, entry)
        if problem is not None:
            return status_error(problem)
        result = self._read(listed.bits, entry)
        warning = issuer_warning(entry.url, listed.signer, issuer)
        return dataclasses.replace(result, warning=warning) if warning else result

    async def _read_list(
        self, entry: ListEntry, body: bytes, verify_list: ListVerifier
    ) -> _ReadList:
        key = f"{entry.url} {hashlib.sha256(body).hexdigest()}"
        now = self._clock()
        known = self._lists.get(key)
        if known is not None and now - known.read_at < self._reuse_for:
            return known
        listed = await self._verified(entry.url, body, verify_list)
        self._lists.put(key, dataclasses.replace(listed, read_at=now))
        return listed

    async def _verified(self, url: str, body: bytes, verify_list: ListVerifier) -> _ReadList:
        """The list credential in `body`: JSON with an embedded proof, or a VC-JWT."""
        try:
            presented = read_presented(body, self._limits)
        except InputError as unreadable:
            return _ReadList(f"status list unavailable: {unreadable}")
        if presented.container not in ("json", "jwt"):
            return _ReadList(
                f"status list unavailable: {url} returned a baked image, not a status list "
                "credential"
            )
        report = await verify_list(presented)
        listed = report.credential or {}
        problem = _verification_problem(report, url)
        if problem is not None:
            return _ReadList(problem)
        subject = subject_of(listed) or {}
        try:
            bits: bytes | str = decode_bitstring(subject.get("encodedList"), self._max_list_bytes)
        except ValueError as malformed:
            bits = f"status list {url}: {malformed}"
        return _ReadList(None, subject, issuer_id(listed), bits)

    def _read(self, bits: bytes | str, entry: ListEntry) -> StatusResult:
        if isinstance(bits, str):
            return status_error(bits)
        bit_count = len(bits) * 8
        problem = length_problem(entry.url, bit_count, entry) or range_problem(
            entry.url, bit_count, entry
        )
        if problem is not None:
            return status_error(problem)
        return status_outcome(entry, read_status(bits, entry.first_bit, entry.size))


def _verification_problem(report: VerificationReport, url: str) -> str | None:
    """§3.2 step 4: "ensure that all proofs verify successfully"; and a list is only the
    issuer's word while it is valid (its validFrom/validUntil, against the verifier's clock)."""
    listed = report.credential or {}
    if report.verdict is Verdict.EXPIRED:
        _, end = valid_until(listed)
        return (
            f"status list {url} expired on {end}, so the credential's status cannot be established"
        )
    if report.verdict is Verdict.NOT_YET_VALID:
        _, start = valid_from(listed)
        return (
            f"status list {url} is not valid until {start}, so the credential's status "
            "cannot be established"
        )
    if report.verdict is not Verdict.VERIFIED:
        reason = report.decided_by.message if report.decided_by else report.verdict.value
        return f"status list {url} does not verify ({report.verdict.value}): {reason}"
    return None


def _subject_problem(subject: Mapping[str, Any], entry: ListEntry) -> str | None:
    if not set(types_of(subject)) & set(LIST_TYPES):
        return f"status list {entry.url} has no BitstringStatusList subject"
    return purpose_problem(entry.url, subject.get("statusPurpose"), entry.purpose)
