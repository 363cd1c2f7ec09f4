"""Remembering the checks that depend only on a credential's content.

Parsing, JSON-LD, schema, proof and key binding give the same answer every time the same
bytes are presented, as long as the keys cannot change under them. That holds for this
service's own issuers (a rotated key stays published), so their results are kept and a
repeated verification re-runs only what can change: status, validity window, recipient,
endorsements. Which credentials qualify is the caller's decision (`cacheable`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from net.lru import LruCache
from verification.context import RunContext
from verification.inputs import Presented
from verification.report import CheckResult, CheckStatus

STATIC_STEPS: Final = frozenset(
    {"parse", "data_model", "jsonld", "schema", "proof", "key_binding", "refresh"}
)
_STATE: Final = (
    "kind",
    "credential",
    "format",
    "jwt_header",
    "jwt_payload",
    "verified_keys",
    "binding_problem_message",
    "binding_unreachable",
    "issuer_bound",
    "stop_reason",
    "proof_ok",
)


@dataclass(frozen=True)
class StaticOutcome:
    checks: tuple[CheckResult, ...]
    state: Mapping[str, Any]


def content_key(presented: Presented) -> str:
    text = (
        presented.jwt
        if presented.jwt is not None
        else json.dumps(presented.credential, sort_keys=True, separators=(",", ":"))
    )
    return hashlib.sha256(f"{presented.container}\n{text}".encode()).hexdigest()


class StaticCheckCache:
    """A bounded, thread-safe LRU of static check outcomes by content digest."""

    def __init__(
        self, cacheable: Callable[[Mapping[str, Any] | None], bool], max_entries: int = 4096
    ) -> None:
        self._cacheable = cacheable
        self._entries: LruCache[str, StaticOutcome] = LruCache(max_entries)

    def restore(self, key: str, ctx: RunContext) -> tuple[CheckResult, ...] | None:
        found = self._entries.get(key)
        if found is None:
            return None
        for name, value in found.state.items():
            setattr(ctx, name, copy.deepcopy(value))
        return found.checks

    def remember(self, key: str, ctx: RunContext, checks: tuple[CheckResult, ...]) -> None:
        # Transient trouble (an unreachable key, a crashed step) must be retried next time.
        if ctx.binding_unreachable or any(c.status is CheckStatus.ERROR for c in checks):
            return
        if not self._cacheable(ctx.credential):
            return
        state = {name: copy.deepcopy(getattr(ctx, name)) for name in _STATE}
        self._entries.put(key, StaticOutcome(checks, state))
