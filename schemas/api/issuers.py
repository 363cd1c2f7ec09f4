"""An issuer's own settings, as its provider client reads and changes them."""

from __future__ import annotations

from pydantic import Field

from schemas.api.base import ApiModel

_SUSPENSION = (
    "Whether credentials issued from now on also carry a suspension status entry (so they can "
    "be suspended and unsuspended). Off by default: such credentials carry two "
    "credentialStatus entries, which VCDM 2.0 allows but the strict OB 3.0 JSON schema "
    "(credentialStatus 0..1) refuses. Credentials issued earlier keep the entries they have."
)


class IssuerSettingsIn(ApiModel):
    suspension_enabled: bool = Field(description=_SUSPENSION)


class IssuerOut(ApiModel):
    slug: str
    name: str
    did: str = Field(description="The issuer's did:web, the `issuer.id` of its credentials.")
    suspension_enabled: bool = Field(description=_SUSPENSION)
