"""Open Badges 3.0 VC-JWT (OB 3.0 §8.2): a credential signed as a compact JWS.

Lattice issues the VCDM 2.0 form: the JWT payload is the credential itself plus the
registered claims that §8.2.6 maps from it (`iss` = issuer id, `jti` = id, `nbf` =
validFrom, `sub` = credentialSubject.id, `exp` = validUntil). The JOSE header is exactly
`{alg, kid, typ}`: OB 3.0 allows no other header parameters.

Verification accepts that form and the VCDM 1.1 form, whose credential sits in a `vc`
claim with the registered claims standing in for the fields it leaves out. The signing
algorithm follows from the verifier's key, never from the token's header, so a token
cannot pick a weaker or different key family (or `none`). PyJWT does the JWS signature;
the claim checks are here so the clock can be injected. Every failure is a `VcJwtError`
whose message names the claim or field at fault.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from keys.keypair import JWT_ALGORITHMS, KeyPair, algorithm_of

JWT_CLAIMS: Final = ("iss", "jti", "nbf", "sub", "exp", "iat", "aud")
"""Registered claims that are not part of the credential in the VCDM 2.0 form."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_NUMERIC_DATE: Final = 253402300800  # 10000-01-01T00:00:00Z, past Python's datetime
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
# XML Schema dateTime: optional fraction, optional zone (absent = UTC here).
_DATE_TIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?"
)


class VcJwtError(ValueError):
    """A VC-JWT is malformed, does not verify, or disagrees with its credential."""


def encode_vc_jwt(credential: Mapping[str, Any], key: KeyPair, *, kid: str) -> str:
    """Sign `credential` (VCDM 2.0, any embedded proof kept) as an OB 3.0 VC-JWT.

    `kid` is the DID URL of the key's `JsonWebKey` verification method.
    """
    if not isinstance(credential, Mapping):
        raise TypeError("credential must be a mapping")
    if not isinstance(key, KeyPair):
        raise TypeError("key must be a KeyPair")
    if not isinstance(kid, str) or not kid:
        raise VcJwtError("kid must be a non-empty string (a DID URL)")
    reserved = sorted(set(JWT_CLAIMS) & set(credential))
    if reserved:
        raise VcJwtError(f"credential has top-level JWT claim names: {', '.join(reserved)}")
    payload = {**credential, **_claims_for(credential)}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # Signing pre-serialized bytes with PyJWS keeps the payload exactly as built here;
    # its header is {"alg"} + ours, and nothing else.
    return jwt.PyJWS().encode(
        body.encode("utf-8"),
        key.private_key,
        algorithm=key.jwt_algorithm,
        headers={"kid": kid, "typ": "JWT"},
    )


