"""Credentials a credential carries (endorsements, a CLR's contents), each verified by the
same pipeline one level deeper.

The issuer chose to embed them, so a forged or malformed one makes the carrier invalid; one
that is expired, revoked or could not be checked is told as a warning, since it says
nothing false about the carrier. Nesting depth and count are bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verification.context import CredentialKind, RunContext, Step, result
from verification.inputs import Presented
from verification.model import id_of
from verification.report import CheckResult, CheckStatus, Verdict


@dataclass(frozen=True)
class Carried:
    """What a step verifies: the items, as what kind, and how to speak of them."""

    items: Sequence[Presented]
    kind: CredentialKind
    noun: str  # "endorsement(s)"
    limit: int
    verified: str  # what to say when every one verified


async def check_carried(step: Step, ctx: RunContext, carried: Carried) -> CheckResult:
    if ctx.depth >= ctx.services.max_depth:
        return result(step, CheckStatus.WARNING, f"{carried.noun} nested too deep; not verified")
    if len(carried.items) > carried.limit:
        return result(
            step, CheckStatus.WARNING, f"more than {carried.limit} {carried.noun}; not verified"
        )
    invalid: list[str] = []
    doubtful: list[str] = []
    for index, presented in enumerate(carried.items):
        report = await ctx.services.verify_nested(presented, carried.kind, ctx.depth + 1)
        name = id_of(report.credential) or f"{carried.noun.removesuffix('(s)')} {index + 1}"
        reason = report.decided_by.message if report.decided_by else ""
        if report.verdict is Verdict.INVALID:
            check = report.decided_by.id if report.decided_by else "?"
            invalid.append(f"{name} is invalid ({check}: {reason})")
        elif report.verdict is not Verdict.VERIFIED:
            doubtful.append(f"{name} is {report.verdict.value.replace('_', ' ')} ({reason})")
    if invalid:
        return result(step, CheckStatus.FAILED, "; ".join(invalid + doubtful))
    if doubtful:
        return result(step, CheckStatus.WARNING, "; ".join(doubtful))
    return result(step, CheckStatus.PASSED, carried.verified)
