"""Step 11: contained credentials — a CLR's `credentialSubject.verifiableCredential` (CLR 2.0).

A Comprehensive Learner Record is a signed collection of other credentials; its own proof
says the issuer assembled them, not that each is genuine. So each one goes through the
same pipeline (one level deeper, without its own contents), embedded-proof JSON or a VC-JWT
(bare, or enveloped as `data:application/vc+jwt,…`). As with endorsements, the issuer chose
to include them: a forged or malformed one makes the record invalid; a revoked, expired or
unreachable one is a warning — it is history the record reports, not a claim of today.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from verification.context import RunContext, result
from verification.inputs import Presented
from verification.model import as_list, id_of, subject_of, types_of
from verification.report import CheckResult, CheckStatus, Dimension, Verdict

MAX_CONTAINED: Final = 200
_ENVELOPED_JWT: Final = "data:application/vc+jwt,"


def contained_credentials(credential: dict[str, Any]) -> list[Presented]:
    """The credentials a ClrSubject carries, as the pipeline reads them."""
    subject = subject_of(credential) or {}
    found: list[Presented] = []
    for item in as_list(subject.get("verifiableCredential")):
        if isinstance(item, str):
            found.append(Presented("jwt", jwt=item))
        elif isinstance(item, dict) and "EnvelopedVerifiableCredential" in types_of(item):
            enveloped = item.get("id")
            if isinstance(enveloped, str) and enveloped.startswith(_ENVELOPED_JWT):
                found.append(Presented("jwt", jwt=enveloped.removeprefix(_ENVELOPED_JWT)))
        elif isinstance(item, dict):
            found.append(Presented("json", credential=item))
    return found


class ContainedCredentialsStep:
    id: ClassVar[str] = "contained_credentials"
    title: ClassVar[str] = "Credentials it contains"
    dimension: ClassVar[Dimension] = Dimension.CONTENTS

    async def run(self, ctx: RunContext) -> CheckResult:
        credential = ctx.credential
        if credential is None or ctx.kind != "credential":
            return result(self, CheckStatus.NOT_APPLICABLE, "contained credentials do not apply")
        contained = contained_credentials(credential)
        if not contained:
            return result(self, CheckStatus.NOT_APPLICABLE, "it contains no credentials")
        if ctx.depth >= ctx.services.max_depth:
            return result(self, CheckStatus.WARNING, "nested too deep; contents not verified")
        if len(contained) > MAX_CONTAINED:
            return result(
                self,
                CheckStatus.WARNING,
                f"more than {MAX_CONTAINED} contained credentials; not verified",
            )
        invalid: list[str] = []
        doubtful: list[str] = []
        for index, presented in enumerate(contained):
            report = await ctx.services.verify_nested(presented, "credential", ctx.depth + 1)
            name = id_of(report.credential) or f"credential {index + 1}"
            if report.verdict is Verdict.INVALID:
                invalid.append(f"{name} is invalid ({report.reason})")
            elif report.verdict is not Verdict.VERIFIED:
                words = report.verdict.value.replace("_", " ")
                doubtful.append(f"{name} is {words} ({report.reason})")
        if invalid:
            return result(self, CheckStatus.FAILED, "; ".join(invalid + doubtful))
        if doubtful:
            return result(self, CheckStatus.WARNING, "; ".join(doubtful))
        return result(
            self, CheckStatus.PASSED, f"all {len(contained)} contained credential(s) verified"
        )
