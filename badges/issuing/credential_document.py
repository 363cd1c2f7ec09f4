"""The unsigned `OpenBadgeCredential` document (OB 3.0 on VCDM 2.0) for one award."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from formats.dates import xsd_datetime
from schemas.contexts import (
    OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA,
    OB3_CONTEXT,
    OB3_EXTENSIONS_CONTEXT,
    VC2_CONTEXT,
)

# `1EdTechJsonSchemaValidator2019` is defined only by the extensions context; without it the
# credentialSchema type does not expand and JSON-LD safe mode rejects the credential.
CREDENTIAL_CONTEXTS = (VC2_CONTEXT, OB3_CONTEXT, OB3_EXTENSIONS_CONTEXT)
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")


@dataclass(frozen=True)
class Evidence:
    url: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"type": ["Evidence"]}
        if self.url:
            document["id"] = self.url
        for key in ("name", "narrative", "description", "genre"):
            value = getattr(self, key)
            if value:
                document[key] = value
        return document


@dataclass(frozen=True)
class CredentialContent:
    credential_id: str
    issuer: Mapping[str, Any]
    achievement: Mapping[str, Any]
    valid_from: datetime
    subject_id: str | None = None
    identifiers: Sequence[Mapping[str, Any]] = ()
    results: Sequence[Mapping[str, Any]] = ()
    evidence: Sequence[Evidence] = ()
    valid_until: datetime | None = None
    awarded_date: datetime | None = None


def build_credential(content: CredentialContent) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if content.subject_id:
        subject["id"] = content.subject_id
    if content.identifiers:
        subject["identifier"] = [dict(item) for item in content.identifiers]
    subject["achievement"] = dict(content.achievement)
    if content.results:
        subject["result"] = [dict(item) for item in content.results]

    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXTS),
        "id": content.credential_id,
        "type": list(CREDENTIAL_TYPES),
        "name": content.achievement["name"],
        "issuer": dict(content.issuer),
        "validFrom": xsd_datetime(content.valid_from),
    }
    if content.valid_until is not None:
        credential["validUntil"] = xsd_datetime(content.valid_until)
    if content.awarded_date is not None:
        credential["awardedDate"] = xsd_datetime(content.awarded_date)
    credential["credentialSubject"] = subject
    if content.evidence:
        credential["evidence"] = [item.as_json() for item in content.evidence]
    credential["credentialSchema"] = [
        {"id": OB3_ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    return credential
