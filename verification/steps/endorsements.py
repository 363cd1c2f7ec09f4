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
from verification.model import as_list, id_of, subject_of
from verification.report import CheckResult, CheckStatus, Dimension, Verdict

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
        if ctx.depth >= ctx.services.max_depth:
            return result(self, CheckStatus.WARNING, "endorsements nested too deep; not verified")
        if len(endorsements) > MAX_ENDORSEMENTS:
            return result(
                self,
                CheckStatus.WARNING,
                f"more than {MAX_ENDORSEMENTS} endorsements; not verified",
            )
        invalid: list[str] = []
        doubtful: list[str] = []
        for presented in endorsements:
            report = await ctx.services.verify_nested(presented, "endorsement", ctx.depth + 1)
            name = id_of(report.credential) or "an endorsement"
            reason = report.decided_by.message if report.decided_by else ""
            if report.verdict is Verdict.INVALID:
                check = report.decided_by.id if report.decided_by else "?"
                invalid.append(f"{name} is invalid ({check}: {reason})")
            elif report.verdict is not Verdict.VERIFIED:
                doubtful.append(f"{name} is {report.verdict.value.replace('_', ' ')} ({reason})")
        if invalid:
            return result(self, CheckStatus.FAILED, "; ".join(invalid + doubtful))
        if doubtful:
            return result(self, CheckStatus.WARNING, "; ".join(doubtful))
        return result(self, CheckStatus.PASSED, f"{len(endorsements)} endorsement(s) verified")
