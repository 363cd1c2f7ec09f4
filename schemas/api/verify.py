"""Verification requests."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from schemas.api.base import ApiModel


def _finite_numbers(value: Any) -> Any:
    """JSON has no NaN or Infinity (Python's parsers accept them; no answer could carry them)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise ValueError("numbers must be finite (NaN and Infinity are not JSON)")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_finite_numbers)]


class RecipientQueryIn(ApiModel):
    """Who the holder claims to be; checked against the credential's hashed identifiers."""

    email: EmailStr | None = None
    educator_id: str | None = Field(default=None, max_length=64)
    state: str | None = Field(default=None, min_length=2, max_length=2)
    did: str | None = Field(default=None, max_length=2000)


class VerifyIn(ApiModel):
    credential: JsonObject | None = Field(default=None, description="A credential (JSON).")
    jwt: str | None = Field(default=None, max_length=1_000_000, description="A VC-JWT.")
    url: HttpUrl | None = Field(default=None, description="Where the credential can be fetched.")
    recipient: RecipientQueryIn | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VerifyIn:
        given = [name for name in ("credential", "jwt", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of credential, jwt or url")
        return self


class VerifyBatchIn(ApiModel):
    items: list[Any] = Field(
        min_length=1,
        description="Credentials to verify (at most 500), each like the JSON body of "
        "POST /v1/verify: `credential`, `jwt` or `url`, and an optional `recipient`.",
    )
    receipt: bool = Field(
        default=False,
        description="Also return a receipt: a credential signed by the service recording "
        "what was verified, when, and each verdict.",
    )


class VcApiVerifyCredentialIn(ApiModel):
    """W3C VC-API `VerifyCredentialRequest` (or its enveloped form)."""

    verifiable_credential: Any = Field(
        description="A credential with an embedded proof, an `EnvelopedVerifiableCredential` "
        "(`data:application/vc+jwt,…`), or a VC-JWT."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Accepted for compatibility; every check always runs."
    )

    @field_validator("verifiable_credential")
    @classmethod
    def _object_or_jwt(cls, value: Any) -> dict[str, Any] | str:
        if isinstance(value, dict):
            _finite_numbers(value)
            return value
        if isinstance(value, str) and len(value) <= 1_000_000:
            return value
        if isinstance(value, str):
            raise ValueError("a VC-JWT longer than 1,000,000 characters is not a badge")
        raise ValueError("must be a credential object or a VC-JWT string")


class VerifyPresentationOptionsIn(ApiModel):
    """W3C VC-API `VerifyPresentationOptions`; other options are ignored."""

    model_config = ConfigDict(extra="ignore")

    challenge: str | None = Field(
        default=None, max_length=1000, description="The challenge the holder had to sign."
    )
    domain: str | None = Field(
        default=None, max_length=1000, description="The domain the holder had to sign."
    )


class VcApiVerifyPresentationIn(ApiModel):
    """W3C VC-API `VerifyPresentationRequest`, or the proofless form with `presentation`."""

    verifiable_presentation: JsonObject | None = None
    presentation: JsonObject | None = None
    options: VerifyPresentationOptionsIn = Field(default_factory=VerifyPresentationOptionsIn)

    @model_validator(mode="after")
    def _exactly_one(self) -> VcApiVerifyPresentationIn:
        if (self.verifiable_presentation is None) == (self.presentation is None):
            raise ValueError("give exactly one of verifiablePresentation or presentation")
        return self
