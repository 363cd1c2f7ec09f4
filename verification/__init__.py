"""The Open Badges 3.0 verifier (issue 4): pure domain code, no HTTP framework, no database.

Entry point: `Verifier(fetcher=SafeFetcher(...), resolver=default_resolver(fetcher,
local=...))` then `await verifier.verify(presented)` -> `VerificationReport`.
"""

from __future__ import annotations

from keys.resolution import (
    KeyResolutionError,
    KeyResolver,
    ResolvedKey,
)
from verification.context import RecipientQuery
from verification.fetch import FetchedDocument, Fetcher, FetchError, FetchSettings, SafeFetcher
from verification.inputs import InputError, InputLimits, Presented, read_presented
from verification.pipeline import Verifier
from verification.report import (
    CheckResult,
    CheckStatus,
    Dimension,
    DimensionResult,
    DisplayData,
    Verdict,
    VerificationReport,
)
from verification.resolvers import (
    CompositeResolver,
    default_resolver,
)
from verification.status import BitstringStatusListChecker, StatusChecker, StatusResult

__all__ = [
    "BitstringStatusListChecker",
    "CheckResult",
    "CheckStatus",
    "CompositeResolver",
    "Dimension",
    "DimensionResult",
    "DisplayData",
    "FetchError",
    "FetchSettings",
    "FetchedDocument",
    "Fetcher",
    "InputError",
    "InputLimits",
    "KeyResolutionError",
    "KeyResolver",
    "Presented",
    "RecipientQuery",
    "ResolvedKey",
    "SafeFetcher",
    "StatusChecker",
    "StatusResult",
    "Verdict",
    "VerificationReport",
    "Verifier",
    "default_resolver",
    "read_presented",
]
