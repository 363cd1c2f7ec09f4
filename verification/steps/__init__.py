"""The checks of OB 3.0 §9.1, one module each, in the order the pipeline runs them."""

from __future__ import annotations

from typing import Final

from verification.context import Step
from verification.steps.binding import KeyBindingStep
from verification.steps.contents import ContainedCredentialsStep
from verification.steps.data_model import DataModelStep
from verification.steps.endorsements import EndorsementsStep
from verification.steps.issuer import KnownIssuerStep
from verification.steps.jsonld import JsonLdStep
from verification.steps.parse import ParseStep
from verification.steps.proof import ProofStep
from verification.steps.recipient import RecipientStep
from verification.steps.refresh import RefreshStep
from verification.steps.schema import SchemaStep
from verification.steps.status import StatusStep
from verification.steps.validity import ValidityStep

DEFAULT_STEPS: Final[tuple[Step, ...]] = (
    ParseStep(),
    DataModelStep(),
    JsonLdStep(),
    SchemaStep(),
    ProofStep(),
    KeyBindingStep(),
    RefreshStep(),
    StatusStep(),
    ValidityStep(),
    RecipientStep(),
    EndorsementsStep(),
    ContainedCredentialsStep(),
    KnownIssuerStep(),
)

__all__ = ["DEFAULT_STEPS"]
