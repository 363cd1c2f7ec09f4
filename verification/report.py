"""What a verification says: one result per check, grouped into dimensions, and a verdict.

An employer never gets a bare true/false: each check of OB 3.0 §9.1 has a stable `id` (for
programs and the UI) and a sentence (for people), and belongs to one `Dimension` — is it
authentic, what is its status, is it within its validity period, does it conform to the
standard, was it issued to the person named, are its endorsements genuine. Each dimension
has its own answer, so a credential with a good signature but a schema problem still tells
the employer that the signature held. The overall verdict ranks the dimensions so that the
most useful truth shows first (`derive_verdict`). Everything here is plain data; `to_json()`
gives the shape the HTTP layer returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Final, Literal

from verification.model import ACHIEVEMENT_TYPES, is_open_badge, types_of


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the credential is at fault
    WARNING = "warning"  # worth telling, does not change the verdict
    NOT_APPLICABLE = "not_applicable"  # nothing to check, or an earlier check made it moot
    ERROR = "error"  # could not be checked (network, unsupported): cannot verify


class Dimension(StrEnum):
    """What a check is evidence of; every check belongs to exactly one."""

    AUTHENTICITY = "authenticity"  # readable, signed, by a key of the named issuer
    STATUS = "status"  # revoked / suspended / active, from the issuer's status list
    VALIDITY = "validity"  # validFrom / validUntil against the clock
    CONFORMANCE = "conformance"  # the data model and schema of VCDM and, for badges, OB 3.0
    RECIPIENT = "recipient"  # only when the verifier names whom it expects
    ENDORSEMENTS = "endorsements"  # third-party endorsements embedded by the issuer
    ISSUER = "issuer"  # whether a registry the verifier trusts lists the issuer
    CONTENTS = "contents"  # credentials a CLR carries, each verified on its own


class Verdict(StrEnum):
    VERIFIED = "verified"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    INVALID = "invalid"
    CANNOT_VERIFY = "cannot_verify"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome; `outcome` refines a pass/fail for the verdict (e.g. "revoked")."""

    id: str
    title: str
    status: CheckStatus
    message: str
    outcome: Verdict | None = None
    dimension: Dimension = Dimension.AUTHENTICITY

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "dimension": self.dimension.value,
            "status": self.status.value,
            "message": self.message,
        }
        if self.outcome is not None:
            data["outcome"] = self.outcome.value
        return data


@dataclass(frozen=True)
class DisplayData:
    """What an employer sees; every field is optional because foreign badges vary."""

    achievement_name: str | None = None
    achievement_description: str | None = None
    achievement_type: str | None = None
    image: str | None = None
    criteria: str | None = None
    criteria_url: str | None = None
    issuer_name: str | None = None
    issuer_id: str | None = None
    issuer_url: str | None = None
    recipient: str | None = None
    issued_on: str | None = None
    expires: str | None = None
    evidence: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    # (name, URL) of the stacks and career-lattice roles the achievement counts toward.
    stacks: tuple[tuple[str, str], ...] = ()
    lattice_roles: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "achievementName": self.achievement_name,
            "achievementDescription": self.achievement_description,
            "achievementType": self.achievement_type,
            "image": self.image,
            "criteria": self.criteria,
            "criteriaUrl": self.criteria_url,
            "issuerName": self.issuer_name,
            "issuerId": self.issuer_id,
            "issuerUrl": self.issuer_url,
            "recipient": self.recipient,
            "issuedOn": self.issued_on,
            "expires": self.expires,
            "evidence": list(self.evidence),
            "results": list(self.results),
            "stacks": [{"name": name, "url": url} for name, url in self.stacks],
            "latticeRoles": [{"name": name, "url": url} for name, url in self.lattice_roles],
        }


CredentialFormat = Literal["ldp_vc", "jwt_vc"]


def _first(
    checks: Sequence[CheckResult], dimension: Dimension, *statuses: CheckStatus
) -> CheckResult | None:
    return next((c for c in checks if c.dimension is dimension and c.status in statuses), None)


def derive_verdict(checks: Sequence[CheckResult]) -> tuple[Verdict, CheckResult | None]:
    """The verdict and the check that decided it (None when verified).

    Ranked so that the most useful truth shows first:
    1. not authentic (unreadable, tampered, signed by a key that is not the issuer's):
       invalid; authenticity that could not be established: cannot verify. Nothing else
       about a credential matters until we know who said it.
    2. revoked, suspended, expired, not yet valid: the issuer's own word on a genuine
       credential, shown even if the credential also has conformance problems.
    3. conformance, recipient or endorsement failures on an otherwise authentic, current
       credential: invalid (OB 3.0 §9.1 makes schema and data model failures fatal), with
       the reason saying the signature held.
    4. anything else that could not be checked (an unreachable status list): cannot verify.
    """
    failed, error = CheckStatus.FAILED, CheckStatus.ERROR
    authenticity = _first(checks, Dimension.AUTHENTICITY, failed)
    if authenticity is not None:
        return Verdict.INVALID, authenticity
    authenticity = _first(checks, Dimension.AUTHENTICITY, error)
    if authenticity is not None:
        return Verdict.CANNOT_VERIFY, authenticity
    for outcome in (
        Verdict.REVOKED,
        Verdict.SUSPENDED,
        Verdict.EXPIRED,
        Verdict.NOT_YET_VALID,
    ):
        hit = next((c for c in checks if c.status is failed and c.outcome is outcome), None)
        if hit is not None:
            return outcome, hit
    hit = next((c for c in checks if c.status is failed), None)
    if hit is not None:
        return Verdict.INVALID, hit
    hit = next((c for c in checks if c.status is error), None)
    if hit is not None:
        return Verdict.CANNOT_VERIFY, hit
    return Verdict.VERIFIED, None


