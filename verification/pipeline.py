"""The verifier: OB 3.0 §9.1 as a list of steps over a shared run context.

Built once with everything that varies injected — fetcher, key resolver (with the
service's own `local` resolver in front), status checker, clock — and then used for any
number of verifications. `verify` never raises for a bad credential: it returns a report
whose verdict is derived from the checks. Only input that is not a credential at all
(`InputError`) or a URL that cannot be fetched (`FetchError`, from `verify_url`) raises,
because there is nothing to report on.

When a step sets `stop_reason` (the credential could not be read), the remaining steps are
reported as not applicable rather than run on nothing. A bug in a step becomes an `error`
check (the verdict "cannot verify") and a log entry, not a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from keys.vc_jwt import VcJwtError, decode_unverified
from verification.context import (
    CredentialKind,
    RecipientQuery,
    RunContext,
    Services,
    Step,
    result,
)
from verification.display import display_data
from verification.fetch import Fetcher
from verification.inputs import (
    InputError,
    InputLimits,
    Presented,
    check_credential_object,
    read_presented,
)
from verification.issuer_registry import IssuerRegistry
from verification.report import CheckResult, CheckStatus, VerificationReport, derive_verdict
from verification.resolvers import CompositeResolver, default_resolver
from verification.static_cache import STATIC_STEPS, StaticCheckCache, content_key
from verification.status import BitstringStatusListChecker, StatusChecker
from verification.steps import DEFAULT_STEPS
from verification.steps.parse import credential_from_jwt_payload
from verification.steps.status import StatusStep, status_of

logger = logging.getLogger(__name__)

ACCEPT_ANY_CREDENTIAL = (
    "application/vc+ld+json, application/vc, application/ld+json, application/json, "
    "application/jwt, text/plain, image/png, image/svg+xml;q=0.9, */*;q=0.1"
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Verifier:
    def __init__(
        self,
        *,
        fetcher: Fetcher,
        resolver: CompositeResolver | None = None,
        status_checker: StatusChecker | None = None,
        clock: Callable[[], datetime] = _utc_now,
        limits: InputLimits = InputLimits(),
        clock_skew: timedelta = timedelta(minutes=5),
        max_depth: int = 2,
        steps: Sequence[Step] = DEFAULT_STEPS,
        static_cache: StaticCheckCache | None = None,
        issuer_registry: IssuerRegistry | None = None,
    ) -> None:
        self.fetcher = fetcher
        self._static_cache = static_cache
        self._clock = clock
        self._steps = tuple(steps)
        self._services = Services(
            resolver=resolver if resolver is not None else default_resolver(fetcher),
            fetcher=fetcher,
            status_checker=(
                status_checker
                if status_checker is not None
                else BitstringStatusListChecker(fetcher, limits=limits)
            ),
            verify_nested=self._run,
            limits=limits,
            clock_skew=clock_skew,
            max_depth=max_depth,
            issuer_registry=issuer_registry,
        )

    @property
    def resolver(self) -> CompositeResolver:
        """The key resolver (also what holder keys of presentations are resolved with)."""
        return self._services.resolver

    async def verify(
        self,
        presented: Presented | bytes | str | Mapping[str, Any],
        *,
        recipient: RecipientQuery | None = None,
    ) -> VerificationReport:
        """Verify a credential (JSON, JWT, baked image, or their bytes); InputError if none."""
        if not isinstance(presented, Presented):
            presented = read_presented(presented, self._services.limits)
        return await self._run(presented, "credential", 0, recipient)

    async def verify_url(
        self, url: str, *, recipient: RecipientQuery | None = None
    ) -> VerificationReport:
        """Fetch `url` through the safe fetcher and verify what it returns."""
        fetched = await self.fetcher.fetch(url, accept=ACCEPT_ANY_CREDENTIAL)
        return await self.verify(fetched.body, recipient=recipient)

    async def status_only(self, presented: Presented) -> CheckResult:
        """Only the status check (§9.1 step 4) of a credential verified before: its
        `credentialStatus` entries read from their lists, each list verified in full.

        For re-reading the status of a credential this service stored after verifying it
        (a sweep of thousands): its proof and contents cannot have changed since, only
        what its issuer's lists say. A credential that cannot be read, or has no status
        entry, is an `error` or `not_applicable` check: nothing is known of its status.
        """
        try:
            if presented.jwt is not None:
                payload = credential_from_jwt_payload(decode_unverified(presented.jwt)[1])
                credential = check_credential_object(payload, self._services.limits)
            else:  # `read_presented` checked it already
                credential = presented.credential or {}
        except (VcJwtError, InputError) as unreadable:
            return result(
                StatusStep, CheckStatus.ERROR, f"the credential cannot be read: {unreadable}"
            )
        return await status_of(credential, self._services, 0)

    def _split_steps(self) -> tuple[Sequence[Step], Sequence[Step]]:
        """The leading content-only steps (cacheable), and the rest."""
        cut = next(
            (i for i, step in enumerate(self._steps) if step.id not in STATIC_STEPS),
            len(self._steps),
        )
        return self._steps[:cut], self._steps[cut:]

    async def _run_steps(self, steps: Sequence[Step], ctx: RunContext) -> list[CheckResult]:
        checks: list[CheckResult] = []
        for step in steps:
            if ctx.stop_reason is not None:
                checks.append(
                    result(step, CheckStatus.NOT_APPLICABLE, f"not checked: {ctx.stop_reason}")
                )
                continue
            try:
                checks.append(await step.run(ctx))
            except Exception:
                logger.exception("verification step %s failed", step.id)
                checks.append(
                    result(step, CheckStatus.ERROR, "this check failed unexpectedly (logged)")
                )
        return checks

    async def _run(
        self,
        presented: Presented,
        kind: CredentialKind,
        depth: int,
        recipient: RecipientQuery | None = None,
    ) -> VerificationReport:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the verifier's clock must return timezone-aware datetimes")
        ctx = RunContext(
            presented=presented,
            kind=kind,
            now=now,
            depth=depth,
            services=self._services,
            recipient=recipient,
        )
        static, later = self._split_steps()
        key = content_key(presented) if self._static_cache is not None and depth == 0 else None
        cached = self._static_cache.restore(key, ctx) if self._static_cache and key else None
        if cached is None:
            checks = await self._run_steps(static, ctx)
            if self._static_cache is not None and key is not None:
                self._static_cache.remember(key, ctx, tuple(checks))
        else:
            checks = list(cached)
        checks += await self._run_steps(later, ctx)
        verdict, decided_by = derive_verdict(checks)
        return VerificationReport(
            verdict=verdict,
            checks=tuple(checks),
            credential=ctx.credential,
            format=ctx.format,
            display=display_data(ctx.credential),
            decided_by=decided_by,
        )
