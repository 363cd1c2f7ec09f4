"""Step 6: refresh service (OB 3.0 §9.1 step 3) — noted, not followed.

A `1EdTechCredentialRefresh` service would let the verifier fetch a newer copy of the
credential; following it means fetching a URL the credential chose, with no authentication
defined, so Lattice only reports it. The original credential is verified as presented.
"""

from __future__ import annotations

from typing import ClassVar

from verification.context import RunContext, result
from verification.model import as_list
from verification.report import CheckResult, CheckStatus, Dimension


class RefreshStep:
    id: ClassVar[str] = "refresh"
    title: ClassVar[str] = "Refresh service"
    dimension: ClassVar[Dimension] = Dimension.CONFORMANCE

    async def run(self, ctx: RunContext) -> CheckResult:
        services = as_list((ctx.credential or {}).get("refreshService"))
        if not services:
            return result(self, CheckStatus.NOT_APPLICABLE, "the credential has no refresh service")
        described = ", ".join(
            f"{item.get('type')} at {item.get('id')}" if isinstance(item, dict) else repr(item)
            for item in services
        )
        return result(
            self,
            CheckStatus.PASSED,
            f"refresh service noted, not followed: the credential is verified as presented "
            f"({described})",
        )
