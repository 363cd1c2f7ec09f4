"""Request bodies that their routes read by hand, described for the OpenAPI document.

These routes answer in their protocol's own error format (RFC 6749 `{"error": ...}` for
OAuth and OpenID4VCI, the VC-API's problem for exchanges) or read a multipart upload, so
their handlers check the body themselves rather than through FastAPI. The models here say
what each body holds, field by field, so that clients (and the fuzzer) know what to send;
the domain code that reads each body stays the judge of it.

Field names are the protocols' own (snake_case, some with hyphens), hence plain models
rather than `ApiModel`, whose fields are camelCase.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The credential configurations of this service's issuer metadata (`badges.wallets.oid4vci`; a test
# keeps the two the same).
CredentialConfiguration = Literal["OpenBadgeCredential_ldp_vc", "OpenBadgeCredential_jwt_vc_json"]


class _Open(BaseModel):
    """A body that may carry members beyond those described (protocols allow extensions)."""

    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenForm(_Open):
    """`POST /oauth/token` (RFC 6749 §4.4.2, §4.1.3, §6): the client authenticates with HTTP
    Basic (`client_secret_basic`); the grant decides which other fields count."""

    grant_type: Literal["client_credentials", "authorization_code", "refresh_token"]
    scope: str | None = Field(default=None, description="Space-separated scopes (optional).")
    code: str | None = Field(default=None, description="authorization_code: the code.")
    redirect_uri: str | None = Field(
        default=None, description="authorization_code: the redirect URI the code was sent to."
    )
    code_verifier: str | None = Field(
        default=None, description="authorization_code: the PKCE verifier (RFC 7636)."
    )
    refresh_token: str | None = Field(default=None, description="refresh_token: the token.")


class RevocationForm(_Open):
    """`POST /oauth/revoke` (RFC 7009 §2.1), by the app that holds the token (HTTP Basic)."""

    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class ClientMetadataIn(_Open):
    """`POST /oauth/register`: RFC 7591 §2 client metadata, of which OB 3.0 §7.2 makes the
    first nine required; extension members may be sent too. The router checks the types
    with this model (strictly), authlib the values."""

    client_name: str
    client_uri: str = Field(json_schema_extra={"format": "uri"})
    logo_uri: str = Field(json_schema_extra={"format": "uri"})
    tos_uri: str = Field(json_schema_extra={"format": "uri"})
    policy_uri: str = Field(json_schema_extra={"format": "uri"})
    software_id: str
    software_version: str
    redirect_uris: list[str] = Field(
        min_length=1,
        description="https URLs without fragments (http only to a loopback address).",
    )
    scope: str = Field(description="Space-separated OB 3.0 scopes the app asks for.")
    grant_types: list[Literal["authorization_code", "refresh_token"]] | None = None
    response_types: list[Literal["code"]] | None = None
    token_endpoint_auth_method: Literal["client_secret_basic"] | None = None
    contacts: list[str] | None = None
    jwks_uri: str | None = Field(default=None, json_schema_extra={"format": "uri"})
    jwks: dict[str, Any] | None = None


class PreAuthorizedTokenForm(_Open):
    """`POST /oid4vci/token`: a Token Request with the pre-authorized code of an offer
    (OpenID4VCI 1.0 §6.1), and its transaction code if the offer asked for one."""

    # OpenID4VCI 1.0 §4.1.1: the grant type of the pre-authorized code flow.
    grant_type: Literal["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    pre_authorized_code: str = Field(alias="pre-authorized_code")
    tx_code: str | None = None


class JwtProofs(_Closed):
    jwt: list[str] = Field(
        min_length=1, max_length=1, description="One key proof JWT (OpenID4VCI 1.0 App. F.1)."
    )


class LegacyJwtProof(_Open):
    """The single `proof` object of the drafts before OpenID4VCI 1.0."""

    proof_type: Literal["jwt"]
    jwt: str


class CredentialRequestIn(_Open):
    """`POST /oid4vci/credential`: a Credential Request (OpenID4VCI 1.0 §8.2) proving the
    holder's key; the badge is bound to its DID."""

    credential_configuration_id: CredentialConfiguration
    proofs: JwtProofs | None = Field(default=None, description="The key proof (1.0).")
    proof: LegacyJwtProof | None = Field(
        default=None, description="The key proof as drafts before 1.0 sent it."
    )


class ExchangeMessageIn(_Open):
    """`POST /exchanges/{id}` (W3C VC-API exchanges): `{}` (or no body) starts the exchange
    and gets a DIDAuth request; a Verifiable Presentation proving a did:key or did:jwk, bare
    or as `verifiablePresentation`, completes it."""

    verifiable_presentation: dict[str, Any] | None = Field(
        default=None, alias="verifiablePresentation"
    )


class VerifyUploadIn(_Closed):
    """`POST /v1/verify` as a form upload: the badge file (.json, .jwt, a baked .png or .svg)
    and, optionally, the e-mail address its recipient claims to be."""

    file: bytes
    email: str | None = None
