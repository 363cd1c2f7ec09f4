"""Step 7: credential status (OB 3.0 §9.1 step 4) through the injected `StatusChecker`.

Skipped when the signature did not verify (as the digitalbazaar verifier does: a forged
credential's status list says nothing). Each `credentialStatus` entry is checked; the
status list credential itself is verified by the same pipeline, one level deeper. A list
that the checker read but had something to tell about (signed by another issuer than the
credential's) makes a passing check a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from verification.context import RunContext, Services, result
from verification.inputs import Presented
from verification.model import as_list, issuer_id
from verification.report import (
    CheckResult,
    CheckStatus,
    Dimension,
    Verdict,
    VerificationReport,
)
from verification.status import StatusOutcome, StatusResult


class StatusStep:
    id: ClassVar[str] = "status"
    title: ClassVar[str] = "Revocation and suspension"
    dimension: ClassVar[Dimension] = Dimension.STATUS

    async def run(self, ctx: RunContext) -> CheckResult:
        credential = ctx.credential or {}
        if ctx.kind == "status_list":
            return result(self, CheckStatus.NOT_APPLICABLE, "the credential has no status entry")
        if credential.get("credentialStatus") and not ctx.proof_ok:
            return result(self, CheckStatus.NOT_APPLICABLE, "skipped: the signature did not verify")
        return await status_of(credential, ctx.services, ctx.depth)


async def status_of(credential: Mapping[str, Any], services: Services, depth: int) -> CheckResult:
    """What the `credentialStatus` entries of `credential` say, each list credential
    verified by the same pipeline one level deeper."""
    entries = as_list(credential.get("credentialStatus"))
    if not entries:
        return result(StatusStep, CheckStatus.NOT_APPLICABLE, "the credential has no status entry")
    checker = services.status_checker
    if checker is None:
        return result(StatusStep, CheckStatus.ERROR, "no status checker is configured")

    async def verify_list(listed: Presented) -> VerificationReport:
        return await services.verify_nested(listed, "status_list", depth + 1)

    if not all(isinstance(entry, dict) for entry in entries):
        return result(StatusStep, CheckStatus.FAILED, '"credentialStatus" must be an object')
    outcomes = await checker.check(
        entries, issuer_id=issuer_id(credential), verify_list=verify_list
    )
    return summary(outcomes)


def summary(outcomes: Sequence[StatusResult]) -> CheckResult:
    """One check for all entries: revoked, then suspended, then unknown, then fine.

    Warnings (a list signed by another issuer) ride along with whatever decides, and
    turn a pass into a warning: worth telling, the verdict stays the same.
    """
    step = StatusStep
    warnings = [o.warning for o in outcomes if o.warning]
    for outcome, verdict in (
        (StatusOutcome.REVOKED, Verdict.REVOKED),
        (StatusOutcome.SUSPENDED, Verdict.SUSPENDED),
    ):
        hit = next((o for o in outcomes if o.outcome is outcome), None)
        if hit is not None:
            return result(step, CheckStatus.FAILED, _join([hit.message], warnings), verdict)
    # An unreadable or unsupported status could hide a revocation: cannot verify.
    errors = [o.message for o in outcomes if o.outcome is not StatusOutcome.OK]
    if errors:
        return result(step, CheckStatus.ERROR, _join(errors, warnings))
    passed = [o.message for o in outcomes]
    if warnings:
        return result(step, CheckStatus.WARNING, _join(passed, warnings))
    return result(step, CheckStatus.PASSED, _join(passed, []))


def _join(messages: Sequence[str], warnings: Sequence[str]) -> str:
    return "; ".join([*messages, *warnings])
