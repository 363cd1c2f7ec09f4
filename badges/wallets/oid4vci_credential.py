"""OpenID4VCI 1.0 Credential Endpoint (§8): a `jwt` proof of the holder's key (App. F.1)
in, the teacher's badge re-issued to that key's DID out.

Checks run before anything is written (token, request, proof signature and claims, the
badge still in good standing); then the c_nonce is spent, the offer's format is claimed and
the credential signed. The caller rolls back on `OAuthError`, so a refused request keeps
nothing, not even the nonce.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError
from badges.issuing.issuing import IssuingContext
from badges.wallets.oid4vci import (
    CLOCK_SKEW,
    CONFIGURATIONS,
    LDP_VC,
    PROOF_ALGORITHMS,
    PROOF_MAX_AGE,
    PROOF_TYP,
    OAuthError,
    secret_digest,
)
from badges.wallets.wallet_credentials import (
    check_reissuable,
    reissue_to_holder,
)
from keys.did_jwk import did_jwk_for
from keys.jose import JwsError, VerifyingKey, any_public_key_from_jwk, verify_compact_jws
from keys.resolution import (
    KeyResolutionError,
    KeyResolver,
)
from keys.vc_jwt import VcJwtError, decode_unverified
from storage.models import CNonce, Credential, Oid4vciIssuance, PreAuthorizedCode


@dataclass(frozen=True)
class HolderKey:
    """The key a proof was signed with, and the DID the credential is bound to."""

    did: str
    public_key: VerifyingKey


async def issue_credential(
    session: AsyncSession,
    ctx: IssuingContext,
    resolver: KeyResolver,
    authorization: str | None,
    body: Any,
) -> dict[str, Any]:
    """Credential Request → Credential Response; OAuthError (nothing kept) on any failure."""
    offer = await _authorized_offer(session, authorization)
    configuration = _configuration(body)
    holder, nonce = await _verify_key_proof(_single_jwt_proof(body), ctx.public_url, resolver)
    credential = await _offered_badge(session, offer)
    issuance = await _claim(session, offer, configuration, nonce)
    try:
        issued = await reissue_to_holder(session, ctx, credential, holder.did)
    except DomainError as error:
        raise OAuthError("credential_request_denied", error.detail) from None
    issuance.issued_credential_id = issued.id
    await session.flush()
    value: Any = json.loads(issued.document) if configuration == LDP_VC else issued.jwt
    if value is None:
        raise OAuthError("credential_request_denied", "this badge has no VC-JWT form")
    return {"credentials": [{"credential": value}]}


async def _offered_badge(session: AsyncSession, offer: PreAuthorizedCode) -> Credential:
    """The offer's badge, if it may still go to a wallet (not revoked, suspended, expired)."""
    credential = await session.get(Credential, offer.credential_id)
    if credential is None:
        raise OAuthError("credential_request_denied", "the badge of this offer no longer exists")
    try:
        await check_reissuable(session, credential)
    except DomainError as error:
        raise OAuthError("credential_request_denied", error.detail) from None
    return credential


async def _claim(
    session: AsyncSession, offer: PreAuthorizedCode, configuration: str, nonce: str
) -> Oid4vciIssuance:
    """Spend the nonce and take the offer's one issuance of `configuration`."""
    already = f"this offer's {configuration} was already issued"
    if await session.get(Oid4vciIssuance, (offer.id, configuration)) is not None:
        raise OAuthError("credential_request_denied", already)
    await _use_nonce(session, nonce)
    issuance = Oid4vciIssuance(offer_id=offer.id, configuration_id=configuration)
    session.add(issuance)
    try:
        await session.flush()  # the primary key settles a race between two requests
    except IntegrityError:
        raise OAuthError("credential_request_denied", already) from None
    return issuance


async def _authorized_offer(session: AsyncSession, authorization: str | None) -> PreAuthorizedCode:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise OAuthError(
            "invalid_token", "a bearer access token is required", status_code=401, bearer=True
        )
    row = await session.scalar(
        select(PreAuthorizedCode).where(
            PreAuthorizedCode.access_token_hash == secret_digest(token.strip())
        )
    )
    expires = row.access_token_expires_at if row is not None else None
    if row is None or expires is None or expires <= datetime.now(UTC):
        raise OAuthError(
            "invalid_token", "the access token is unknown or expired", status_code=401, bearer=True
        )
    return row


def _configuration(body: Any) -> str:
    if not isinstance(body, dict):
        raise OAuthError("invalid_credential_request", "the Credential Request is a JSON object")
    if "credential_identifier" in body:
        raise OAuthError(
            "unknown_credential_identifier",
            "no credential identifiers are issued; use credential_configuration_id",
        )
    if "credential_response_encryption" in body:
        raise OAuthError(
            "invalid_encryption_parameters", "encrypted Credential Responses are not supported"
        )
    configuration = body.get("credential_configuration_id")
    if configuration is None:
        raise OAuthError("invalid_credential_request", '"credential_configuration_id" is required')
    if configuration not in CONFIGURATIONS:
        raise OAuthError(
            "unknown_credential_configuration",
            f"unknown credential configuration {configuration!r}; "
            f"offered: {', '.join(CONFIGURATIONS)}",
        )
    return str(configuration)


