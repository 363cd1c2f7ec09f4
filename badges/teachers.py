"""Teacher accounts: sign-in by a code (or link) e-mailed to her, sessions, her badges.

A teacher is whoever proves control of an e-mail address. She sees every credential whose
recipient identifiers match one of her proven addresses, or a state educator ID that a
credential ties to one of those addresses (so no one can claim another teacher's license
number and see her badges). Codes, links and session tokens are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuers import KeyVault
from badges.recipients import EDUCATOR_ID_TYPE, lookup_key, normalise_email
from storage.models import (
    Credential,
    CredentialRecipient,
    SignInCode,
    Teacher,
    TeacherIdentifier,
    TeacherSession,
)

MAX_ATTEMPTS: Final = 5
# Per address and per client address, within RATE_WINDOW: enough for typos, not for abuse.
CODES_PER_ADDRESS: Final = 5
CODES_PER_CLIENT: Final = 20
RATE_WINDOW: Final = timedelta(minutes=15)
# A claim link a provider has the service e-mail on issuance: link only, no typed code, and
# not counted against the address's sign-in limit (she must still be able to sign in).
CLAIM: Final = "claim"


class TooManyRequests(DomainError):
    status_code = 429
    title = "Too many requests"


class CodeRejected(DomainError):
    """A code or link that is wrong, expired or already used. One message for all three,
    so an attacker learns nothing about which codes exist."""

    status_code = 400
    title = "Sign-in code not accepted"


@dataclass(frozen=True)
class IssuedCode:
    code: str
    link_token: str
    expires_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def email_key(vault: KeyVault, email: str) -> str:
    return lookup_key(vault.lookup_secret, "emailAddress", normalise_email(email))


def masked(email: str) -> str:
    name, _, domain = normalise_email(email).partition("@")
    return f"{name[:1]}•••@{domain}"


async def start_sign_in(
    session: AsyncSession,
    vault: KeyVault,
    email: str,
    *,
    client_address: str | None,
    lifetime: timedelta,
    purpose: str = "sign_in",
    teacher: Teacher | None = None,
    next_path: str | None = None,
    per_client_limit: int = CODES_PER_CLIENT,
) -> IssuedCode:
    """Make a six-digit code and a link token for `email`, within the rate limits."""
    key = email_key(vault, email)
    since = datetime.now(UTC) - RATE_WINDOW
    recent = await session.scalar(
        select(func.count())
        .select_from(SignInCode)
        .where(
            SignInCode.email_key == key,
            SignInCode.created_at >= since,
            SignInCode.purpose != CLAIM,
        )
    )
    from_client = (
        await session.scalar(
            select(func.count())
            .select_from(SignInCode)
            .where(SignInCode.client_address == client_address, SignInCode.created_at >= since)
        )
        if client_address
        else 0
    )
    if (recent or 0) >= CODES_PER_ADDRESS or (from_client or 0) >= per_client_limit:
        raise TooManyRequests("too many sign-in codes were asked for; wait 15 minutes")
    code = f"{secrets.randbelow(1_000_000):06d}"
    link_token = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + lifetime
    session.add(
        SignInCode(
            email_key=key,
            email_label=masked(email),
            code_hash=_digest(f"{key}:{code}"),
            link_hash=_digest(link_token),
            purpose=purpose,
            teacher_id=teacher.id if teacher else None,
            next_path=next_path,
            client_address=client_address,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return IssuedCode(code=code, link_token=link_token, expires_at=expires_at)


async def redeem_code(session: AsyncSession, vault: KeyVault, email: str, code: str) -> SignInCode:
    """The newest live code for `email`, if `code` matches; counts failed attempts."""
    key = email_key(vault, email)
    row = await session.scalar(
        select(SignInCode)
        .where(
            SignInCode.email_key == key,
            SignInCode.used_at.is_(None),
            SignInCode.purpose != CLAIM,  # a claim e-mail must not shadow the code she typed
        )
        .order_by(SignInCode.created_at.desc())
        .limit(1)
    )
    if row is None or row.expires_at <= datetime.now(UTC) or row.attempts >= MAX_ATTEMPTS:
        raise CodeRejected("that code is wrong, expired or already used; ask for a new one")
    if not hmac.compare_digest(row.code_hash, _digest(f"{key}:{code.strip()}")):
        row.attempts += 1
        await session.flush()
        raise CodeRejected("that code is wrong, expired or already used; ask for a new one")
    row.used_at = datetime.now(UTC)
    await session.flush()
    return row


async def redeem_link(session: AsyncSession, link_token: str) -> SignInCode:
    row = await session.scalar(
        select(SignInCode).where(SignInCode.link_hash == _digest(link_token))
    )
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise CodeRejected("that sign-in link is expired or already used; ask for a new one")
    row.used_at = datetime.now(UTC)
    await session.flush()
    return row


async def teacher_for_code(session: AsyncSession, proven: SignInCode) -> Teacher:
    """The teacher owning the proven address (created on first sign-in), or the one who
    asked to add it to her account."""
    key = proven.email_key
    identifier = await session.scalar(
        select(TeacherIdentifier).where(TeacherIdentifier.lookup_key == key)
    )
    if identifier is not None:
        identifier.verified_at = identifier.verified_at or datetime.now(UTC)
        teacher = await session.get(Teacher, identifier.teacher_id)
        if teacher is None:
            raise NotFound("the account is gone")
        return teacher
    teacher = (await session.get(Teacher, proven.teacher_id)) if proven.teacher_id else None
    if teacher is None:
        teacher = Teacher(id=uuid.uuid4(), identifiers=[])
        session.add(teacher)
    teacher.identifiers.append(
        TeacherIdentifier(
            kind="email", lookup_key=key, label=proven.email_label, verified_at=datetime.now(UTC)
        )
    )
    await session.flush()
    return teacher


async def claim_educator_id(
    session: AsyncSession, vault: KeyVault, teacher: Teacher, state: str, educator_id: str
) -> TeacherIdentifier:
    """Add her educator ID; it counts once a credential ties it to one of her addresses."""
    value = f"{state.strip().upper()}:{educator_id.strip()}"
    if len(state.strip()) != 2:
        raise InvalidInput("state must be a two-letter code", field=("state",))
    key = lookup_key(vault.lookup_secret, EDUCATOR_ID_TYPE, value)
    taken = await session.scalar(
        select(TeacherIdentifier).where(TeacherIdentifier.lookup_key == key)
    )
    if taken is not None and taken.teacher_id != teacher.id:
        raise InvalidInput("that educator ID belongs to another account", field=("educatorId",))
    row = taken or TeacherIdentifier(
        kind="educator_id", lookup_key=key, label=f"{value[:3]}•••{value[-2:]}"
    )
    if taken is None:
        teacher.identifiers.append(row)
    await session.flush()
    await confirm_educator_ids(session, teacher)
    return row


async def confirm_educator_ids(session: AsyncSession, teacher: Teacher) -> None:
    """Verify claimed educator IDs that a credential pairs with a verified address."""
    emails = [i.lookup_key for i in teacher.identifiers if i.kind == "email" and i.verified_at]
    pending = [i for i in teacher.identifiers if i.kind == "educator_id" and not i.verified_at]
    if not emails or not pending:
        return
    with_email = select(CredentialRecipient.credential_id).where(
        CredentialRecipient.lookup_key.in_(emails)
    )
    paired = set(
        await session.scalars(
            select(CredentialRecipient.lookup_key).where(
                CredentialRecipient.credential_id.in_(with_email),
                CredentialRecipient.lookup_key.in_([i.lookup_key for i in pending]),
            )
        )
    )
    for identifier in pending:
        if identifier.lookup_key in paired:
            identifier.verified_at = datetime.now(UTC)
    await session.flush()


def verified_keys(teacher: Teacher) -> list[str]:
    return [i.lookup_key for i in teacher.identifiers if i.verified_at is not None]


async def teacher_credentials(session: AsyncSession, teacher: Teacher) -> list[Credential]:
    keys = verified_keys(teacher)
    if not keys:
        return []
    return list(
        await session.scalars(
            select(Credential)
            .where(
                Credential.id.in_(
                    select(CredentialRecipient.credential_id).where(
                        CredentialRecipient.lookup_key.in_(keys)
                    )
                )
            )
            .order_by(Credential.issued_at.desc())
        )
    )


async def teacher_credential(
    session: AsyncSession, teacher: Teacher, credential_id: uuid.UUID
) -> Credential:
    """One of her credentials; anyone else's is reported as not found."""
    keys = verified_keys(teacher)
    owned = (
        await session.scalar(
            select(CredentialRecipient.credential_id)
            .where(
                CredentialRecipient.credential_id == credential_id,
                CredentialRecipient.lookup_key.in_(keys),
            )
            .limit(1)
        )
        if keys
        else None
    )
    row = await session.get(Credential, credential_id) if owned else None
    if row is None:
        raise NotFound(f"no credential {credential_id}")
    return row


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


async def open_session(session: AsyncSession, teacher: Teacher, lifetime: timedelta) -> NewSession:
    token = secrets.token_urlsafe(32)
    row = TeacherSession(
        token_hash=_digest(token),
        teacher_id=teacher.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=datetime.now(UTC) + lifetime,
    )
    session.add(row)
    await session.flush()
    return NewSession(token, row.csrf_token, row.expires_at)


async def current_session(
    session: AsyncSession, token: str | None
) -> tuple[Teacher, TeacherSession] | None:
    if not token:
        return None
    row = await session.scalar(
        select(TeacherSession).where(TeacherSession.token_hash == _digest(token))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    teacher = await session.get(Teacher, row.teacher_id)
    return (teacher, row) if teacher else None


async def close_session(session: AsyncSession, row: TeacherSession) -> None:
    row.revoked_at = datetime.now(UTC)
    await session.flush()


def identifiers_view(teacher: Teacher) -> Sequence[TeacherIdentifier]:
    return teacher.identifiers
