"""A teacher's backpack on the OB 3.0 API: what `getCredentials` lists and what
`upsertCredential` keeps (OB 3.0 §6, §10).

Her credentials are those issued here that are hers by `badges.wallets.teachers.badge_scope` (the
rule every view of her badges uses), plus those her apps upserted. The transport layer
verifies an upserted credential first (the verifier pipeline) and stores nothing when it
fails; this module keeps a verified one, one per issuer id + credential id (§10 equality:
percent-decoded, trimmed; a newer `validFrom` replaces). A held credential counts toward
stacks once it names her: `lookup_key` is the keyed hash of the identifier it names, as
for credentials issued here, and the same rule decides which identifiers count: her
addresses and the educator IDs an agency ties to her whoever issued it, an educator ID that
only issuer X ties to her only for X's credentials (`BadgeScope.issuers_of`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuers.issuers import KeyVault
from badges.status.achievement_holdings import held_changed
from badges.wallets.ob_clients import digest
from badges.wallets.teachers import (
    BadgeScope,
    badge_scope,
    email_key,
    verified_keys,
)
from formats.identity import (
    EDUCATOR_ID_TYPE,
    identity_matches,
    lookup_key,
    normalise_email,
)
from keys.vc_jwt import VcJwtError, decode_unverified
from storage.models import Credential, HeldCredential, Teacher

Format = Literal["ldp_vc", "jwt_vc"]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def normalised_iri(value: str) -> str:
    """OB 3.0 §10: identifiers compare after percent-decoding and trimming."""
    return unquote(value).strip()


def match_key(issuer_iri: str, credential_iri: str) -> str:
    return digest(f"{normalised_iri(issuer_iri)}\n{normalised_iri(credential_iri)}")


def identities_of(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subject = _first(credential.get("credentialSubject"))
    found = subject.get("identifier") if isinstance(subject, Mapping) else None
    items = found if isinstance(found, list) else [found]
    return [item for item in items if isinstance(item, Mapping)]


@dataclass(frozen=True)
class Naming:
    """Her verified identifiers a credential names (lookup keys, her addresses first) and
    its issuer's id: which of them, if any, tie it to her is `tie`'s to decide."""

    issuer_iri: str
    keys: tuple[str, ...]


def naming_key(
    vault: KeyVault,
    teacher: Teacher,
    credential: Mapping[str, Any],
    known_emails: Iterable[str] = (),
) -> Naming | None:
    """The lookup keys of her verified identifiers that `credential` names, if any.

    Her addresses are kept only as keyed hashes, so a salted `identityHash` can be checked
    only against an address she gave in the clear (her published profile e-mail); an
    unhashed identifier is checked by its keyed hash.
    """
    mine = set(verified_keys(teacher))
    emails = [normalise_email(email) for email in known_emails]
    addresses: list[str] = []
    educator_ids: list[str] = []
    for identity in identities_of(credential):
        kind, value = identity.get("identityType"), identity.get("identityHash")
        if not isinstance(value, str):
            continue
        if kind == "emailAddress" and not identity.get("hashed"):
            addresses += [email_key(vault, normalise_email(value))]
        elif kind == "emailAddress":
            addresses += [email_key(vault, e) for e in emails if identity_matches(identity, e)]
        elif kind == EDUCATOR_ID_TYPE and not identity.get("hashed"):
            educator_ids.append(lookup_key(vault.lookup_secret, EDUCATOR_ID_TYPE, value.strip()))
    keys = tuple(dict.fromkeys(key for key in addresses + educator_ids if key in mine))
    issuer_iri = _id_of(credential.get("issuer")) or ""
    return Naming(issuer_iri, keys) if keys else None


async def tie(session: AsyncSession, scope: BadgeScope, naming: Naming | None) -> str | None:
    """The first identifier `naming` lists that makes a credential from its issuer hers, by
    the rule of her badges issued here: an educator ID that only issuer X ties to her
    address ties only X's credentials, so another issuer's credential naming that ID (maybe
    another teacher's) does not become hers by being pushed into her account."""
    if naming is None:
        return None
    for key in naming.keys:
        issuers = scope.issuers_of(key)
        if issuers is None or (issuers and await _signs_as(session, issuers, naming.issuer_iri)):
            return key
    return None


async def _signs_as(session: AsyncSession, issuers: Iterable[uuid.UUID], iri: str) -> bool:
    """Whether `iri` is the id one of `issuers` gives itself on its credentials issued here."""
    query = select(Credential.issuer_did).where(Credential.issuer_id.in_(sorted(issuers)))
    query = query.distinct()
    return normalised_iri(iri) in {normalised_iri(did) for did in await session.scalars(query)}


@dataclass(frozen=True)
class Incoming:
    """A verified credential to keep: its text as received and what the verifier read."""

    content: str
    format: Format
    credential: Mapping[str, Any]
    verdict: str


@dataclass(frozen=True)
class Upserted:
    row: HeldCredential
    outcome: Literal["created", "replaced", "kept"]  # kept: the stored one is newer


async def upsert(
    session: AsyncSession,
    teacher: Teacher,
    incoming: Incoming,
    *,
    client_id: uuid.UUID | None,
    naming: Naming | None,
) -> Upserted:
    """Insert or replace by issuer id + credential id; an older `validFrom` never replaces.
    It is tied to her by the identifier of `naming` that is hers for its issuer (`tie`)."""
    credential = incoming.credential
    tied = await tie(session, await badge_scope(session, teacher), naming) if naming else None
    key = match_key(_id_of(credential.get("issuer")) or "", _id_of(credential) or "")
    valid_from = _moment(credential.get("validFrom") or credential.get("issuanceDate"))
    valid_from = valid_from or datetime.now(UTC)
    row = await _held(session, teacher.id, key)
    if row is None:
        row = HeldCredential(teacher_id=teacher.id, match_key=key)
        _fill(row, incoming, valid_from, client_id=client_id, tied=tied)
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Two calls pushed the same credential at once and the other one inserted it
            # first: this call is then an update of that row, as if it had come second.
            row = await _held(session, teacher.id, key)
            if row is None:
                raise
        else:
            await held_changed(session, [row])
            return Upserted(row, "created")
    if valid_from < row.valid_from:
        return Upserted(row, "kept")
    _fill(row, incoming, valid_from, client_id=client_id, tied=tied)
    await session.flush()
    await held_changed(session, [row])
    return Upserted(row, "replaced")


async def _held(session: AsyncSession, teacher_id: uuid.UUID, key: str) -> HeldCredential | None:
    return await session.scalar(
        select(HeldCredential).where(
            HeldCredential.teacher_id == teacher_id, HeldCredential.match_key == key
        )
    )


def _fill(
    row: HeldCredential,
    incoming: Incoming,
    valid_from: datetime,
    *,
    client_id: uuid.UUID | None,
    tied: str | None,
) -> None:
    credential = incoming.credential
    subject = _first(credential.get("credentialSubject"))
    row.client_id = client_id
    row.issuer_iri = (_id_of(credential.get("issuer")) or "").strip()
    row.credential_iri = (_id_of(credential) or "").strip()
    row.achievement_iri = (
        _id_of(subject.get("achievement")) if isinstance(subject, Mapping) else None
    )
    row.format = incoming.format
    row.content = incoming.content
    row.valid_from = valid_from
    row.valid_until = _moment(credential.get("validUntil") or credential.get("expirationDate"))
    row.earned_at = _moment(credential.get("awardedDate")) or valid_from
    row.verdict = incoming.verdict
    row.lookup_key = tied
    row.updated_at = datetime.now(UTC)


def held_document(row: HeldCredential) -> Mapping[str, Any]:
    """The credential in a held row (a JWT's payload; it was verified on entry)."""
    if row.format == "ldp_vc":
        value = json.loads(row.content)
        return value if isinstance(value, Mapping) else {}
    try:
        _, payload = decode_unverified(row.content)
    except VcJwtError:
        return {}
    inner = payload.get("vc")
    return inner if isinstance(inner, Mapping) else payload


async def rematch(session: AsyncSession, vault: KeyVault, teacher: Teacher, email: str) -> int:
    """Tie held credentials that name `email` (just published, verified) to her; how many."""
    rows = await session.scalars(
        select(HeldCredential).where(
            HeldCredential.teacher_id == teacher.id, HeldCredential.lookup_key.is_(None)
        )
    )
    scope = await badge_scope(session, teacher)
    matched: list[HeldCredential] = []
    for row in rows:
        key = await tie(session, scope, naming_key(vault, teacher, held_document(row), [email]))
        if key is not None:
            row.lookup_key = key
            matched.append(row)
    await session.flush()
    await held_changed(session, matched)
    return len(matched)


async def issued_here(
    session: AsyncSession, teacher: Teacher, public_url: str, credential: Mapping[str, Any]
) -> Credential | None:
    """The credential issued by this service to her that `credential` is (§10 equality)."""
    credential_iri = normalised_iri(_id_of(credential) or "")
    prefix = f"{public_url}/credentials/"
    if not credential_iri.startswith(prefix):
        return None
    try:
        credential_id = uuid.UUID(credential_iri.removeprefix(prefix))
    except ValueError:
        return None
    scope = await badge_scope(session, teacher)
    row = await session.scalar(
        select(Credential).where(Credential.id == credential_id, scope.owns())
    )
    issuer_iri = normalised_iri(_id_of(credential.get("issuer")) or "")
    same = row is not None and normalised_iri(row.issuer_did) == issuer_iri
    return row if same else None


# --- getCredentials ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    format: Format
    content: str


@dataclass(frozen=True)
class Page:
    total: int
    items: Sequence[Item]


async def page(
    session: AsyncSession,
    teacher: Teacher,
    *,
    limit: int,
    offset: int,
    since: datetime | None = None,
) -> Page:
    """Her credentials, newest first: issued here and held, with the total for paging."""
    scope = await badge_scope(session, teacher)
    issued_query = select(Credential.id, Credential.valid_from).where(scope.owns())
    held_query = select(HeldCredential.id, HeldCredential.valid_from).where(
        HeldCredential.teacher_id == teacher.id
    )
    if since is not None:
        issued_query = issued_query.where(Credential.valid_from > since)
        held_query = held_query.where(HeldCredential.valid_from > since)
    found: list[tuple[datetime, str, uuid.UUID]] = [
        (moment, "issued", row_id) for row_id, moment in await session.execute(issued_query)
    ]
    found += [(moment, "held", row_id) for row_id, moment in await session.execute(held_query)]
    found.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    items = await _items(session, found[offset : offset + limit])
    return Page(total=len(found), items=items)


async def _items(
    session: AsyncSession, chosen: Sequence[tuple[datetime, str, uuid.UUID]]
) -> list[Item]:
    """The stored text of each chosen credential, in the chosen order."""
    issued_ids = [row_id for _, source, row_id in chosen if source == "issued"]
    held_ids = [row_id for _, source, row_id in chosen if source == "held"]
    texts: dict[uuid.UUID, Item] = {}
    if issued_ids:
        query = select(Credential.id, Credential.document).where(Credential.id.in_(issued_ids))
        for row_id, document in await session.execute(query):
            texts[row_id] = Item("ldp_vc", document)
    if held_ids:
        rows = await session.scalars(select(HeldCredential).where(HeldCredential.id.in_(held_ids)))
        for row in rows:
            texts[row.id] = Item(_format(row.format), row.content)
    return [texts[row_id] for _, _, row_id in chosen]


def _format(value: str) -> Format:
    return "jwt_vc" if value == "jwt_vc" else "ldp_vc"
