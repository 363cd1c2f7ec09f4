"""Issuing: award an achievement to a teacher as a signed, stored `OpenBadgeCredential`.

Each award goes through three steps: `prepare` (all validation and the unsigned document,
reading only), signing (CPU, off the event loop), and `_store` (rows written in the
caller's transaction). Nothing is written for an award that fails, and a retried request
with the same `Idempotency-Key` returns the credential already issued, byte for byte.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges import webhooks
from badges.achievements import achievement_json, get_achievement
from badges.credential_document import CredentialContent, Evidence, build_credential
from badges.errors import Conflict, DomainError, InvalidInput, NotFound
from badges.issuers import (
    KeyVault,
    current_key,
    issuer_did,
    issuer_did_key,
    profile,
    published_key,
)
from badges.recipients import Identity, Recipient, identities_for, validate_recipient
from badges.results import ResultInput, build_results
from badges.signing import SignedCredential, Signer, SigningKeys
from badges.stacks import badge_alignments
from badges.status_lists import StatusEntry, allocate, credential_status, purposes_for
from keys.did_web import jwk_id, multikey_id
from keys.keypair import KeyAlgorithm
from storage.models import (
    Achievement,
    Client,
    Credential,
    CredentialEvent,
    CredentialEvidence,
    CredentialRecipient,
    CredentialStatusEntry,
    Issuer,
)

JwtAlgorithm = Literal["RS256", "EdDSA"]
DidMethod = Literal["web", "key"]
# Clocks of providers and of this service differ a little; more than this is a mistake.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuingContext:
    """What issuing needs from the running service, passed in rather than imported."""

    public_url: str
    vault: KeyVault
    signer: Signer
    default_jwt_algorithm: JwtAlgorithm = "RS256"


@dataclass(frozen=True)
class Award:
    achievement_id: uuid.UUID
    recipient: Recipient
    evidence: tuple[Evidence, ...] = ()
    results: tuple[ResultInput, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    jwt_algorithm: JwtAlgorithm | None = None
    did_method: DidMethod = "web"
    idempotency_key: str | None = None
    # SHA-256 of the request body, so a reused key with a different request is refused.
    request_hash: str | None = None


@dataclass(frozen=True)
class IssuedCredential:
    id: uuid.UUID
    document: str
    jwt: str | None
    # False when an idempotent retry returned a credential issued earlier.
    created: bool = True


@dataclass
class Prepared:
    award: Award
    credential_id: uuid.UUID
    # None for credentials whose achievement is not one of this service's (stack credentials).
    achievement: Achievement | None
    issuer_id: str
    subject_id: str | None
    identities: list[Identity]
    unsigned: dict[str, Any]
    keys: SigningKeys
    valid_from: datetime
    status_entries: list[StatusEntry] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


def credential_url(public_url: str, credential_id: uuid.UUID) -> str:
    return f"{public_url}/credentials/{credential_id}"


async def issue_credential(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, client: Client, award: Award
) -> IssuedCredential:
    """Issue one credential (or return the one an earlier request with its key issued)."""
    earlier = await _find_idempotent(session, issuer, award)
    if earlier is not None:
        return earlier
    return await issue_prepared(
        session, ctx, issuer, client, await prepare(session, ctx, issuer, award)
    )


async def issue_prepared(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, client: Client, prepared: Prepared
) -> IssuedCredential:
    """Allocate status entries, sign and store one prepared credential."""
    await attach_status(session, ctx, issuer, [prepared])
    signed = await ctx.signer.sign(prepared.unsigned, prepared.keys, prepared.created)
    if isinstance(signed, str):
        raise InvalidInput(signed)
    stored = _store(session, issuer, client, prepared, signed)
    await flush_issued(session)
    return stored


async def issue_batch(
    session: AsyncSession,
    ctx: IssuingContext,
    issuer: Issuer,
    client: Client,
    awards: Sequence[Award],
) -> list[IssuedCredential | DomainError]:
    """Issue many awards; each succeeds or fails on its own, results in request order."""
    outcomes: list[IssuedCredential | DomainError | None] = [None] * len(awards)
    alignments: dict[str, list[dict[str, Any]]] = {}  # one stack lookup per achievement
    pending: list[tuple[int, Prepared]] = []
    keys_seen: set[str] = set()
    for index, award in enumerate(awards):
        try:
            if award.idempotency_key in keys_seen:
                raise Conflict(
                    "idempotencyKey repeats an earlier item of this batch",
                    field=("idempotencyKey",),
                )
            if award.idempotency_key:
                keys_seen.add(award.idempotency_key)
            earlier = await _find_idempotent(session, issuer, award)
            if earlier is not None:
                outcomes[index] = earlier
                continue
            pending.append((index, await prepare(session, ctx, issuer, award, alignments)))
        except DomainError as error:
            outcomes[index] = error
    await attach_status(session, ctx, issuer, [prepared for _, prepared in pending])
    signed = await ctx.signer.sign_many(
        [(prepared.unsigned, prepared.keys, prepared.created) for _, prepared in pending]
    )
    for (index, prepared), signature in zip(pending, signed, strict=True):
        if isinstance(signature, str):
            outcomes[index] = InvalidInput(signature)
        else:
            outcomes[index] = _store(session, issuer, client, prepared, signature)
    await flush_issued(session)
    return [outcome for outcome in outcomes if outcome is not None]


async def _with_stacks(
    session: AsyncSession,
    public_url: str,
    achievement: dict[str, Any],
    cache: dict[str, list[dict[str, Any]]] | None,
) -> dict[str, Any]:
    """The achievement as embedded, aligned to the stacks and lattice roles it counts for."""
    iri = achievement["id"]
    found = cache.get(iri) if cache is not None else None
    if found is None:
        found = await badge_alignments(session, public_url, iri)
        if cache is not None:
            cache[iri] = found
    if found:
        achievement = {**achievement, "alignment": [*achievement.get("alignment", []), *found]}
    return achievement


async def prepare(
    session: AsyncSession,
    ctx: IssuingContext,
    issuer: Issuer,
    award: Award,
    alignments: dict[str, list[dict[str, Any]]] | None = None,
) -> Prepared:
    """Validate an award and build its unsigned credential; reads only, writes nothing."""
    try:
        achievement = await get_achievement(session, issuer, award.achievement_id)
    except NotFound as error:
        # A body field, not the URL, names it: an input error, whoever owns that id.
        raise InvalidInput(error.detail, field=("achievementId",)) from None
    _check_awardable(achievement)
    validate_recipient(award.recipient)
    valid_from = _check_dates(award)
    issuer_id, keys = signing_keys(ctx, issuer, award.did_method, award.jwt_algorithm)
    credential_id = uuid.uuid4()
    identities = identities_for(award.recipient, lookup_secret=ctx.vault.lookup_secret)
    content = CredentialContent(
        credential_id=credential_url(ctx.public_url, credential_id),
        issuer=profile(issuer, issuer_id),
        achievement=await _with_stacks(
            session, ctx.public_url, achievement_json(ctx.public_url, achievement), alignments
        ),
        valid_from=valid_from,
        subject_id=award.recipient.did,
        identifiers=[identity.as_json() for identity in identities],
        results=build_results(ctx.public_url, achievement, award.results),
        evidence=award.evidence,
        valid_until=award.valid_until,
        awarded_date=award.awarded_date,
    )
    return Prepared(
        award=award,
        credential_id=credential_id,
        achievement=achievement,
        issuer_id=issuer_id,
        subject_id=award.recipient.did,
        identities=identities,
        unsigned=build_credential(content),
        keys=keys,
        valid_from=valid_from,
    )


async def attach_status(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, prepared: Sequence[Prepared]
) -> None:
    """Give each credential a revocation entry, and a suspension entry too when the issuer
    opted in (allocated in this transaction, so they roll back with it), in lists signed as
    the same issuer id as the credential.

    One entry is written as one object: the OB 3.0 JSON schema (before v1.3) types
    `credentialStatus` as a single object, and strict validators refuse an array."""
    by_issuer_id: dict[str, list[Prepared]] = defaultdict(list)
    for item in prepared:
        by_issuer_id[item.issuer_id].append(item)
    for issuer_id, group in by_issuer_id.items():
        for purpose in purposes_for(issuer):
            entries = await allocate(
                session, ctx.public_url, ctx.vault, issuer, issuer_id, purpose, len(group)
            )
            for item, entry in zip(group, entries, strict=True):
                item.status_entries.append(entry)
    for item in prepared:
        item.unsigned["credentialStatus"] = credential_status(item.status_entries)


def signing_keys(
    ctx: IssuingContext,
    issuer: Issuer,
    did_method: DidMethod,
    jwt_algorithm: JwtAlgorithm | None,
) -> tuple[str, SigningKeys]:
    """The issuer id to write and the keys to sign with, for did:web or did:key."""
    ed_row = current_key(issuer, KeyAlgorithm.ED25519)
    ed_pair = ctx.vault.keypair(ed_row)
    if did_method == "key":
        if jwt_algorithm == "RS256":
            raise InvalidInput(
                "a did:key issuer has only its Ed25519 key; ask for jwtAlgorithm EdDSA",
                field=("jwtAlgorithm",),
            )
        did, method = issuer_did_key(issuer)
        keys = SigningKeys(
            KeyAlgorithm.ED25519,
            ed_pair.private_bytes(),
            method,
            KeyAlgorithm.ED25519,
            ed_pair.private_bytes(),
            method,
        )
        return did, keys
    did = issuer_did(ctx.public_url, issuer)
    algorithm = jwt_algorithm or ctx.default_jwt_algorithm
    jwt_row = ed_row if algorithm == "EdDSA" else current_key(issuer, KeyAlgorithm.RSA)
    jwt_pair = ctx.vault.keypair(jwt_row)
    keys = SigningKeys(
        proof_algorithm=KeyAlgorithm.ED25519,
        proof_key=ed_pair.private_bytes(),
        verification_method=multikey_id(did, published_key(ed_row)),
        jwt_algorithm=jwt_pair.algorithm,
        jwt_key=jwt_pair.private_bytes(),
        jwt_kid=jwk_id(did, published_key(jwt_row)),
    )
    return did, keys


def _check_awardable(achievement: Achievement) -> None:
    if achievement.archived_at is not None:
        raise InvalidInput(
            "the achievement is archived and no longer awarded", field=("achievementId",)
        )
    if not achievement.is_current:
        raise InvalidInput(
            "achievementId names a superseded revision; award the current one",
            field=("achievementId",),
        )


def _check_dates(award: Award) -> datetime:
    now = datetime.now(UTC)
    valid_from = (award.valid_from or now).astimezone(UTC).replace(microsecond=0)
    if award.valid_until is not None and award.valid_until <= valid_from:
        raise InvalidInput("validUntil must be after validFrom", field=("validUntil",))
    if award.awarded_date is not None and award.awarded_date > now + _CLOCK_SKEW:
        raise InvalidInput("awardedDate is in the future", field=("awardedDate",))
    return valid_from


async def _find_idempotent(
    session: AsyncSession, issuer: Issuer, award: Award
) -> IssuedCredential | None:
    if not award.idempotency_key:
        return None
    row = await session.scalar(
        select(Credential).where(
            Credential.issuer_id == issuer.id, Credential.idempotency_key == award.idempotency_key
        )
    )
    if row is None:
        return None
    if row.request_hash != award.request_hash:
        raise Conflict(
            "this Idempotency-Key was used for a different request", field=("Idempotency-Key",)
        )
    return IssuedCredential(id=row.id, document=row.document, jwt=row.jwt, created=False)


def _store(
    session: AsyncSession,
    issuer: Issuer,
    client: Client,
    prepared: Prepared,
    signed: SignedCredential,
) -> IssuedCredential:
    award = prepared.award
    return record_credential(
        session,
        issuer=issuer,
        client=client,
        credential_id=prepared.credential_id,
        issuer_id=prepared.issuer_id,
        subject_id=prepared.subject_id,
        valid_from=prepared.valid_from,
        valid_until=award.valid_until,
        identities=prepared.identities,
        signed=signed,
        created=prepared.created,
        achievement_id=prepared.achievement.id if prepared.achievement else None,
        awarded_date=award.awarded_date,
        evidence=award.evidence,
        idempotency_key=award.idempotency_key,
        request_hash=award.request_hash,
        status_entries=prepared.status_entries,
    )


def record_credential(
    session: AsyncSession,
    *,
    issuer: Issuer,
    client: Client,
    credential_id: uuid.UUID,
    issuer_id: str,
    subject_id: str | None,
    valid_from: datetime,
    valid_until: datetime | None,
    identities: Sequence[Identity],
    signed: SignedCredential,
    created: datetime,
    achievement_id: uuid.UUID | None = None,
    awarded_date: datetime | None = None,
    evidence: Sequence[Evidence] = (),
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    status_entries: Sequence[StatusEntry] = (),
) -> IssuedCredential:
    """Add the rows of a signed credential (and its `issued` event) to the session."""
    session.add(
        Credential(
            id=credential_id,
            issuer_id=issuer.id,
            achievement_id=achievement_id,
            client_id=client.id,
            issuer_did=issuer_id,
            subject_id=subject_id,
            valid_from=valid_from,
            valid_until=valid_until,
            awarded_date=awarded_date,
            issued_at=created,
            document=signed.document,
            jwt=signed.jwt,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
    )
    session.add_all(recipient_rows(credential_id, identities))
    session.add_all(
        CredentialEvidence(
            credential_id=credential_id,
            position=position,
            url=item.url,
            name=item.name,
            narrative=item.narrative,
            description=item.description,
            genre=item.genre,
        )
        for position, item in enumerate(evidence)
    )
    session.add_all(
        CredentialStatusEntry(
            credential_id=credential_id,
            status_list_id=entry.list_id,
            purpose=entry.purpose,
            list_index=entry.index,
        )
        for entry in status_entries
    )
    session.add(
        CredentialEvent(
            credential_id=credential_id,
            event_type="issued",
            occurred_at=created,
            actor=client.client_id,
        )
    )
    webhooks.enqueue(session, issuer.id, "credential.issued", credential_id, occurred_at=created)
    return IssuedCredential(id=credential_id, document=signed.document, jwt=signed.jwt)


def recipient_rows(
    credential_id: uuid.UUID, identities: Sequence[Identity]
) -> list[CredentialRecipient]:
    return [
        CredentialRecipient(
            credential_id=credential_id,
            position=position,
            identity_type=identity.identity_type,
            identity_hash=identity.identity_hash,
            salt=identity.salt,
            hashed=identity.hashed,
            lookup_key=identity.lookup_key,
        )
        for position, identity in enumerate(identities)
    ]


async def flush_issued(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        # Only a concurrent request with the same Idempotency-Key can collide here.
        raise Conflict(
            "a request with the same Idempotency-Key is being processed; retry it",
            field=("Idempotency-Key",),
        ) from error
