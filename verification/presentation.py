"""Verifiable presentations: what a holder hands over, optionally signed to prove it is theirs.

A presentation (VCDM 2.0 §4.13) wraps credentials. Signed, it also shows that the holder
controls a key: a `DataIntegrityProof` (`eddsa-rdfc-2022`) with proof purpose
`authentication`, bound to one verifier's request by the `challenge` and `domain` the
verifier asked for (VC Data Integrity §2.1, §4.5). Unsigned, only the credentials inside
are verified. The checks, each reported like a credential's:

1. `presentation`: the data model (context, type, `holder`, `verifiableCredential` as
   objects, VC-JWTs or `EnvelopedVerifiableCredential`s).
2. `presentation_proof`: some proof verifies with a key the resolver finds for
   `authentication`, with the caller's challenge and domain.
3. `holder_binding`: that key is controlled by the `holder`.
4. `credentials`: every credential, through the same pipeline as `POST /v1/verify`.

As elsewhere in `verification`, a presentation that fails is a returned report; only input
that is not a presentation at all raises `InputError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys.data_integrity import PROOF_TYPE, verify_document
from keys.resolution import (
    KeyResolutionError,
    KeyResolver,
)
from verification.context import ProofOutcome
from verification.inputs import InputError, InputLimits, check_credential_object
from verification.model import VC1_CONTEXT, VC2_CONTEXT, as_list, id_of, parse_datetime, types_of
from verification.pipeline import Verifier
from verification.report import CheckResult, CheckStatus, VerificationReport

AUTHENTICATION: Final = "authentication"
CRYPTOSUITE: Final = "eddsa-rdfc-2022"
ENVELOPED_TYPE: Final = "EnvelopedVerifiableCredential"
# Media types of a VC-JWT in a data: URL (VC-JOSE-COSE; the older name still circulates).
_JWT_MEDIA_TYPES: Final = frozenset(
    {"application/vc+jwt", "application/vc-ld+jwt", "application/jwt"}
)
_TITLES: Final = {
    "presentation": "Presentation format and data model",
    "presentation_proof": "Holder's signature",
    "holder_binding": "Key belongs to the holder",
    "credentials": "Credentials in the presentation",
}


@dataclass(frozen=True)
class PresentationOptions:
    """What the verifier asked the holder to sign (VC-API `VerifyPresentationOptions`)."""

    challenge: str | None = None
    domain: str | None = None


@dataclass(frozen=True)
class ContainedCredential:
    """One entry of `verifiableCredential`: its report, or why it could not be read."""

    index: int
    report: VerificationReport | None = None
    problem: str | None = None

    @property
    def verified(self) -> bool:
        return self.report is not None and self.report.verified


@dataclass(frozen=True)
class PresentationReport:
    checks: tuple[CheckResult, ...]
    credentials: tuple[ContainedCredential, ...]

    @property
    def verified(self) -> bool:
        return not any(c.status in (CheckStatus.FAILED, CheckStatus.ERROR) for c in self.checks)

    def check(self, check_id: str) -> CheckResult:
        """The result of the check named `check_id` (KeyError if absent)."""
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)


def _result(check_id: str, status: CheckStatus, message: str) -> CheckResult:
    return CheckResult(check_id, _TITLES[check_id], status, message)


def enveloped_jwt(value: Mapping[str, Any]) -> str | None:
    """The VC-JWT inside an `EnvelopedVerifiableCredential` (`data:application/vc+jwt,…`).

    None if `value` is not an enveloped credential; InputError if it is one we cannot open.
    """
    if ENVELOPED_TYPE not in types_of(value):
        return None
    data_url = value.get("id")
    if not isinstance(data_url, str) or not data_url.startswith("data:") or "," not in data_url:
        raise InputError(f'an {ENVELOPED_TYPE} needs a "data:" URL as its "id"')
    header, _, payload = data_url.removeprefix("data:").partition(",")
    media_type, *parameters = header.split(";")
    if media_type.strip().lower() not in _JWT_MEDIA_TYPES or "base64" in parameters:
        raise InputError(
            f"enveloped credentials of type {header!r} are not supported (only application/vc+jwt)"
        )
    return payload.strip()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PresentationVerifier:
    """Verifies presentations with a credential `Verifier` and a holder-key `resolver`."""

    def __init__(
        self,
        verifier: Verifier,
        resolver: KeyResolver,
        *,
        clock: Callable[[], datetime] = _utc_now,
        limits: InputLimits = InputLimits(),
        max_credentials: int = 50,
        concurrency: int = 8,
    ) -> None:
        self._verifier = verifier
        self._resolver = resolver
        self._clock = clock
        self._limits = limits
        self.max_credentials = max_credentials
        self._concurrency = concurrency

    async def verify(
        self, presentation: Any, options: PresentationOptions = PresentationOptions()
    ) -> PresentationReport:
        """Verify a presentation; InputError if it is not a JSON object or holds too much."""
        if not isinstance(presentation, dict):
            kind = type(presentation).__name__
            raise InputError(f"a presentation must be a JSON object, not {kind}")
        document = check_credential_object(presentation, self._limits)
        entries = as_list(document.get("verifiableCredential"))
        if len(entries) > self.max_credentials:
            raise InputError(
                f"a presentation may hold at most {self.max_credentials} credentials, "
                f"not {len(entries)}"
            )
        holder = id_of(document.get("holder"))
        shape = _data_model(document, entries)
        proof, key_controller = await self._proof(document, options)
        binding = _holder_binding(holder, key_controller, proof)
        contained = await self._credentials(entries)
        return PresentationReport(
            (shape, proof, binding, _credentials_result(contained)), contained
        )

    async def _proof(
        self, document: dict[str, Any], options: PresentationOptions
    ) -> tuple[CheckResult, str | None]:
        """The proof check and the controller of the key that verified (None if none did)."""
        proofs = as_list(document.get("proof"))
        if not proofs:
            if options.challenge is not None:
                message = "a challenge was given, but the presentation is not signed"
                return _result("presentation_proof", CheckStatus.FAILED, message), None
            message = "not signed: only the credentials inside are verified"
            return _result("presentation_proof", CheckStatus.NOT_APPLICABLE, message), None
        outcomes = [await self._one_proof(document, proof, options) for proof in proofs]
        for outcome in outcomes:
            if outcome.key is None:
                continue
            if options.challenge is None:
                # Verified, but nothing ties it to this request: it may be a replay.
                note = "; no challenge was asked for, so it may be replayed"
                status = CheckStatus.WARNING
            else:
                note, status = "", CheckStatus.PASSED
            check = _result("presentation_proof", status, outcome.message + note)
            return check, outcome.key.controller
        messages = "; ".join(outcome.message for outcome in outcomes)
        status = CheckStatus.ERROR if all(o.error for o in outcomes) else CheckStatus.FAILED
        return _result("presentation_proof", status, messages), None

    async def _one_proof(
        self, document: dict[str, Any], proof: Any, options: PresentationOptions
    ) -> ProofOutcome:
        suite = _suite(proof)
        if suite not in (None, CRYPTOSUITE):
            # As for credentials: a proof we cannot check makes "cannot verify", not "invalid".
            message = f"{suite} proofs are not supported on presentations (only {CRYPTOSUITE})"
            return ProofOutcome(None, message, error=True)
        problem = _proof_options_problem(proof, options, self._clock())
        if problem is not None:
            return ProofOutcome(None, problem)
        method = proof["verificationMethod"]
        try:
            key = await self._resolver.resolve(method, purpose=AUTHENTICATION)
        except KeyResolutionError as error:
            return ProofOutcome(None, f"key {method}: {error}", error=error.unreachable)
        if key is None:
            return ProofOutcome(None, f"key {method}: this kind of key reference is not supported")
        if not isinstance(key.public_key, Ed25519PublicKey):
            return ProofOutcome(None, f"{CRYPTOSUITE} needs an Ed25519 key; {key.id} is not one")
        checked = await asyncio.to_thread(
            verify_document,
            document,
            key.public_key,
            proof,
            expected_proof_purpose=AUTHENTICATION,
        )
        if not checked.verified:
            return ProofOutcome(None, f"{CRYPTOSUITE} proof by {key.id}: {checked.reason}")
        return ProofOutcome(key, f"{CRYPTOSUITE} proof by {key.id} verifies")

    async def _credentials(self, entries: Sequence[Any]) -> tuple[ContainedCredential, ...]:
        bound = asyncio.Semaphore(self._concurrency)

        async def one(index: int, entry: Any) -> ContainedCredential:
            async with bound:
                try:
                    if isinstance(entry, Mapping):
                        jwt = enveloped_jwt(entry)
                        report = await self._verifier.verify(jwt if jwt is not None else entry)
                    elif isinstance(entry, str):
                        report = await self._verifier.verify(entry)
                    else:
                        raise InputError(
                            f"must be a credential object or a VC-JWT, not {type(entry).__name__}"
                        )
                except InputError as error:
                    return ContainedCredential(index, problem=str(error))
                return ContainedCredential(index, report=report)

        return tuple(await asyncio.gather(*(one(i, e) for i, e in enumerate(entries))))


def _data_model(document: Mapping[str, Any], entries: Sequence[Any]) -> CheckResult:
    problems = []
    contexts = as_list(document.get("@context"))
    if not contexts or contexts[0] not in (VC2_CONTEXT, VC1_CONTEXT):
        problems.append(f'"@context" must start with {VC2_CONTEXT} (or {VC1_CONTEXT})')
    if "VerifiablePresentation" not in types_of(document):
        problems.append('"type" must include "VerifiablePresentation"')
    if "holder" in document and id_of(document["holder"]) is None:
        problems.append('"holder" must be a URI or an object with an "id"')
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping | str):
            problems.append(f'"verifiableCredential[{index}]" must be an object or a VC-JWT')
    if problems:
        return _result("presentation", CheckStatus.FAILED, "; ".join(problems))
    message = f"a VerifiablePresentation holding {len(entries)} credential(s)"
    return _result("presentation", CheckStatus.PASSED, message)


def _suite(proof: Any) -> str | None:
    """The cryptosuite (or older proof type) a proof names, None if it names none."""
    if not isinstance(proof, Mapping):
        return None
    named = proof.get("cryptosuite") or proof.get("type")
    return str(named) if named is not None else None


def _proof_options_problem(proof: Any, options: PresentationOptions, now: datetime) -> str | None:
    """Why this proof cannot be the holder's answer to this request, before any crypto."""
    if not isinstance(proof, Mapping):
        return '"proof" entries must be objects'
    if proof.get("type") != PROOF_TYPE:
        return f'"type" of the proof must be "{PROOF_TYPE}", not {proof.get("type")!r}'
    if proof.get("proofPurpose") != AUTHENTICATION:
        return f'"proofPurpose" must be "{AUTHENTICATION}", not {proof.get("proofPurpose")!r}'
    if not isinstance(proof.get("verificationMethod"), str):
        return '"verificationMethod" of the proof must be a string'
    if options.challenge is not None and proof.get("challenge") != options.challenge:
        return f'"challenge" {proof.get("challenge")!r} is not the one asked for'
    if options.domain is not None and options.domain not in as_list(proof.get("domain")):
        return f'"domain" {proof.get("domain")!r} does not include {options.domain!r}'
    if "expires" in proof:
        expires = parse_datetime(proof["expires"])
        if expires is None:
            return f'"expires" {proof["expires"]!r} is not a date and time'
        if expires <= now:
            return f"the proof expired at {proof['expires']}"
    return None


