"""The tables, one module per area. Alembic migrations (in `migrations/`) are the only thing
that creates them.

Ids are UUIDs generated here (not by the database) so a credential's public URL is known
before it is signed. Every timestamp is an aware UTC datetime (`UTCDateTime`).
"""

from storage.models.achievement_holdings import AchievementHolding
from storage.models.agencies import (
    Agency,
    Approval,
    Educator,
    EducatorDistrict,
    EducatorIdentifier,
    Lattice,
    LatticeRole,
    Stack,
    SubmittedCredential,
)
from storage.models.base import Base, utcnow
from storage.models.completions import Completion, CompletionRun, StaleEducator
from storage.models.counting import CredentialCopy, ForeignStatusObservation
from storage.models.images import UploadedImage
from storage.models.issue_batches import IssueBatch, IssueBatchRow
from storage.models.issuing import (
    Achievement,
    Client,
    Credential,
    CredentialEvent,
    CredentialEvidence,
    CredentialRecipient,
    Issuer,
    IssuerKey,
    OAuthToken,
)
from storage.models.ob_api import (
    HeldCredential,
    ObApiClient,
    ObApiToken,
    ObAuthorizationCode,
    TeacherProfile,
)
from storage.models.policy import (
    AgencyCriterion,
    AgencyPurpose,
    ApprovedProvider,
    District,
    DistrictOptionChoice,
    EducatorCriterion,
    PolicyOption,
    RoleHold,
    VettingEvent,
    VettingRequest,
    VettingReview,
)
from storage.models.setup import SetupToken
from storage.models.staff import StaffAccount, StaffMembership, StaffSession
from storage.models.status import CredentialStatusEntry, StatusList
from storage.models.teachers import (
    OutboxEmail,
    SignInCode,
    Teacher,
    TeacherIdentifier,
    TeacherSession,
)
from storage.models.wallets import CNonce, Oid4vciIssuance, PreAuthorizedCode, WalletExchange
from storage.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Achievement",
    "AchievementHolding",
    "Agency",
    "AgencyCriterion",
    "AgencyPurpose",
    "Approval",
    "ApprovedProvider",
    "Base",
    "CNonce",
    "Client",
    "Completion",
    "CompletionRun",
    "Credential",
    "CredentialCopy",
    "CredentialEvent",
    "CredentialEvidence",
    "CredentialRecipient",
    "CredentialStatusEntry",
    "District",
    "DistrictOptionChoice",
    "Educator",
    "EducatorCriterion",
    "EducatorDistrict",
    "EducatorIdentifier",
    "ForeignStatusObservation",
    "HeldCredential",
    "IssueBatch",
    "IssueBatchRow",
    "Issuer",
    "IssuerKey",
    "Lattice",
    "LatticeRole",
    "OAuthToken",
    "ObApiClient",
    "ObApiToken",
    "ObAuthorizationCode",
    "Oid4vciIssuance",
    "OutboxEmail",
    "PolicyOption",
    "PreAuthorizedCode",
    "RoleHold",
    "SetupToken",
    "SignInCode",
    "Stack",
    "StaffAccount",
    "StaffMembership",
    "StaffSession",
    "StaleEducator",
    "StatusList",
    "SubmittedCredential",
    "Teacher",
    "TeacherIdentifier",
    "TeacherProfile",
    "TeacherSession",
    "UploadedImage",
    "VettingEvent",
    "VettingRequest",
    "VettingReview",
    "WalletExchange",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
