"""Teacher accounts: sign-in by a code (or link) e-mailed to her, sessions, her badges.

A teacher is whoever proves control of an e-mail address. Which credentials are hers is
decided in one place, `badge_scope` (see there and the README, "Whose badges a teacher
sees"). Codes, links and session tokens are stored only as hashes.
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

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuers.browser_sessions import (
    NewSession,
    close_browser_session,
    live_browser_session,
    open_browser_session,
)
from badges.issuers.issuers import KeyVault
from formats.identity import (
    EDUCATOR_ID_TYPE,
    lookup_key,
    normalise_email,
)
from storage.models import (
    Agency,
    Credential,
    CredentialRecipient,
    EducatorIdentifier,
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
# A code for the staff console (`app.console`): spent only there, and never shadows (or is
# spent as) a teacher's code for the same address.
CONSOLE: Final = "console"


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


async def redeem_code(
    session: AsyncSession, vault: KeyVault, email: str, code: str, *, purpose: str | None = None
) -> SignInCode:
    """The newest live code for `email` (of `purpose` if given, else a teacher's), spent, if
    `code` matches and tries are left.

    Every try, right or wrong, first takes one of the code's MAX_ATTEMPTS tries, and a
    right code is then spent; each step is one conditional UPDATE, so parallel requests
    cannot all read the same count or all find the code unused. The caller must commit
    even when CodeRejected is raised, or a wrong try does not count.
    """
    key = email_key(vault, email)
    code_id = await session.scalar(
        select(SignInCode.id)
        .where(
            SignInCode.email_key == key,
            SignInCode.used_at.is_(None),
            _of_purpose(purpose),
        )
        .order_by(SignInCode.created_at.desc())
        .limit(1)
    )
    code_hash = await _take_attempt(session, code_id) if code_id is not None else None
    if code_hash is None or not hmac.compare_digest(code_hash, _digest(f"{key}:{code.strip()}")):
        raise CodeRejected("that code is wrong, expired or already used; ask for a new one")
    row = await _spend(session, SignInCode.id == code_id)
    if row is None:
        raise CodeRejected("that code is wrong, expired or already used; ask for a new one")
    return row


async def redeem_link(
    session: AsyncSession, link_token: str, *, purpose: str | None = None
) -> SignInCode:
    """The code whose link this is (of `purpose` if given, else not a console one), spent:
    of parallel opens of one link, exactly one wins."""
    which = SignInCode.link_hash == _digest(link_token)
    kind = SignInCode.purpose == purpose if purpose else SignInCode.purpose != CONSOLE
    row = await _spend(session, which & kind)
    if row is None:
        raise CodeRejected("that sign-in link is expired or already used; ask for a new one")
    return row


def _of_purpose(purpose: str | None) -> ColumnElement[bool]:
    if purpose is not None:
        return SignInCode.purpose == purpose
    # A claim e-mail must not shadow the code she typed, nor a console code a teacher's.
    return SignInCode.purpose.not_in((CLAIM, CONSOLE))


def _live(now: datetime) -> ColumnElement[bool]:
    return SignInCode.used_at.is_(None) & (SignInCode.expires_at > now)


async def _take_attempt(session: AsyncSession, code_id: uuid.UUID) -> str | None:
    """Count one try against a live code with tries left; its code hash, or None if none."""
    taken = await session.scalar(
        update(SignInCode)
        .where(
            SignInCode.id == code_id,
            SignInCode.attempts < MAX_ATTEMPTS,
            _live(datetime.now(UTC)),
        )
        .values(attempts=SignInCode.attempts + 1)
        .returning(SignInCode.code_hash)
        .execution_options(synchronize_session=False)
    )
    return str(taken) if taken is not None else None


async def _spend(session: AsyncSession, which: ColumnElement[bool]) -> SignInCode | None:
    """Mark the live code `which` names used; the row if this request did, else None."""
    now = datetime.now(UTC)
    spent: SignInCode | None = await session.scalar(
        update(SignInCode)
        .where(which, _live(now))
        .values(used_at=now)
        .returning(SignInCode)
        .execution_options(populate_existing=True)
    )
    return spent


async def teacher_for_code(session: AsyncSession, proven: SignInCode) -> Teacher:
    """The teacher owning the proven address (created on first sign-in), or the one who
    asked to add it to her account."""
    key = proven.email_key
    identifier = await session.scalar(
        select(TeacherIdentifier).where(
            TeacherIdentifier.kind == "email", TeacherIdentifier.lookup_key == key
        )
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
    """Add her educator ID; it counts once a credential or an agency ties it to one of her
    addresses. The claim is her account's own: other accounts may claim the same ID, and
    what each claim opens depends on its own proof (`badge_scope`), so nobody can take an
    ID away from its owner by claiming it first."""
    value = f"{state.strip().upper()}:{educator_id.strip()}"
    if len(state.strip()) != 2:
        raise InvalidInput("state must be a two-letter code", field=("state",))
    key = lookup_key(vault.lookup_secret, EDUCATOR_ID_TYPE, value)
    row = _claim_of(teacher, key) or await _add_claim(session, teacher, key, value)
    await confirm_educator_ids(session, teacher)
    return row


def _claim_of(teacher: Teacher, key: str) -> TeacherIdentifier | None:
    return next((i for i in teacher.identifiers if i.lookup_key == key), None)


async def _add_claim(
    session: AsyncSession, teacher: Teacher, key: str, value: str
) -> TeacherIdentifier:
    row = TeacherIdentifier(
        teacher_id=teacher.id,
        kind="educator_id",
        lookup_key=key,
        label=f"{value[:3]}•••{value[-2:]}",
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # she sent the form twice at once, and the other request added it
    await session.refresh(teacher, ["identifiers"])
    claim = _claim_of(teacher, key)
    if claim is None:
        raise NotFound("the account is gone")
    return claim


async def confirm_educator_ids(session: AsyncSession, teacher: Teacher) -> None:
    """Verify claimed educator IDs that a credential or an agency pairs with a verified
    address. What a verified ID then opens depends on who paired it: `badge_scope`."""
    emails = _verified(teacher, "email")
    pending = [i for i in teacher.identifiers if i.kind == "educator_id" and not i.verified_at]
    if not emails or not pending:
        return
    for identifier in pending:
        key = identifier.lookup_key
        if await _pairing_issuers(session, emails, key) or await _agency_vouches(
            session, emails, key
        ):
            identifier.verified_at = datetime.now(UTC)
    await session.flush()


def verified_keys(teacher: Teacher) -> list[str]:
    return [i.lookup_key for i in teacher.identifiers if i.verified_at is not None]


def _verified(teacher: Teacher, kind: str) -> list[str]:
    return [i.lookup_key for i in teacher.identifiers if i.kind == kind and i.verified_at]


def _named(key: str) -> Select[uuid.UUID]:
    """Ids of the credentials issued here that name the identifier with `key`."""
    return select(CredentialRecipient.credential_id).where(CredentialRecipient.lookup_key == key)


def _paired(emails: Sequence[str], key: str) -> Select[uuid.UUID]:
    """Ids of the credentials issued here that name `key` beside one of the addresses."""
    with_email = select(CredentialRecipient.credential_id).where(
        CredentialRecipient.lookup_key.in_(emails)
    )
    return _named(key).where(CredentialRecipient.credential_id.in_(with_email))


async def _pairing_issuers(
    session: AsyncSession, emails: Sequence[str], key: str
) -> frozenset[uuid.UUID]:
    """The issuers whose own credentials say the educator ID goes with one of her addresses."""
    query = select(Credential.issuer_id).where(Credential.id.in_(_paired(emails, key)))
    return frozenset(await session.scalars(query.distinct()))


async def _agency_vouches(session: AsyncSession, emails: Sequence[str], key: str) -> bool:
    """Whether a state agency ties the educator ID to one of her addresses: it registered
    one educator with both (`/v1/agency/educators`), or it issued a credential naming both."""
    address = aliased(EducatorIdentifier)
    registered = (
        select(EducatorIdentifier.educator_id)
        .join(address, address.educator_id == EducatorIdentifier.educator_id)
        .where(EducatorIdentifier.lookup_key == key, address.lookup_key.in_(emails))
        .limit(1)
    )
    if await session.scalar(registered) is not None:
        return True
    issued = (
        select(Credential.id)
        .where(Credential.id.in_(_paired(emails, key)))
        .where(Credential.issuer_id.in_(select(Agency.issuer_id)))
        .limit(1)
    )
    return await session.scalar(issued) is not None


@dataclass(frozen=True)
class BadgeScope:
    """Which credentials issued here are hers: the one rule every view of her badges uses.

    A credential is hers when it names one of her proven addresses, or an educator ID of hers
    that a state agency ties to one of those addresses. An educator ID that only issuer X's
    credential ties to her address is X's word alone: it opens X's credentials naming the
    ID, not another issuer's (X may have made a typo, and the ID may be another teacher's).
    Each account's claim of an educator ID is weighed on its own: several accounts may claim
    one ID, and each sees what its own proof opens.
    """

    teacher_id: uuid.UUID
    # Lookup keys that are hers wherever they appear.
    anywhere: frozenset[str]
    # (educator ID lookup key, the issuers whose credentials tie it to her address).
    per_issuer: tuple[tuple[str, frozenset[uuid.UUID]], ...]

    def issuers_of(self, key: str) -> frozenset[uuid.UUID] | None:
        """Whose credentials naming the identifier `key` are hers: None for every issuer's,
        otherwise those issuers' only (an empty set: nobody's)."""
        if key in self.anywhere:
            return None
        return dict(self.per_issuer).get(key, frozenset())

    def owns(self) -> ColumnElement[bool]:
        """SQL: the `Credential` row is hers."""
        named = select(CredentialRecipient.credential_id).where(
            CredentialRecipient.lookup_key.in_(sorted(self.anywhere))
        )
        clauses: list[ColumnElement[bool]] = [Credential.id.in_(named)] if self.anywhere else []
        clauses += [
            and_(Credential.id.in_(_named(key)), Credential.issuer_id.in_(sorted(issuers)))
            for key, issuers in self.per_issuer
        ]
        return or_(*clauses) if clauses else false()


async def badge_scope(session: AsyncSession, teacher: Teacher) -> BadgeScope:
    """What of the credentials issued here is hers, from her verified identifiers now."""
    emails = _verified(teacher, "email")
    anywhere = set(emails)
    per_issuer = []
    for key in _verified(teacher, "educator_id") if emails else []:
        if await _agency_vouches(session, emails, key):
            anywhere.add(key)
        elif issuers := await _pairing_issuers(session, emails, key):
            per_issuer.append((key, issuers))
    return BadgeScope(teacher.id, frozenset(anywhere), tuple(per_issuer))


async def teacher_credentials(session: AsyncSession, teacher: Teacher) -> list[Credential]:
    scope = await badge_scope(session, teacher)
    return list(
        await session.scalars(
            select(Credential).where(scope.owns()).order_by(Credential.issued_at.desc())
        )
    )


async def teacher_credential(
    session: AsyncSession, teacher: Teacher, credential_id: uuid.UUID
) -> Credential:
    """One of her credentials; anyone else's is reported as not found."""
    scope = await badge_scope(session, teacher)
    row = await session.scalar(
        select(Credential).where(Credential.id == credential_id, scope.owns())
    )
    if row is None:
        raise NotFound(f"no credential {credential_id}")
    return row


# --- sessions ----------------------------------------------------------------------------


async def open_session(session: AsyncSession, teacher: Teacher, lifetime: timedelta) -> NewSession:
    return await open_browser_session(session, TeacherSession(teacher_id=teacher.id), lifetime)


async def current_session(
    session: AsyncSession, token: str | None
) -> tuple[Teacher, TeacherSession] | None:
    row = await live_browser_session(session, TeacherSession, token)
    teacher = await session.get(Teacher, row.teacher_id) if row else None
    return (teacher, row) if row is not None and teacher is not None else None


async def close_session(session: AsyncSession, row: TeacherSession) -> None:
    await close_browser_session(session, row)


def identifiers_view(teacher: Teacher) -> Sequence[TeacherIdentifier]:
    return teacher.identifiers
