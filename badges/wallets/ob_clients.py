"""Teachers' apps on the OB 3.0 API (OB 3.0 §7): registered clients, authorization codes,
access and refresh tokens.

The OAuth protocol itself (request validation, PKCE, error bodies) is authlib's, in the HTTP
layer; this module keeps what the protocol decides. Secrets, codes and tokens are 256-bit
random strings stored as SHA-256 digests (see `badges.issuers.clients`). Consuming a code and
rotating a refresh token are conditional updates, so two racing requests cannot both win;
the loser's replay revokes the whole grant (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ObApiClient, ObApiToken, ObAuthorizationCode, Teacher

OB_SCOPE_PREFIX: Final = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CREDENTIAL_READ: Final = OB_SCOPE_PREFIX + "credential.readonly"
CREDENTIAL_UPSERT: Final = OB_SCOPE_PREFIX + "credential.upsert"
PROFILE_READ: Final = OB_SCOPE_PREFIX + "profile.readonly"
PROFILE_UPDATE: Final = OB_SCOPE_PREFIX + "profile.update"
OB_SCOPES: Final = (CREDENTIAL_READ, CREDENTIAL_UPSERT, PROFILE_READ, PROFILE_UPDATE)
# Asked for by the OB 3.0 examples to get a refresh token; refresh tokens go to every client
# registered for the refresh_token grant, so this scope only has to be accepted.
OFFLINE_ACCESS: Final = "offline_access"
SUPPORTED_SCOPES: Final = (*OB_SCOPES, OFFLINE_ACCESS)
CODE_LIFETIME: Final = timedelta(minutes=10)  # OB 3.0 §7.4 / RFC 6749 §4.1.2 recommend 600 s


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


# --- clients -----------------------------------------------------------------------------


async def register_client(
    session: AsyncSession, client_id: str, secret: str, metadata: Mapping[str, Any]
) -> ObApiClient:
    """Store a client authlib has validated (RFC 7591); only the secret's digest is kept."""
    row = ObApiClient(
        client_id=client_id,
        secret_hash=digest(secret),
        name=str(metadata.get("client_name") or client_id)[:300],
        redirect_uris=list(metadata.get("redirect_uris") or []),
        grant_types=list(metadata.get("grant_types") or ["authorization_code"]),
        scope=str(metadata.get("scope") or ""),
        client_metadata=dict(metadata),
    )
    session.add(row)
    await session.flush()
    return row


def new_client_id() -> str:
    return "ob_" + secrets.token_urlsafe(18)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def find_client(session: AsyncSession, client_id: str | None) -> ObApiClient | None:
    if not client_id:
        return None
    return await session.scalar(select(ObApiClient).where(ObApiClient.client_id == client_id))


def secret_matches(client: ObApiClient, secret: str) -> bool:
    return client.disabled_at is None and hmac.compare_digest(client.secret_hash, digest(secret))


# --- authorization codes -----------------------------------------------------------------


@dataclass(frozen=True)
class CodeRequest:
    """What the teacher approved, to be bound to the code."""

    client: ObApiClient
    teacher_id: uuid.UUID
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str


async def store_code(session: AsyncSession, code: str, request: CodeRequest) -> None:
    session.add(
        ObAuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.id,
            teacher_id=request.teacher_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            expires_at=_now() + CODE_LIFETIME,
        )
    )
    await session.flush()


async def find_code(session: AsyncSession, code: str | None) -> ObAuthorizationCode | None:
    """The code row, used or not (a used one must still be found, to revoke its tokens)."""
    if not code:
        return None
    return await session.scalar(
        select(ObAuthorizationCode).where(ObAuthorizationCode.code_hash == digest(code))
    )


def code_is_live(row: ObAuthorizationCode) -> bool:
    return row.used_at is None and row.expires_at > _now()


async def consume_code(session: AsyncSession, row: ObAuthorizationCode) -> bool:
    """Mark the code used; False if another request used it first."""
    result = await session.execute(
        update(ObAuthorizationCode)
        .where(ObAuthorizationCode.id == row.id, ObAuthorizationCode.used_at.is_(None))
        .values(used_at=_now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


# --- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenLifetimes:
    access: timedelta
    refresh: timedelta


async def store_token(
    session: AsyncSession,
    token: Mapping[str, Any],
    *,
    grant_id: uuid.UUID,
    client: ObApiClient,
    teacher_id: uuid.UUID,
    lifetimes: TokenLifetimes,
) -> ObApiToken:
    """Keep the digests of a token response authlib generated."""
    now = _now()
    refresh = token.get("refresh_token")
    row = ObApiToken(
        grant_id=grant_id,
        client_id=client.id,
        teacher_id=teacher_id,
        access_token_hash=digest(str(token["access_token"])),
        refresh_token_hash=digest(str(refresh)) if refresh else None,
        scope=str(token.get("scope") or ""),
        issued_at=now,
        expires_at=now + lifetimes.access,
        refresh_expires_at=now + lifetimes.refresh if refresh else None,
    )
    session.add(row)
    await session.flush()
    return row


async def find_by_refresh_token(session: AsyncSession, token: str | None) -> ObApiToken | None:
    if not token:
        return None
    return await session.scalar(
        select(ObApiToken).where(ObApiToken.refresh_token_hash == digest(token))
    )


async def find_token(
    session: AsyncSession, token: str | None, hint: str | None = None
) -> ObApiToken | None:
    """The row holding `token` as its access or refresh token (the hint is only a hint)."""
    if not token:
        return None
    hashed = digest(token)
    rows = await session.scalars(
        select(ObApiToken).where(
            or_(ObApiToken.access_token_hash == hashed, ObApiToken.refresh_token_hash == hashed)
        )
    )
    return rows.first()


def refresh_is_live(row: ObApiToken) -> bool:
    expires = row.refresh_expires_at
    return row.revoked_at is None and expires is not None and expires > _now()


async def retire_token(session: AsyncSession, row: ObApiToken) -> bool:
    """Revoke a rotated token row; False if another refresh rotated it first."""
    result = await session.execute(
        update(ObApiToken)
        .where(ObApiToken.id == row.id, ObApiToken.revoked_at.is_(None))
        .values(revoked_at=_now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def revoke_token(session: AsyncSession, row: ObApiToken) -> None:
    row.revoked_at = row.revoked_at or _now()
    await session.flush()


async def revoke_grant(session: AsyncSession, grant_id: uuid.UUID) -> None:
    """Revoke every token descended from one authorization code."""
    await session.execute(
        update(ObApiToken)
        .where(ObApiToken.grant_id == grant_id, ObApiToken.revoked_at.is_(None))
        .values(revoked_at=_now())
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class TeacherGrant:
    """A live bearer token: whose account, which app, which scopes."""

    teacher: Teacher
    client_id: uuid.UUID
    scopes: frozenset[str]


async def authenticate_bearer(session: AsyncSession, token: str) -> TeacherGrant | None:
    """The grant behind an access token; None if unknown, expired, revoked or disabled."""
    found = (
        await session.execute(
            select(ObApiToken, ObApiClient)
            .join(ObApiClient, ObApiClient.id == ObApiToken.client_id)
            .where(ObApiToken.access_token_hash == digest(token))
        )
    ).first()
    if found is None:
        return None
    row, client = found
    if row.revoked_at or client.disabled_at or row.expires_at <= _now():
        return None
    teacher = await session.get(Teacher, row.teacher_id)
    if teacher is None:
        return None
    return TeacherGrant(teacher, client.id, frozenset(row.scope.split()))
