"""The state one verification run shares between its steps, and the `Step` protocol.

Steps read what earlier steps found (the parsed credential, the keys whose proofs held)
from a `RunContext` and return one `CheckResult` each. Everything that varies — key
resolver, fetcher, status checker, clock, the way to verify a nested credential — arrives
in `Services`, injected by the `Verifier`, never read from globals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from keys.resolution import ResolvedKey
from verification.fetch import Fetcher
from verification.inputs import InputLimits, Presented
from verification.report import CheckResult, CheckStatus, CredentialFormat, Dimension, Verdict
from verification.resolvers import CompositeResolver

if TYPE_CHECKING:
    from verification.issuer_registry import IssuerRegistry
    from verification.report import VerificationReport
    from verification.status import StatusChecker

# "credential": whatever was presented (any VC; Open Badges checks apply when it is a badge);
# the others are credentials the pipeline verifies on the way (one level deeper).
CredentialKind = Literal["credential", "endorsement", "status_list"]


@dataclass(frozen=True)
class RecipientQuery:
    """What the verifier knows about the recipient (OB 3.0 §9.1 step 5, optional)."""

    email: str | None = None
    educator_id: str | None = None
    state: str | None = None
    did: str | None = None


NestedVerify = Callable[[Presented, CredentialKind, int], Awaitable["VerificationReport"]]


@dataclass(frozen=True)
class Services:
    resolver: CompositeResolver
    fetcher: Fetcher
    status_checker: StatusChecker | None
    verify_nested: NestedVerify
    limits: InputLimits
    clock_skew: timedelta
    max_depth: int
    issuer_registry: IssuerRegistry | None = None


@dataclass
class RunContext:
    presented: Presented
    kind: CredentialKind
    now: datetime
    depth: int
    services: Services
    recipient: RecipientQuery | None = None
    credential: dict[str, Any] | None = None
    format: CredentialFormat | None = None
    jwt_header: dict[str, Any] = field(default_factory=dict)
    jwt_payload: dict[str, Any] = field(default_factory=dict)
    verified_keys: list[ResolvedKey] = field(default_factory=list)
    binding_problem_message: str | None = None  # why a verified key is not the issuer's
    binding_unreachable: bool = False
    issuer_bound: bool = False  # a verified proof's key is the issuer's
    stop_reason: str | None = None  # set by a fatal failure: later checks do not apply
    proof_ok: bool = False
    # JSON-LD expansion of `credential` without "proof", made by the jsonld step; the proof
    # step canonicalizes that same document and reuses it rather than expanding it again.
    expanded_credential: list[Any] | None = None


@dataclass(frozen=True)
class ProofOutcome:
    """One proof's fate: verified with `key`, failed, or not checkable (`error`)."""

    key: ResolvedKey | None
    message: str
    error: bool = False


class Step(Protocol):
    id: ClassVar[str]
    title: ClassVar[str]
    dimension: ClassVar[Dimension]

    async def run(self, ctx: RunContext) -> CheckResult:
        """Check one thing and say how it went."""
        ...


def result(
    step: type[Step] | Step,
    status: CheckStatus,
    message: str,
    outcome: Verdict | None = None,
    dimension: Dimension | None = None,
) -> CheckResult:
    """A CheckResult carrying the step's id, title and (unless overridden) dimension."""
    return CheckResult(step.id, step.title, status, message, outcome, dimension or step.dimension)
