"""Step 11: known issuer — is the (authenticated) issuer listed by a registry we trust?

Only asked once the signature is bound to the issuer: looking up the name of an issuer that
did not sign would lend a forgery a trusted name. Never changes the verdict: an issuer no
registry lists is told as a warning, since most genuine issuers are in none.
"""

from __future__ import annotations

from typing import ClassVar

from verification.context import RunContext, result
from verification.model import issuer_id
from verification.report import CheckResult, CheckStatus, Dimension


class KnownIssuerStep:
    id: ClassVar[str] = "known_issuer"
    title: ClassVar[str] = "Known issuer"
    dimension: ClassVar[Dimension] = Dimension.ISSUER

    async def run(self, ctx: RunContext) -> CheckResult:
        registry = ctx.services.issuer_registry
        issuer = issuer_id(ctx.credential or {})
        if registry is None or ctx.kind != "credential":
            return result(self, CheckStatus.NOT_APPLICABLE, "no issuer registry is configured")
        if not ctx.issuer_bound or issuer is None:
            return result(
                self,
                CheckStatus.NOT_APPLICABLE,
                "not looked up: the credential is not shown to be signed by its issuer",
            )
        found = await registry.lookup(issuer, ctx.now)
        if found is None and not registry.lists_other_issuers:
            return result(
                self,
                CheckStatus.NOT_APPLICABLE,
                f"not listed by {registry.description}, and no issuer registry is configured "
                "for others",
            )
        if found is None:
            return result(
                self,
                CheckStatus.WARNING,
                f"{issuer} is not listed by {registry.description}",
            )
        return result(self, CheckStatus.PASSED, f"{issuer} is {found.told}")
