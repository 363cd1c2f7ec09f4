"""Step 5: key binding — the key that signed must belong to the issuer.

A valid signature only proves that someone holding the key signed; OB 3.0 (§8.5; the
Implementation Guide's "key provenance") asks that the verification method's controller be
the credential's `issuer.id`. Without this check anyone could sign a badge "from" any
university with their own did:key.
"""

from __future__ import annotations

from typing import ClassVar

from verification.context import RunContext, result
from verification.model import issuer_id
from verification.report import CheckResult, CheckStatus, Dimension


class KeyBindingStep:
    id: ClassVar[str] = "key_binding"
    title: ClassVar[str] = "Key belongs to the issuer"
    dimension: ClassVar[Dimension] = Dimension.AUTHENTICITY

    async def run(self, ctx: RunContext) -> CheckResult:
        if not ctx.proof_ok or ctx.credential is None:
            return result(self, CheckStatus.NOT_APPLICABLE, "no verified signature to bind")
        issuer = issuer_id(ctx.credential)
        for key in ctx.verified_keys:
            if key.controller == issuer:
                ctx.issuer_bound = True
                return result(self, CheckStatus.PASSED, f"{key.id} is controlled by {issuer}")
        if ctx.binding_problem_message is not None:
            status = CheckStatus.ERROR if ctx.binding_unreachable else CheckStatus.FAILED
            return result(self, status, ctx.binding_problem_message)
        controllers = ", ".join(sorted({k.controller or "(unknown)" for k in ctx.verified_keys}))
        return result(
            self,
            CheckStatus.FAILED,
            f"signed with a key controlled by {controllers}, not by the issuer {issuer}",
        )