def _holder_binding(holder: str | None, controller: str | None, proof: CheckResult) -> CheckResult:
    if controller is None:
        why = "unsigned" if proof.status is CheckStatus.NOT_APPLICABLE else "no verified signature"
        return _result("holder_binding", CheckStatus.NOT_APPLICABLE, f"{why}: nothing to bind")
    if holder is None:
        return _result(
            "holder_binding",
            CheckStatus.WARNING,
            f"the presentation names no holder; it was signed by {controller}",
        )
    if controller != holder:
        return _result(
            "holder_binding",
            CheckStatus.FAILED,
            f"signed with a key controlled by {controller}, not by the holder {holder}",
        )
    return _result("holder_binding", CheckStatus.PASSED, f"signed by the holder {holder}")


def _credentials_result(contained: Sequence[ContainedCredential]) -> CheckResult:
    if not contained:
        return _result("credentials", CheckStatus.NOT_APPLICABLE, "the presentation holds none")
    bad = [_describe(entry) for entry in contained if not entry.verified]
    if not bad:
        return _result("credentials", CheckStatus.PASSED, f"all {len(contained)} verified")
    message = f"{len(bad)} of {len(contained)} not verified: " + "; ".join(bad)
    return _result("credentials", CheckStatus.FAILED, message)


def _describe(entry: ContainedCredential) -> str:
    if entry.report is None:
        return f"[{entry.index}] cannot be read: {entry.problem}"
    report = entry.report
    reason = f" ({report.reason})" if report.reason is not None else ""
    return f"[{entry.index}] {report.verdict.value}{reason}"
