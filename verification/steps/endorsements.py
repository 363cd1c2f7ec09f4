"""Step 10: endorsements (OB 3.0 §9.1 step 6, §9.2) — each verified like a credential.

Embedded `EndorsementCredential`s and `endorsementJwt` strings, on the credential, its
achievement and every Profile embedded in it (the issuer, the achievement's creator, the
subject's source, and their parent organisations), go through the same pipeline (one level
deeper, without their own endorsements, as §9.2 runs steps 1-4 only). The issuer chose to
embed them, so a forged or malformed endorsement makes the credential invalid; an expired,
revoked or unreachable one is a warning — the badge itself is unaffected. Nesting and count
are bounded.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from verification.context import RunContext, result
from verification.inputs import Presented
from verification.model import as_list, subject_of
from verification.report import CheckResult, CheckStatus, Dimension
from verification.steps.nested import Carried, check_carried

MAX_ENDORSEMENTS: Final = 20


MAX_PROFILES: Final = 8  # parentOrg chains are followed this far


def _holders(credential: dict[str, Any]) -> list[dict[str, Any]]:
    """What may carry endorsements: the credential, its achievement, its Profiles."""
    subject = subject_of(credential) or {}
    achievement = subject.get("achievement")
    holders = [credential]
    if isinstance(achievement, dict):
        holders.append(achievement)
    profiles = [
        credential.get("issuer"),
        achievement.get("creator") if isinstance(achievement, dict) else None,
        subject.get("source"),
    ]
    found = 0
    while profiles and found < MAX_PROFILES:
        profile = profiles.pop(0)
        if isinstance(profile, dict):
            holders.append(profile)
            profiles.append(profile.get("parentOrg"))
            found += 1
    return holders


def embedded_endorsements(credential: dict[str, Any]) -> list[Presented]:
    found: list[Presented] = []
    for holder in _holders(credential):
        for item in as_list(holder.get("endorsement")):
            if isinstance(item, dict):
                found.append(Presented("json", credential=item))
        for token in as_list(holder.get("endorsementJwt")):
            if isinstance(token, str):
                found.append(Presented("jwt", jwt=token))
    return found


class EndorsementsStep:
    id: ClassVar[str] = "endorsements"
    title: ClassVar[str] = "Endorsements"
    dimension: ClassVar[Dimension] = Dimension.ENDORSEMENTS

    async def run(self, ctx: RunContext) -> CheckResult:
        if ctx.credential is None or ctx.kind != "credential":
            return result(self, CheckStatus.NOT_APPLICABLE, "endorsements do not apply")
        endorsements = embedded_endorsements(ctx.credential)
        if not endorsements:
            return result(self, CheckStatus.NOT_APPLICABLE, "the credential has no endorsements")
        verified = f"{len(endorsements)} endorsement(s) verified"
        carried = Carried(endorsements, "endorsement", "endorsement(s)", MAX_ENDORSEMENTS, verified)
        return await check_carried(self, ctx, carried)
