"""Step 8: validity window (OB 3.0 §9.1 step 4): not yet valid, or expired.

Uses `validFrom`/`validUntil` (VCDM 2.0) or `issuanceDate`/`expirationDate` (VCDM 1.1)
against the injected clock, allowing a small clock skew. Expired and not-yet-valid are
failures with their own verdicts, not "invalid": the credential is genuine.
"""

from __future__ import annotations

from typing import ClassVar

from verification.context import RunContext, result
from verification.model import parse_datetime, valid_from, valid_until
from verification.report import CheckResult, CheckStatus, Dimension, Verdict


class ValidityStep:
    id: ClassVar[str] = "validity"
    title: ClassVar[str] = "Validity period"
    dimension: ClassVar[Dimension] = Dimension.VALIDITY

    async def run(self, ctx: RunContext) -> CheckResult:
        credential = ctx.credential or {}
        skew = ctx.services.clock_skew
        _, start_value = valid_from(credential)
        end_name, end_value = valid_until(credential)
        start, end = parse_datetime(start_value), parse_datetime(end_value)
        if end_value is not None and end is None:
            return result(self, CheckStatus.FAILED, f'"{end_name}" {end_value!r} is not a date')
        if start is not None and ctx.now + skew < start:
            return result(
                self, CheckStatus.FAILED, f"not valid until {start_value}", Verdict.NOT_YET_VALID
            )
        if end is not None and ctx.now - skew >= end:
            return result(self, CheckStatus.FAILED, f"expired on {end_value}", Verdict.EXPIRED)
        since = f"valid since {start_value}" if start is not None else "no start date"
        until = f", until {end_value}" if end is not None else ", with no expiry"
        return result(self, CheckStatus.PASSED, since + until)
