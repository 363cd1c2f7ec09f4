"""Step 2: the data model (VCDM 2.0 / 1.1 §4; for badges, OB 3.0 §9.1 step 1 and App. B).

Conformance, not authenticity: a credential that breaks one of these rules may still carry
a valid signature by its issuer, and the report says so. Every Verifiable Credential gets
the VCDM rules the parse step did not already need (a string `id`, dates that are dates,
`issuanceDate` in VCDM 1.1); a credential typed as an Open Badge (`OpenBadgeCredential`,
its alias `AchievementCredential`, or an `EndorsementCredential`) also gets the OB 3.0
rules: an `id`, a start date, exactly one subject, and for achievement credentials a
subject identified by `id` or `identifier` with an `achievement` object. Any other VC is
checked as a VC; the Open Badges rules do not apply to it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from verification.context import CredentialKind, RunContext, result
from verification.model import (
    ACHIEVEMENT_TYPES,
    as_list,
    is_open_badge,
    parse_datetime,
    subject_of,
    types_of,
    vcdm_version,
)
from verification.report import CheckResult, CheckStatus, Dimension

_DATES: Final = ("validFrom", "validUntil", "issuanceDate", "expirationDate")


def vc_problems(credential: dict[str, Any], kind: CredentialKind) -> list[str]:
    """VCDM rules every credential must follow beyond being readable."""
    problems: list[str] = []
    if "id" in credential and not isinstance(credential["id"], str):
        problems.append('"id" must be a URI string')
    for name in _DATES:
        value = credential.get(name)
        if value is not None and parse_datetime(value) is None:
            problems.append(f'"{name}" must be a date and time, not {_shown(value)}')
    # VCDM 1.1 §4.6 requires issuanceDate; a status list is read for its bits only.
    if (
        vcdm_version(credential) == "1.1"
        and kind != "status_list"
        and credential.get("issuanceDate") is None
    ):
        problems.append('"issuanceDate" is required by VCDM 1.1')
    return problems


def open_badge_problems(credential: dict[str, Any]) -> list[str]:
    """OB 3.0 rules (App. B) for a credential typed as an Open Badge."""
    problems: list[str] = []
    if not isinstance(credential.get("id"), str):
        problems.append('an Open Badge must have an "id" (a URI string)')
    start = "issuanceDate" if vcdm_version(credential) == "1.1" else "validFrom"
    if credential.get(start) is None:
        problems.append(f'an Open Badge must have "{start}"')
    subject = subject_of(credential)
    if subject is None:
        count = len(as_list(credential.get("credentialSubject")))
        problems.append(f'an Open Badge has exactly one "credentialSubject", not {count}')
    elif set(types_of(credential)) & set(ACHIEVEMENT_TYPES):
        if "id" not in subject and not as_list(subject.get("identifier")):
            problems.append('"credentialSubject" must have an "id" or at least one "identifier"')
        if not isinstance(subject.get("achievement"), dict):
            problems.append('"credentialSubject.achievement" must be an object')
    return problems


def _shown(value: Any) -> str:
    """A value quoted in a public report: a date string is not personal data, others are
    described by their type only."""
    return repr(value) if isinstance(value, str) and len(value) <= 40 else type(value).__name__


class DataModelStep:
    id: ClassVar[str] = "data_model"
    title: ClassVar[str] = "Data model"
    dimension: ClassVar[Dimension] = Dimension.CONFORMANCE

    async def run(self, ctx: RunContext) -> CheckResult:
        credential = ctx.credential
        if credential is None:
            return result(self, CheckStatus.NOT_APPLICABLE, "no credential")
        version = vcdm_version(credential)
        problems = vc_problems(credential, ctx.kind)
        badge = is_open_badge(credential)
        if badge:
            problems += open_badge_problems(credential)
        if problems:
            return result(self, CheckStatus.FAILED, "; ".join(problems))
        if badge:
            return result(
                self, CheckStatus.PASSED, f"follows the VCDM {version} and Open Badges 3.0 rules"
            )
        return result(
            self,
            CheckStatus.PASSED,
            f"follows the VCDM {version} rules; not an Open Badge, so the Open Badges 3.0 "
            "rules do not apply",
        )