def _claims_for(credential: Mapping[str, Any]) -> dict[str, Any]:
    """§8.2.6 registered claims of a VCDM 2.0 credential."""
    issuer = _issuer_id(credential)
    if issuer is None:
        raise VcJwtError('credential "issuer" must be a string or an object with an "id"')
    if not isinstance(credential.get("id"), str):
        raise VcJwtError('credential "id" must be a string; it becomes the "jti" claim')
    if "validFrom" not in credential:
        raise VcJwtError('credential has no "validFrom"; it becomes the "nbf" claim')
    claims: dict[str, Any] = {
        "iss": issuer,
        "jti": credential["id"],
        "nbf": _numeric_date(credential["validFrom"], "validFrom"),
    }
    subject = _subject_id(credential)
    if subject is not None:
        claims["sub"] = subject
    if "validUntil" in credential:
        claims["exp"] = _numeric_date(credential["validUntil"], "validUntil")
    return claims


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(header, payload)` of a compact JWS, without checking anything but its shape."""
    if not isinstance(token, str):
        raise VcJwtError(f"a VC-JWT must be a string, not {type(token).__name__}")
    parts = token.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts):
        raise VcJwtError("not a compact JWS: expected three base64url parts joined by '.'")
    return _json_part(parts[0], "header"), _json_part(parts[1], "payload")


def _json_part(part: str, name: str) -> dict[str, Any]:
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(data.decode("utf-8"))
    except (binascii.Error, ValueError) as error:
        raise VcJwtError(f"JWT {name} is not base64url-encoded JSON: {error}") from None
    except RecursionError:
        # json.loads recurses per level: a hostile payload nested 50,000 deep.
        raise VcJwtError(f"JWT {name} nests too deeply to be read") from None
    if not isinstance(value, dict):
        raise VcJwtError(f"JWT {name} must be a JSON object")
    return value


def verify_vc_jwt(
    token: str,
    public_key: Ed25519PublicKey | RSAPublicKey,
    *,
    now: datetime | None = None,
    leeway_seconds: int = 300,
) -> dict[str, Any]:
    """Check a VC-JWT against the issuer's `public_key` and return its credential.

    Checks, in order: the JWS signature (EdDSA for an Ed25519 key, RS256 for RSA), the
    §8.2.6 mapping between claims and credential, and `nbf`/`exp` against `now` give or
    take `leeway_seconds`.
    """
    expected_alg = JWT_ALGORITHMS[algorithm_of(public_key)]
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if isinstance(leeway_seconds, bool) or not isinstance(leeway_seconds, int):
        raise TypeError("leeway_seconds must be an int")
    if leeway_seconds < 0:
        raise ValueError("leeway_seconds must not be negative")

    header, payload = decode_unverified(token)
    _check_signature(token, header, public_key, expected_alg)
    credential = _credential_from(payload)
    _check_claim_mapping(payload, credential)
    _check_validity_window(payload, now, leeway_seconds)
    return credential


def _check_signature(
    token: str,
    header: Mapping[str, Any],
    public_key: Ed25519PublicKey | RSAPublicKey,
    expected_alg: str,
) -> None:
    alg = header.get("alg")
    if alg != expected_alg:
        raise VcJwtError(
            f'JWT header "alg" is {alg!r}; the issuer\'s {algorithm_of(public_key)} key '
            f'verifies only "{expected_alg}"'
        )
    try:
        jwt.PyJWS().decode_complete(token, key=public_key, algorithms=[expected_alg])
    except jwt.InvalidSignatureError:
        raise VcJwtError("JWT signature does not verify with the issuer's key") from None
    except jwt.PyJWTError as error:
        raise VcJwtError(f"JWT rejected: {error}") from error


def _credential_from(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The credential a payload carries: itself minus the claims, or its `vc` claim."""
    if "vc" not in payload:
        return {name: value for name, value in payload.items() if name not in JWT_CLAIMS}
    credential = payload["vc"]
    if not isinstance(credential, Mapping):
        raise VcJwtError('JWT "vc" claim must be a JSON object')
    return _fill_from_claims(dict(credential), payload)


def _fill_from_claims(credential: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """VC-JWT 1.1 decoding: registered claims stand in for fields the `vc` claim omits."""
    if "issuer" not in credential and "iss" in payload:
        credential["issuer"] = payload["iss"]
    if "id" not in credential and "jti" in payload:
        credential["id"] = payload["jti"]
    if not {"validFrom", "issuanceDate"} & credential.keys() and "nbf" in payload:
        credential["issuanceDate"] = _format_numeric_date(_numeric_claim(payload, "nbf"))
    if not {"validUntil", "expirationDate"} & credential.keys() and "exp" in payload:
        credential["expirationDate"] = _format_numeric_date(_numeric_claim(payload, "exp"))
    subject = credential.get("credentialSubject")
    if "sub" in payload and isinstance(subject, Mapping) and "id" not in subject:
        credential["credentialSubject"] = {**subject, "id": payload["sub"]}
    return credential


def _check_claim_mapping(payload: Mapping[str, Any], credential: Mapping[str, Any]) -> None:
    """§8.2.6: each registered claim must say what the credential says."""
    problems: list[str] = []
    issuer, iss = _issuer_id(credential), payload.get("iss")
    if iss is None:
        problems.append('"iss" claim is missing')
    elif iss != issuer:
        problems.append(f'"iss" {iss!r} is not the issuer id {issuer!r}')
    if payload.get("jti") != credential.get("id"):
        problems.append(f'"jti" {payload.get("jti")!r} is not the "id" {credential.get("id")!r}')
    sub, subject = payload.get("sub"), _subject_id(credential)
    if sub is not None and subject is not None and sub != subject:
        problems.append(f'"sub" {sub!r} is not the credentialSubject "id" {subject!r}')
    problems += _date_problems(payload, credential, "nbf", ("validFrom", "issuanceDate"))
    problems += _date_problems(payload, credential, "exp", ("validUntil", "expirationDate"))
    if problems:
        raise VcJwtError("JWT claims disagree with the credential: " + "; ".join(problems))


def _date_problems(
    payload: Mapping[str, Any], credential: Mapping[str, Any], claim: str, fields: tuple[str, str]
) -> list[str]:
    """Why a time claim and the credential's date (first of `fields` present) disagree."""
    field = next((name for name in fields if name in credential), None)
    if claim not in payload:
        if claim == "nbf":
            return ['"nbf" claim is missing']
        return [f'"{claim}" claim is missing; the credential has "{field}"'] if field else []
    if field is None:
        return [f'"{claim}" claim has no "{fields[0]}" in the credential']
    expected = _numeric_date(credential[field], field)
    actual = _numeric_claim(payload, claim)
    if math.floor(actual) != expected:
        return [f'"{claim}" {actual} is not "{field}" {credential[field]!r} ({expected})']
    return []


def _check_validity_window(payload: Mapping[str, Any], now: datetime, leeway: int) -> None:
    current = now.timestamp()
    not_before = _numeric_claim(payload, "nbf")
    if not_before > current + leeway:
        raise VcJwtError(f"JWT is not valid yet: nbf {_format_numeric_date(not_before)}")
    if "exp" in payload:
        expires = _numeric_claim(payload, "exp")
        if expires <= current - leeway:
            raise VcJwtError(f"JWT has expired: exp {_format_numeric_date(expires)}")


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    """The id of the single credentialSubject, or None (no id, or several subjects)."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    identifier = subject.get("id") if isinstance(subject, Mapping) else None
    return identifier if isinstance(identifier, str) else None


def _numeric_claim(payload: Mapping[str, Any], claim: str) -> float:
    value = payload.get(claim)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < _MAX_NUMERIC_DATE
    ):
        raise VcJwtError(f'"{claim}" claim must be a NumericDate (seconds since 1970): {value!r}')
    return value


def _format_numeric_date(value: float) -> str:
    return datetime.fromtimestamp(math.floor(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _numeric_date(value: Any, field: str) -> int:
    """A credential date as a NumericDate: whole seconds since the epoch, rounded down."""
    return (_parse_date_time(value, field) - _EPOCH) // timedelta(seconds=1)


def _parse_date_time(value: Any, field: str) -> datetime:
    """Parse an XML Schema dateTime; one without a time zone is taken as UTC."""
    match = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise VcJwtError(f'"{field}" {value!r} is not an XML Schema dateTime')
    year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
    microsecond = int((match[7] or "").ljust(6, "0")[:6])
    zone = match[8]
    tzinfo = UTC
    if zone not in (None, "Z"):
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tzinfo = timezone(-offset if zone[0] == "-" else offset)
    # XML Schema allows 24:00:00 for the midnight that ends a day.
    end_of_day = hour == 24 and minute == second == microsecond == 0
    try:
        parsed = datetime(
            year, month, day, 0 if end_of_day else hour, minute, second, microsecond, tzinfo
        )
    except ValueError as error:
        raise VcJwtError(f'"{field}" {value!r} is not a valid date and time: {error}') from None
    return parsed + timedelta(days=1) if end_of_day else parsed