# What each dimension's answer is called, by the worst status among its checks.
_DIMENSION_STATES: Final[dict[Dimension, dict[CheckStatus, str]]] = {
    Dimension.AUTHENTICITY: {
        CheckStatus.FAILED: "not_authentic",
        CheckStatus.ERROR: "unknown",
        CheckStatus.PASSED: "authentic",
    },
    Dimension.STATUS: {
        CheckStatus.ERROR: "unknown",
        CheckStatus.PASSED: "active",
    },
    Dimension.VALIDITY: {
        CheckStatus.FAILED: "invalid_dates",
        CheckStatus.PASSED: "current",
    },
    Dimension.CONFORMANCE: {
        CheckStatus.FAILED: "does_not_conform",
        CheckStatus.ERROR: "unknown",
        CheckStatus.PASSED: "conforms",
    },
    Dimension.RECIPIENT: {CheckStatus.FAILED: "mismatch", CheckStatus.PASSED: "matches"},
    Dimension.ENDORSEMENTS: {
        CheckStatus.FAILED: "invalid",
        CheckStatus.ERROR: "unknown",
        CheckStatus.PASSED: "verified",
    },
    Dimension.ISSUER: {CheckStatus.WARNING: "not_listed", CheckStatus.PASSED: "known"},
    Dimension.CONTENTS: {
        CheckStatus.FAILED: "invalid",
        CheckStatus.ERROR: "unknown",
        CheckStatus.PASSED: "verified",
    },
}
# Worst first: the status that speaks for a dimension.
_SEVERITY: Final = (
    CheckStatus.FAILED,
    CheckStatus.ERROR,
    CheckStatus.WARNING,
    CheckStatus.PASSED,
    CheckStatus.NOT_APPLICABLE,
)


@dataclass(frozen=True)
class DimensionResult:
    """One dimension's answer: a state word for programs, a sentence for people."""

    dimension: Dimension
    state: str
    message: str
    checks: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "state": self.state,
            "message": self.message,
            "checks": list(self.checks),
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


def summarise(dimension: Dimension, checks: Sequence[CheckResult]) -> DimensionResult:
    """The answer of one dimension from its checks (the worst one speaks)."""
    mine = [check for check in checks if check.dimension is dimension]
    warnings = tuple(c.message for c in mine if c.status is CheckStatus.WARNING)
    ids = tuple(c.id for c in mine)
    worst = min(mine, key=lambda c: _SEVERITY.index(c.status), default=None)
    if worst is None or worst.status is CheckStatus.NOT_APPLICABLE:
        message = worst.message if worst is not None else "not checked"
        return DimensionResult(dimension, "not_checked", message, ids)
    if worst.outcome is not None:
        return DimensionResult(dimension, worst.outcome.value, worst.message, ids, warnings)
    names = _DIMENSION_STATES[dimension]
    # A warning is a pass with something to tell, unless the dimension names it apart.
    status = worst.status
    if status is CheckStatus.WARNING and status not in names:
        status = CheckStatus.PASSED
    state = names.get(status, status.value)
    if status is CheckStatus.PASSED:
        passed = [c.message for c in mine if c.status is CheckStatus.PASSED]
        message = "; ".join(passed) if passed else worst.message
    else:
        message = worst.message
    return DimensionResult(dimension, state, message, ids, warnings)


def explain(
    verdict: Verdict,
    decided_by: CheckResult | None,
    checks: Sequence[CheckResult],
    credential: Mapping[str, Any] | None,
) -> str | None:
    """The reason in plain words; says the signature held when something else failed."""
    if decided_by is None:
        return None
    authentic = summarise(Dimension.AUTHENTICITY, checks).state == "authentic"
    if decided_by.dimension is Dimension.AUTHENTICITY or not authentic:
        return decided_by.message
    if decided_by.dimension is Dimension.CONFORMANCE and verdict is Verdict.INVALID:
        badge = is_open_badge(credential)
        standard = "Open Badges 3.0" if badge else "the Verifiable Credentials data model"
        return (
            f"signature valid; the credential does not conform to {standard} because "
            f"{decided_by.message}"
        )
    return f"signature valid; {decided_by.message}"


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    credential: dict[str, Any] | None
    format: CredentialFormat | None
    display: DisplayData = field(default_factory=DisplayData)
    decided_by: CheckResult | None = None

    @property
    def verified(self) -> bool:
        return self.verdict is Verdict.VERIFIED

    @property
    def is_achievement_credential(self) -> bool:
        """Whether it is an Open Badge awarding an achievement (what a backpack keeps and
        what counts toward a stack), as opposed to any other VC or an endorsement."""
        return bool(set(types_of(self.credential)) & set(ACHIEVEMENT_TYPES))

    @cached_property
    def reason(self) -> str | None:
        """Why the verdict is not "verified", in plain words (None when verified)."""
        return explain(self.verdict, self.decided_by, self.checks, self.credential)

    @cached_property
    def dimensions(self) -> dict[Dimension, DimensionResult]:
        """Each dimension's own answer, whatever the overall verdict."""
        return {dimension: summarise(dimension, self.checks) for dimension in Dimension}

    def check(self, check_id: str) -> CheckResult:
        """The result of the check named `check_id` (KeyError if it did not run)."""
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "verified": self.verified,
            "decidedBy": self.decided_by.id if self.decided_by else None,
            "reason": self.reason,
            "dimensions": {
                dimension.value: result.to_json() for dimension, result in self.dimensions.items()
            },
            "format": self.format,
            "checks": [check.to_json() for check in self.checks],
            "display": self.display.to_json(),
            "credential": self.credential,
        }
