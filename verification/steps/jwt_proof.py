"""VC-JWT proof (OB 3.0 §8.2): JOSE header, key, JWS signature, claim mapping (§8.2.6).

The header may hold only `alg` (RS256, ES256 or EdDSA), `kid` and/or `jwk`, and `typ`
(`JWT`; `vc+jwt` from VC-JOSE-COSE issuers is accepted too). The key comes from `kid` (a
DID URL or HTTPS key URL through the resolver; a bare `kid` from the issuer's JWK set) or
from the `jwk` header, whose provenance must then be shown: the issuer is that very key
(did:jwk / did:key), lists it for assertionMethod in its did:web DID document, or
publishes it in its JWK set. The claim mapping is checked here, but the validity window is
left to the validity step, so an expired JWT is reported as expired, not as a bad signature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys.jose import JwsError, VerifyingKey, any_public_key_from_jwk, verify_compact_jws
from keys.resolution import (
    KeyResolutionError,
    ResolvedKey,
)
from verification.context import ProofOutcome, RunContext
from verification.model import id_of, issuer_id, parse_datetime, subject_of
from verification.resolvers import key_from_issuer_jwks

ALGORITHMS: Final = ("RS256", "ES256", "EdDSA")
HEADER_MEMBERS: Final = frozenset({"alg", "kid", "jwk", "typ"})
TYPES: Final = ("JWT", "vc+jwt")


def _same_key(a: VerifyingKey, b: VerifyingKey) -> bool:
    spki = Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    return type(a) is type(b) and a.public_bytes(*spki) == b.public_bytes(*spki)


def header_problems(header: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    extra = sorted(set(header) - HEADER_MEMBERS)
    if extra:
        problems.append(f"JOSE header has members OB 3.0 does not allow: {', '.join(extra)}")
    if header.get("alg") not in ALGORITHMS:
        problems.append(f'"alg" {header.get("alg")!r} is not one of {", ".join(ALGORITHMS)}')
    if "typ" in header and header["typ"] not in TYPES:
        problems.append(f'"typ" {header["typ"]!r} is not "JWT"')
    if "kid" not in header and "jwk" not in header:
        problems.append('the JOSE header needs a "kid" or a "jwk"')
    return problems


async def _key(ctx: RunContext, header: Mapping[str, Any], issuer: str) -> ResolvedKey:
    kid = header.get("kid")
    if isinstance(kid, str) and kid:
        reference = issuer + kid if kid.startswith("#") else kid
        if reference.startswith(("did:", "https:", "http:")):
            found = await ctx.services.resolver.resolve(reference, purpose="assertionMethod")
            if found is None:
                raise KeyResolutionError(f"kid {kid}: not a supported key reference")
            return found
        return await key_from_issuer_jwks(ctx.services.fetcher, issuer, kid=kid)
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise KeyResolutionError('the "jwk" header must be a JSON object')
    try:
        key = any_public_key_from_jwk(jwk)
    except ValueError as error:
        raise KeyResolutionError(f"jwk header: {error}") from None
    if issuer.startswith(("did:jwk:", "did:key:")):
        # The issuer DID is itself a key: the header key must be that key.
        issuer_key = await ctx.services.resolver.resolve(issuer, purpose="assertionMethod")
        if issuer_key is not None and _same_key(issuer_key.public_key, key):
            return ResolvedKey(f"{issuer}#jwk", issuer, key)
        return ResolvedKey("jwk header", "", key)
    try:
        if issuer.startswith("did:web:"):
            return await _listed_by_did(ctx, issuer, key)
        return await key_from_issuer_jwks(ctx.services.fetcher, issuer, jwk=jwk)
    except KeyResolutionError as error:
        # The signature can still be checked; the binding step reports the provenance gap.
        ctx.binding_problem_message = f"the jwk header key is not the issuer's: {error}"
        ctx.binding_unreachable = error.unreachable
        return ResolvedKey("jwk header", "", key)


async def _listed_by_did(ctx: RunContext, issuer: str, key: VerifyingKey) -> ResolvedKey:
    """The `jwk` header key, if the issuer's DID document lists it for assertionMethod."""
    for listed in await ctx.services.resolver.keys_of(issuer):
        if _same_key(listed.public_key, key):
            return listed
    raise KeyResolutionError(f"{issuer} does not list it for assertionMethod")


def claim_problems(
    payload: Mapping[str, Any],
    credential: Mapping[str, Any],
    signed_window: tuple[datetime, timedelta] | None = None,
) -> list[str]:
    """§8.2.6: each registered claim must say what the credential says.

    `signed_window` (now, allowed clock skew) is for status list credentials: OB 3.0's
    rules are for Open Badges, while a W3C status list is re-signed whenever a bit changes,
    so issuers write its `nbf` as the signing time. Then the time claims need only hold now.
    """
    problems: list[str] = []
    if payload.get("iss") != issuer_id(credential):
        problems.append(f'"iss" {payload.get("iss")!r} is not the issuer id')
    if payload.get("jti") != credential.get("id"):
        problems.append(f'"jti" {payload.get("jti")!r} is not the credential "id"')
    subject = id_of(subject_of(credential))
    if "sub" in payload and subject is not None and payload["sub"] != subject:
        problems.append(f'"sub" {payload["sub"]!r} is not the credentialSubject id')
    for claim, names in (
        ("nbf", ("validFrom", "issuanceDate")),
        ("exp", ("validUntil", "expirationDate")),
    ):
        name = next((n for n in names if n in credential), None)
        value = payload.get(claim)
        if value is None:
            if signed_window is None and (claim == "nbf" or name is not None):
                problems.append(f'"{claim}" claim is missing')
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f'"{claim}" must be a NumericDate')
        elif signed_window is not None:
            problems += _outside_window(claim, value, *signed_window)
        else:
            date = parse_datetime(credential.get(name)) if name else None
            if date is None or math.floor(value) != math.floor(date.timestamp()):
                problems.append(f'"{claim}" {value} does not match "{name or names[0]}"')
    return problems


def _outside_window(claim: str, value: float, now: datetime, skew: timedelta) -> list[str]:
    moment = now.timestamp()
    if claim == "nbf" and value > moment + skew.total_seconds():
        return [f'"nbf" {value} is in the future']
    if claim == "exp" and value < moment - skew.total_seconds():
        return [f'"exp" {value} has passed']
    return []


async def check_jwt(ctx: RunContext) -> ProofOutcome:
    header, token, credential = ctx.jwt_header, ctx.presented.jwt, ctx.credential or {}
    problems = header_problems(header)
    issuer = issuer_id(credential)
    if problems or token is None or issuer is None:
        return ProofOutcome(None, "; ".join(problems) or "the JWT names no issuer")
    try:
        key = await _key(ctx, header, issuer)
    except KeyResolutionError as error:
        return ProofOutcome(None, f"JWT key: {error}", error=error.unreachable)
    try:
        verify_compact_jws(token, key.public_key)
    except (JwsError, ValueError) as error:
        return ProofOutcome(None, str(error))
    window = (ctx.now, ctx.services.clock_skew) if ctx.kind == "status_list" else None
    problems = claim_problems(ctx.jwt_payload, credential, window)
    if problems:
        return ProofOutcome(None, "JWT claims disagree with the credential: " + "; ".join(problems))
    return ProofOutcome(key, f"{header['alg']} VC-JWT signature by {key.id} verifies")