def _single_jwt_proof(body: Mapping[str, Any]) -> str:
    """The one `jwt` key proof of `proofs` (or of the pre-1.0 `proof` object)."""
    proofs = body.get("proofs")
    if proofs is None and isinstance(body.get("proof"), Mapping):
        legacy = body["proof"]  # drafts before 1.0: {"proof_type": "jwt", "jwt": "..."}
        proofs = {legacy.get("proof_type"): [legacy.get("jwt")]}
    if not isinstance(proofs, Mapping) or not proofs:
        raise OAuthError("invalid_proof", '"proofs" is required: a jwt proof of the holder key')
    if set(proofs) != {"jwt"}:
        raise OAuthError("invalid_proof", f"only jwt proofs are accepted, not {sorted(proofs)}")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts or not all(isinstance(j, str) for j in jwts):
        raise OAuthError("invalid_proof", '"proofs.jwt" must be a non-empty array of JWTs')
    if len(jwts) > 1:
        raise OAuthError("invalid_credential_request", "batch issuance is not supported")
    return str(jwts[0])


async def _verify_key_proof(
    token: str, credential_issuer: str, resolver: KeyResolver
) -> tuple[HolderKey, str]:
    """App. F.1 and F.4: the holder key the proof was signed with, and its nonce."""
    try:
        header, payload = decode_unverified(token)
    except VcJwtError as error:
        raise OAuthError("invalid_proof", f"the key proof is not a JWT: {error}") from None
    if header.get("typ") != PROOF_TYP:
        raise OAuthError("invalid_proof", f'the key proof\'s "typ" must be "{PROOF_TYP}"')
    if header.get("alg") not in PROOF_ALGORITHMS:
        raise OAuthError(
            "invalid_proof", f'"alg" {header.get("alg")!r} is not one of {list(PROOF_ALGORITHMS)}'
        )
    holder = await _holder_key(header, resolver)
    try:
        verify_compact_jws(token, holder.public_key)
    except JwsError as error:
        raise OAuthError("invalid_proof", f"the key proof does not verify: {error}") from None
    _check_proof_claims(payload, credential_issuer)
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError("invalid_proof", 'the key proof has no "nonce" (a c_nonce is required)')
    return holder, nonce


async def _holder_key(header: Mapping[str, Any], resolver: KeyResolver) -> HolderKey:
    named = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(named) != 1 or named[0] == "x5c":
        raise OAuthError("invalid_proof", 'the key proof must name its key by "kid" or "jwk"')
    if named[0] == "jwk":
        jwk = header["jwk"]
        try:
            if not isinstance(jwk, Mapping):
                raise ValueError('"jwk" must be an object')
            return HolderKey(did_jwk_for(jwk), any_public_key_from_jwk(jwk))
        except ValueError as error:
            raise OAuthError("invalid_proof", f'"jwk": {error}') from None
    kid = header["kid"]
    if not isinstance(kid, str) or not kid.startswith(("did:key:", "did:jwk:")):
        raise OAuthError("invalid_proof", '"kid" must be a did:key or did:jwk DID URL')
    try:
        key = await resolver.resolve(kid, purpose="authentication")
    except KeyResolutionError as error:
        raise OAuthError("invalid_proof", f'"kid" {kid}: {error}') from None
    if key is None:
        raise OAuthError("invalid_proof", f'"kid" {kid} cannot be resolved')
    return HolderKey(key.controller, key.public_key)


def _check_proof_claims(payload: Mapping[str, Any], credential_issuer: str) -> None:
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if credential_issuer not in audiences:
        raise OAuthError(
            "invalid_proof", f'"aud" must be the credential issuer {credential_issuer}'
        )
    issued_at = payload.get("iat")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        raise OAuthError("invalid_proof", '"iat" must be a NumericDate')
    now = time.time()
    if not math.isfinite(issued_at) or issued_at > now + CLOCK_SKEW.total_seconds():
        raise OAuthError("invalid_proof", '"iat" is in the future')
    if issued_at < now - (PROOF_MAX_AGE + CLOCK_SKEW).total_seconds():
        raise OAuthError("invalid_proof", "the key proof is too old; make a new one")


async def _use_nonce(session: AsyncSession, nonce: str) -> None:
    """Spend the c_nonce: unknown, expired or used nonces are `invalid_nonce` (F.4)."""
    now = datetime.now(UTC)
    spent = await session.execute(
        update(CNonce)
        .where(
            CNonce.nonce_hash == secret_digest(nonce),
            CNonce.used_at.is_(None),
            CNonce.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        raise OAuthError("invalid_nonce", "the c_nonce is unknown, expired or used; get a new one")
