"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow, for one badge.

The teacher asks for an offer on her badge page; the service shows it as a link and QR
code (`openid-credential-offer://?credential_offer=…`, by value). The wallet then:

1. reads `{public}/.well-known/openid-credential-issuer` (§12.2) and the metadata of the
   authorization server it names (`{public}/oid4vci`, RFC 8414, so it cannot collide with
   the service's other OAuth servers);
2. POSTs the pre-authorized code (and the transaction code, if the offer asked for one) to
   the token endpoint (§6) and gets a short-lived bearer token;
3. POSTs to the nonce endpoint (§7) for a `c_nonce`;
4. POSTs to the credential endpoint (§8, `badges.wallets.oid4vci_credential`) a
   `credential_configuration_id` and a `jwt` key proof (App. F.1: `typ`
   `openid4vci-proof+jwt`, `kid` a DID URL of its key or a `jwk`, `aud` = this credential
   issuer, `iat`, `nonce` = the c_nonce), and gets one new credential whose
   `credentialSubject.id` is the DID of that key: `ldp_vc` (the Data
   Integrity document) or `jwt_vc_json` (its OB 3.0 VC-JWT).

Codes, tokens and nonces are single-use (nonces), short-lived and kept as SHA-256 digests.
Every failure is an `OAuthError` carrying the error code the standard defines
(`invalid_grant`, `invalid_proof`, `invalid_nonce`, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuing.credential_document import (
    CREDENTIAL_CONTEXTS,
    CREDENTIAL_TYPES,
)
from badges.wallets.wallet_credentials import check_reissuable
from storage.models import CNonce, Credential, PreAuthorizedCode, Teacher

PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME: Final = "openid-credential-offer://"
PROOF_TYP: Final = "openid4vci-proof+jwt"
PROOF_ALGORITHMS: Final = ("EdDSA", "ES256")
LDP_VC: Final = "OpenBadgeCredential_ldp_vc"
JWT_VC_JSON: Final = "OpenBadgeCredential_jwt_vc_json"
CONFIGURATIONS: Final = {LDP_VC: "ldp_vc", JWT_VC_JSON: "jwt_vc_json"}

OFFER_LIFETIME: Final = timedelta(minutes=10)
ACCESS_TOKEN_LIFETIME: Final = timedelta(minutes=5)
NONCE_LIFETIME: Final = timedelta(minutes=5)
# A key proof older than this (by its `iat`) is stale even with a live nonce.
PROOF_MAX_AGE: Final = timedelta(minutes=5)
CLOCK_SKEW: Final = timedelta(seconds=60)
TX_CODE_LENGTH: Final = 6
MAX_TX_CODE_ATTEMPTS: Final = 5


class OAuthError(Exception):
    """An OAuth 2.0 / OpenID4VCI error response: `{"error", "error_description"}`."""

    def __init__(
        self, error: str, description: str, *, status_code: int = 400, bearer: bool = False
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code
        # RFC 6750 §3: a rejected bearer token is answered with a WWW-Authenticate challenge.
        self.bearer = bearer

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def secret_digest(value: str) -> str:
    """How codes, tokens and nonces are stored: SHA-256, hex (they are 128+ random bits)."""
    return hashlib.sha256(value.encode()).hexdigest()


def authorization_server(public_url: str) -> str:
    return f"{public_url}/oid4vci"


def issuer_metadata(public_url: str) -> dict[str, Any]:
    """Credential Issuer Metadata (§12.2.4): one configuration per format of an Open Badge."""
    common = {
        "cryptographic_binding_methods_supported": ["did:key", "did:jwk"],
        "proof_types_supported": {
            "jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}
        },
        "credential_metadata": {
            "display": [
                {
                    "name": "Open Badge",
                    "locale": "en-US",
                    "description": "An Open Badges 3.0 micro-credential, bound to your DID.",
                }
            ]
        },
    }
    return {
        "credential_issuer": public_url,
        "authorization_servers": [authorization_server(public_url)],
        "credential_endpoint": f"{public_url}/oid4vci/credential",
        "nonce_endpoint": f"{public_url}/oid4vci/nonce",
        "display": [{"name": "Lattice", "locale": "en-US"}],
        "credential_configurations_supported": {
            LDP_VC: {
                "format": "ldp_vc",
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "credential_definition": {
                    "@context": list(CREDENTIAL_CONTEXTS),
                    "type": list(CREDENTIAL_TYPES),
                },
                **common,
            },
            JWT_VC_JSON: {
                "format": "jwt_vc_json",
                "credential_signing_alg_values_supported": ["EdDSA", "RS256"],
                "credential_definition": {"type": list(CREDENTIAL_TYPES)},
                **common,
            },
        },
    }


def authorization_server_metadata(public_url: str) -> dict[str, Any]:
    """RFC 8414 metadata of the authorization server that serves only this flow."""
    return {
        "issuer": authorization_server(public_url),
        "token_endpoint": f"{public_url}/oid4vci/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


@dataclass(frozen=True)
class NewOffer:
    offer: dict[str, Any]
    link: str
    tx_code: str | None
    expires_at: datetime


async def create_offer(
    session: AsyncSession,
    public_url: str,
    teacher: Teacher,
    credential: Credential,
    *,
    with_tx_code: bool,
    lifetime: timedelta = OFFER_LIFETIME,
) -> NewOffer:
    """A credential offer for one of her badges; the codes are shown once, stored hashed."""
    await check_reissuable(session, credential)
    code = secrets.token_urlsafe(32)
    tx_code = (
        f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}" if with_tx_code else None
    )
    expires_at = datetime.now(UTC) + lifetime
    session.add(
        PreAuthorizedCode(
            id=uuid.uuid4(),
            code_hash=secret_digest(code),
            tx_code_hash=secret_digest(f"{code}:{tx_code}") if tx_code else None,
            credential_id=credential.id,
            teacher_id=teacher.id,
            expires_at=expires_at,
        )
    )
    await session.flush()
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": TX_CODE_LENGTH,
            "description": "The PIN shown on your Lattice badge page, next to the QR code.",
        }
    offer = {
        "credential_issuer": public_url,
        "credential_configuration_ids": [LDP_VC, JWT_VC_JSON],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }
    return NewOffer(offer, offer_link(offer), tx_code, expires_at)


def offer_link(offer: Mapping[str, Any]) -> str:
    text = json.dumps(offer, separators=(",", ":"))
    return f"{OFFER_SCHEME}?credential_offer={quote(text, safe='')}"


# --- token endpoint (§6) -------------------------------------------------------------------


async def exchange_code(session: AsyncSession, form: Mapping[str, str]) -> dict[str, Any]:
    """Token Request with the pre-authorized code; the Token Response, or OAuthError.

    Every transaction code tried counts against the offer (written before an error is
    raised, so the caller must keep it); after five the offer is dead. The try and the
    code itself are each spent by one conditional UPDATE, so of parallel requests for one
    offer exactly one gets a token, and parallel wrong guesses all count.
    """
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OAuthError(
            "unsupported_grant_type", f"this token endpoint takes only {PRE_AUTHORIZED_GRANT}"
        )
    code = form.get("pre-authorized_code")
    if not code:
        raise OAuthError("invalid_request", '"pre-authorized_code" is required')
    now = datetime.now(UTC)
    row = await session.scalar(
        select(PreAuthorizedCode).where(PreAuthorizedCode.code_hash == secret_digest(code))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, expired or used")
    await _check_tx_code(session, row, code, form.get("tx_code"))
    token = secrets.token_urlsafe(32)
    claimed = await session.execute(
        update(PreAuthorizedCode)
        .where(PreAuthorizedCode.id == row.id, _live(now))
        .values(
            used_at=now,
            access_token_hash=secret_digest(token),
            access_token_expires_at=now + ACCESS_TOKEN_LIFETIME,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, expired or used")
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


async def _check_tx_code(
    session: AsyncSession, row: PreAuthorizedCode, code: str, tx_code: str | None
) -> None:
    if row.tx_code_hash is None:
        if tx_code:
            raise OAuthError("invalid_request", "this offer did not ask for a transaction code")
        return
    if not tx_code:
        raise OAuthError("invalid_request", '"tx_code" is required by this offer')
    if not await _take_tx_code_attempt(session, row.id):
        raise OAuthError(
            "invalid_grant",
            'too many wrong "tx_code" tries, or the pre-authorized code is expired or used;'
            " ask for a new offer",
        )
    if not hmac.compare_digest(row.tx_code_hash, secret_digest(f"{code}:{tx_code.strip()}")):
        raise OAuthError("invalid_grant", "the transaction code is wrong")


def _live(now: datetime) -> ColumnElement[bool]:
    return PreAuthorizedCode.used_at.is_(None) & (PreAuthorizedCode.expires_at > now)


async def _take_tx_code_attempt(session: AsyncSession, offer_id: uuid.UUID) -> bool:
    """Count one transaction code try (right or wrong) against a live offer with tries left."""
    taken = await session.execute(
        update(PreAuthorizedCode)
        .where(
            PreAuthorizedCode.id == offer_id,
            PreAuthorizedCode.tx_code_attempts < MAX_TX_CODE_ATTEMPTS,
            _live(datetime.now(UTC)),
        )
        .values(tx_code_attempts=PreAuthorizedCode.tx_code_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return getattr(taken, "rowcount", 0) == 1


# --- nonce endpoint (§7) -------------------------------------------------------------------


async def new_nonce(session: AsyncSession, lifetime: timedelta = NONCE_LIFETIME) -> dict[str, str]:
    """A fresh `c_nonce`; expired ones are swept on the way, so the table stays small."""
    now = datetime.now(UTC)
    await session.execute(delete(CNonce).where(CNonce.expires_at <= now - timedelta(hours=1)))
    nonce = secrets.token_urlsafe(24)
    session.add(CNonce(nonce_hash=secret_digest(nonce), expires_at=now + lifetime))
    await session.flush()
    return {"c_nonce": nonce}
