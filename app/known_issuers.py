"""The agencies' approved providers offered to the verifier as one more issuer registry.

The domain (`badges.policy.approved_providers`) knows who approved whom and since when; the
verifier knows what a registry is. This adapter, in the layer that wires the two, keeps
them from importing each other.
"""

from __future__ import annotations

from datetime import datetime

from badges.policy.approved_providers import ApprovedProviders
from verification.issuer_registry import KnownIssuer


class AgencyApprovedProviders:
    """An `IssuerRegistry` listing an issuer while some agency approves it as a provider."""

    description = "the providers state agencies approved"
    # It lists only issuers some agency approved: one it does not list is not suspect.
    lists_other_issuers = False

    def __init__(self, providers: ApprovedProviders) -> None:
        self.providers = providers

    async def lookup(self, issuer_id: str, at: datetime) -> KnownIssuer | None:
        found = await self.providers.approval(issuer_id, at)
        if found is None:
            return None
        return KnownIssuer(issuer_id, found.name, self.description, found.statement)
