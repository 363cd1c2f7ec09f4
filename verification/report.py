"""What a verification says: one result per check, a verdict derived from them, display data.

An employer never gets a bare true/false: each check of OB 3.0 §9.1 has a stable `id` (for
programs and the UI) and a sentence (for people), and the verdict names the first failing
check when the credential is invalid. Everything here is plain data; `to_json()` gives the
shape the HTTP layer returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the credential is at fault
    WARNING = "warning"  # worth telling, does not change the verdict
    NOT_APPLICABLE = "not_applicable"  # nothing to check, or an earlier check made it moot
    ERROR = "error"  # could not be checked (network, unsupported): cannot verify


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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
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

# Highest first: an invalid credential is invalid even if it is also expired.
_PRECEDENCE: tuple[Verdict, ...] = (
    Verdict.INVALID,
    Verdict.CANNOT_VERIFY,
    Verdict.REVOKED,
    Verdict.SUSPENDED,
    Verdict.EXPIRED,
    Verdict.NOT_YET_VALID,
)


def derive_verdict(checks: Sequence[CheckResult]) -> tuple[Verdict, CheckResult | None]:
    """The verdict and the check that decided it (None when verified).

    A failed check makes the credential invalid unless it carries a milder `outcome`
    (expired, revoked...); an error makes it unverifiable unless something failed.
    """
    decided: dict[Verdict, CheckResult] = {}
    for check in checks:
        if check.status is CheckStatus.FAILED:
            decided.setdefault(check.outcome or Verdict.INVALID, check)
        elif check.status is CheckStatus.ERROR:
            decided.setdefault(Verdict.CANNOT_VERIFY, check)
    for verdict in _PRECEDENCE:
        if verdict in decided:
            return verdict, decided[verdict]
    return Verdict.VERIFIED, None


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
            "reason": self.decided_by.message if self.decided_by else None,
            "format": self.format,
            "checks": [check.to_json() for check in self.checks],
            "display": self.display.to_json(),
            "credential": self.credential,
        }
