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
from verification.model import as_list, subject_of, types_of
from verification.report import CheckResult, CheckStatus, Dimension
from verification.steps.nested import Carried, check_carried

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
        verified = f"all {len(contained)} contained credential(s) verified"
        carried = Carried(
            contained, "credential", "contained credential(s)", MAX_CONTAINED, verified
        )
        return await check_carried(self, ctx, carried)
