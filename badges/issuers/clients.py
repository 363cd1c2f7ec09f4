"""Provider machine clients and their bearer tokens (OAuth 2.0 client credentials).

Client secrets and access tokens are 256-bit random strings, so a plain SHA-256 is enough to
store them: unlike passwords they cannot be guessed, and a fast hash keeps token checks cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from badges.errors import Conflict, InvalidInput, NotFound
from storage.models import Agency, Client, Issuer, OAuthToken

PROVIDER_SCOPES: Final = (
    "achievements:write",
    "credentials:issue",
    "credentials:revoke",
    "credentials:read",
    "webhooks:manage",
)


@dataclass(frozen=True)
class NewClient:
    """A created client with its secret, which is shown this once and never stored."""

    client: Client
    secret: str


@dataclass(frozen=True)
class TokenGrant:
    client: Client
    issuer: Issuer  # with its keys: every issuing request signs with them
    scopes: frozenset[str]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# What a state agency's clients may do besides issuing (stack credentials) as an issuer.
AGENCY_SCOPES: Final = ("stacks:write", "registry:write", "reports:read")
ALL_SCOPES: Final = (*PROVIDER_SCOPES, *AGENCY_SCOPES)


def parse_scopes(scopes: Iterable[str], allowed: Sequence[str] = PROVIDER_SCOPES) -> list[str]:
    """The requested scopes (all `allowed` ones when none is named); unknown ones refused."""
    chosen = list(dict.fromkeys(scope for scope in scopes if scope))
    unknown = [scope for scope in chosen if scope not in allowed]
    if unknown:
        raise InvalidInput(
            f"scope(s) {', '.join(unknown)} not available here; known: {', '.join(allowed)}",
            field=("scopes",),
        )
    return chosen or list(allowed)


async def create_client(
    session: AsyncSession, issuer: Issuer, name: str, scopes: Iterable[str] = ()
) -> NewClient:
    """A client of `issuer`; an agency's issuer may also hold the agency scopes."""
    is_agency = await session.scalar(select(Agency.id).where(Agency.issuer_id == issuer.id))
    allowed = ALL_SCOPES if is_agency else PROVIDER_SCOPES
    secret = secrets.token_urlsafe(32)
    client = Client(
        id=uuid.uuid4(),
        client_id="lc_" + secrets.token_urlsafe(16),
        secret_hash=_digest(secret),
        issuer_id=issuer.id,
        name=name,
        scopes=" ".join(parse_scopes(scopes, allowed)),
    )
    session.add(client)
    await session.flush()
    return NewClient(client=client, secret=secret)


def secret_matches(client: Client, secret: str) -> bool:
    return client.disabled_at is None and hmac.compare_digest(client.secret_hash, _digest(secret))


async def find_client(session: AsyncSession, client_id: str) -> Client | None:
    return await session.scalar(select(Client).where(Client.client_id == client_id))


@dataclass(frozen=True)
class ListedClient:
    client: Client
    issuer_slug: str


@dataclass(frozen=True)
class RevokedClient:
    """A revoked client, and how many of its live tokens the revocation ended."""

    client: Client
    tokens_revoked: int


@dataclass(frozen=True)
class NewSecret:
    """A client's replacement secret, shown this once and never stored."""

    client: Client
    secret: str
    tokens_revoked: int


async def list_clients(session: AsyncSession, issuer: Issuer | None = None) -> list[ListedClient]:
    """Every client (of `issuer` only, when given), revoked ones included, oldest first."""
    query = select(Client, Issuer.slug).join(Issuer, Issuer.id == Client.issuer_id)
    if issuer is not None:
        query = query.where(Client.issuer_id == issuer.id)
    rows = await session.execute(query.order_by(Issuer.slug, Client.created_at, Client.client_id))
    return [ListedClient(client, slug) for client, slug in rows]


async def revoke_client(session: AsyncSession, client_id: str) -> RevokedClient:
    """Disable the client for good and end its tokens. Revoking again changes nothing: the
    first revocation's date stays (one conditional UPDATE sets it once)."""
    client = await _existing_client(session, client_id)
    now = datetime.now(UTC)
    await session.execute(
        update(Client)
        .where(Client.id == client.id, Client.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    ended = await _revoke_tokens(session, client, now)
    await session.refresh(client)
    return RevokedClient(client, ended)


async def rotate_client_secret(session: AsyncSession, client_id: str) -> NewSecret:
    """A new secret for the client (shown this once); the old one stops working and the
    tokens it obtained are revoked. A revoked client gets none: it stays revoked."""
    client = await _existing_client(session, client_id)
    secret = secrets.token_urlsafe(32)
    changed = await session.execute(
        update(Client)
        .where(Client.id == client.id, Client.disabled_at.is_(None))
        .values(secret_hash=_digest(secret))
    )
    if getattr(changed, "rowcount", 0) != 1:
        raise Conflict(f"client {client_id!r} is revoked; create a new client instead")
    ended = await _revoke_tokens(session, client, datetime.now(UTC))
    await session.refresh(client)
    return NewSecret(client, secret, ended)


async def _existing_client(session: AsyncSession, client_id: str) -> Client:
    client = await find_client(session, client_id)
    if client is None:
        raise NotFound(f"no client {client_id!r}", field=("client_id",))
    return client


async def _revoke_tokens(session: AsyncSession, client: Client, now: datetime) -> int:
    ended = await session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.client_id == client.id,
            OAuthToken.revoked_at.is_(None),
            OAuthToken.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(getattr(ended, "rowcount", 0))


async def store_token(
    session: AsyncSession, client: Client, access_token: str, scopes: str, lifetime: timedelta
) -> OAuthToken:
    now = datetime.now(UTC)
    row = OAuthToken(
        token_hash=_digest(access_token),
        client_id=client.id,
        scopes=scopes,
        issued_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return row


# Built once (every authenticated request runs it): see `badge_alignments._VERSION`.
_GRANT: Final = (
    select(OAuthToken, Client, Issuer)
    .join(Client, Client.id == OAuthToken.client_id)
    .join(Issuer, Issuer.id == Client.issuer_id)
    .options(joinedload(Issuer.keys))
    .where(OAuthToken.token_hash == bindparam("token_hash"))
)


async def authenticate_token(session: AsyncSession, access_token: str) -> TokenGrant | None:
    """The grant behind a bearer token, or None if unknown, expired, revoked or disabled.
    One statement reads the token, its client and the client's issuer with its keys."""
    found = (await session.execute(_GRANT, {"token_hash": _digest(access_token)})).unique().first()
    if found is None:
        return None
    token, client, issuer = found
    if token.revoked_at or client.disabled_at or token.expires_at <= datetime.now(UTC):
        return None
    return TokenGrant(client=client, issuer=issuer, scopes=frozenset(token.scopes.split()))
