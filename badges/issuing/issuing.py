"""Issuing: award an achievement to a teacher as a signed, stored `OpenBadgeCredential`.

Each award goes through four steps: `prepare` (all validation and the unsigned document,
reading only), `attach_status` (status-list positions, committed ahead in short transactions
of their own), signing (CPU, in the signing processes, holding no lock) and `_store` (rows
written in a short transaction: for a single credential, one shared with concurrent
requests' credentials; for a batch, the request's). No credential is stored for an award
that fails, and a retried request with the same `Idempotency-Key` returns the credential
already issued, byte for byte, also when the first request is still running.

Status positions are committed before signing, so a failure after `attach_status` (a
signing error, a crash, a lost idempotency race) leaves its positions allocated to no
credential: gaps, whose bits stay 0 forever and which no credential refers to. What must
never happen, one position given to two credentials, cannot: positions are only ever handed
out by the atomic increment in `badges.status.status_lists.allocate`, and never handed out again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Table, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from badges.errors import Conflict, DomainError, InvalidInput, NotFound
from badges.issuers.issuers import (
    KeyVault,
    credential_url,
    current_key,
    issuer_did,
    issuer_did_key,
    profile,
    published_key,
)
from badges.issuing.achievements import (
    achievement_json,
    get_achievement,
)
from badges.issuing.credential_document import (
    CredentialContent,
    Evidence,
    build_credential,
)
from badges.issuing.recipients import (
    Identity,
    Recipient,
    identities_for,
    validate_recipient,
)
from badges.issuing.results import (
    ResultInput,
    build_results,
)
from badges.issuing.signing import (
    SignedCredential,
    Signer,
    SigningKeys,
)
from badges.status import achievement_holdings, completion_marks
from badges.status.status_lists import (
    StatusEntry,
    allocate,
    credential_status,
    purposes_for,
    reserve,
)
from badges.webhooks import subscriptions as webhooks
from keys.did_web import jwk_id, multikey_id
from keys.keypair import KeyAlgorithm
from storage.bulk import insert_rows
from storage.models import (
    Achievement,
    Client,
    Credential,
    CredentialEvent,
    CredentialEvidence,
    CredentialRecipient,
    CredentialStatusEntry,
    Issuer,
    IssuerKey,
)
from storage.session import (
    begin_write,
    engine_of,
    has_kept,
    kept_for_transaction,
    take_kept,
    write_transaction,
)

JwtAlgorithm = Literal["RS256", "EdDSA"]
# (session, public URL, achievement IRI) -> the alignments its badge carries.
Alignments = Callable[[AsyncSession, str, str], Awaitable[list[dict[str, Any]]]]


async def no_alignments(
    _session: AsyncSession, _public_url: str, _iri: str
) -> list[dict[str, Any]]:
    return []


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
    # The OB `Alignment`s of the stacks and lattice roles an achievement counts toward:
    # state policy's to say (`badges.policy.badge_alignments`), issuing's to embed.
    alignments: Alignments = no_alignments


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


async def issue_credential(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, client: Client, award: Award
) -> IssuedCredential:
    """Issue one credential (or return the one an earlier request with its key issued).

    `session` is only read (and its transaction ended before the writes): the credential is
    committed (`_store_soon`) before this returns, in a short transaction of its own. When a
    concurrent request with the same `Idempotency-Key` stored its credential first, that
    credential is the answer."""
    earlier = await _find_idempotent(session, issuer.id, award)
    if earlier is not None:
        return earlier
    prepared = await prepare(session, ctx, issuer, award)
    await _end_reads(session)
    await attach_status(session, ctx, issuer, [prepared], apart=True)
    signed = await ctx.signer.sign(prepared.unsigned, prepared.keys, prepared.created)
    if isinstance(signed, str):
        raise InvalidInput(signed)
    try:
        return await _store_soon(session, _StoreJob(issuer, client, prepared, signed))
    except _KeyTaken:
        winner = await _find_idempotent(session, issuer.id, award)
        if winner is None:
            raise
        return winner


async def issue_prepared(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, client: Client, prepared: Prepared
) -> IssuedCredential:
    """Allocate status entries, sign and store one prepared credential, all in `session`'s
    transaction (for flows that write more with it, and commit or roll back all together)."""
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
            earlier = await _find_idempotent(session, issuer.id, award)
            if earlier is not None:
                outcomes[index] = earlier
                continue
            pending.append((index, await prepare(session, ctx, issuer, award, alignments)))
        except DomainError as error:
            outcomes[index] = error
    await _end_reads(session)
    await attach_status(session, ctx, issuer, [prepared for _, prepared in pending], apart=True)
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


# Credentials written in one transaction at most; more wait for the next.
_STORE_GROUP: Final = 64


@dataclass
class _StoreJob:
    issuer: Issuer
    client: Client
    prepared: Prepared
    signed: SignedCredential
    done: asyncio.Future[IssuedCredential] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _StoreQueue:
    loop: asyncio.AbstractEventLoop
    jobs: list[_StoreJob] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


_store_queues: WeakKeyDictionary[AsyncEngine, _StoreQueue] = WeakKeyDictionary()


async def _store_soon(session: AsyncSession, job: _StoreJob) -> IssuedCredential:
    """Commit a signed credential's rows together with those of the concurrent requests
    waiting too (group commit), in a short transaction of their own.

    On SQLite every transaction takes a turn at the one write lock, held through each
    statement's round trip to the driver's thread: one transaction for the credentials of
    many concurrent requests keeps that lock free most of the time. On PostgreSQL it saves
    the statements (one INSERT per table, one commit) and connection checkouts of all but
    one. A group that collides on an `Idempotency-Key` is written again one credential at a
    time, so only the colliding one fails (`_KeyTaken`)."""
    engine = engine_of(session)
    queue = _store_queues.get(engine)
    if queue is None or queue.loop is not asyncio.get_running_loop():
        queue = _store_queues[engine] = _StoreQueue(asyncio.get_running_loop())
    queue.jobs.append(job)
    if queue.writer is None or queue.writer.done():
        queue.writer = asyncio.create_task(_write_queued(engine, queue))
    return await job.done


async def _write_queued(engine: AsyncEngine, queue: _StoreQueue) -> None:
    while queue.jobs:
        group, queue.jobs = queue.jobs[:_STORE_GROUP], queue.jobs[_STORE_GROUP:]
        try:
            await _write_group(engine, group)
        finally:
            for job in group:  # only if this task was cancelled: its requests fail too
                if not job.done.done():
                    job.done.cancel()


async def _write_group(engine: AsyncEngine, group: list[_StoreJob]) -> None:
    try:
        async with write_transaction(engine) as session:
            issued = [
                _store(session, job.issuer, job.client, job.prepared, job.signed) for job in group
            ]
            await _write_recorded(session)
    except IntegrityError as error:
        if len(group) > 1:
            for job in group:
                await _write_group(engine, [job])
        else:
            _settle(group[0], _key_taken(error))
        return
    except Exception as error:  # each waiting request gets the failure
        for job in group:
            _settle(job, error)
        return
    for job, result in zip(group, issued, strict=True):
        _settle(job, result)


def _settle(job: _StoreJob, outcome: IssuedCredential | Exception) -> None:
    if job.done.done():  # its request was cancelled: nothing waits for the answer
        return
    if isinstance(outcome, Exception):
        job.done.set_exception(outcome)
    else:
        job.done.set_result(outcome)


async def _with_stacks(
    session: AsyncSession,
    alignments: Alignments,
    public_url: str,
    achievement: dict[str, Any],
    cache: dict[str, list[dict[str, Any]]] | None,
) -> dict[str, Any]:
    """The achievement as embedded, aligned to the stacks and lattice roles it counts for."""
    iri = achievement["id"]
    found = cache.get(iri) if cache is not None else None
    if found is None:
        found = await alignments(session, public_url, iri)
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
            session,
            ctx.alignments,
            ctx.public_url,
            achievement_json(ctx.public_url, achievement),
            alignments,
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


async def _end_reads(session: AsyncSession) -> None:
    """End the (read-only) transaction of the request's session, returning its connection to
    the pool before the request waits for the connections of the short write transactions:
    a request that held one while waiting for another could, with every connection held by
    such requests, wait forever."""
    await session.commit()


async def attach_status(
    session: AsyncSession,
    ctx: IssuingContext,
    issuer: Issuer,
    prepared: Sequence[Prepared],
    *,
    apart: bool = False,
) -> None:
    """Give each credential a revocation entry, and a suspension entry too when the issuer
    opted in, in lists signed as the same issuer id as the credential.

    With `apart`, the entries come from positions reserved (and committed) ahead, in short
    transactions of their own (`badges.status.status_lists.reserve`), so no lock on the lists is
    held while the credentials are signed, and a credential never stored leaves its
    positions as harmless gaps (see the module docstring); `session` must then hold no
    connection (a reservation takes one of its own). Otherwise they are allocated in
    `session`'s transaction and roll back with it: for callers that write more than the
    credential in one transaction.

    One entry is written as one object: the OB 3.0 JSON schema (before v1.3) types
    `credentialStatus` as a single object, and strict validators refuse an array."""
    take = reserve if apart else allocate
    if not apart:
        await begin_write(session)
    by_issuer_id: dict[str, list[Prepared]] = defaultdict(list)
    for item in prepared:
        by_issuer_id[item.issuer_id].append(item)
    for issuer_id, group in by_issuer_id.items():
        for purpose in purposes_for(issuer):
            entries = await take(
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
    if did_method == "key":
        if jwt_algorithm == "RS256":
            raise InvalidInput(
                "a did:key issuer has only its Ed25519 key; ask for jwtAlgorithm EdDSA",
                field=("jwtAlgorithm",),
            )
        jwt_row = ed_row
    else:
        algorithm = jwt_algorithm or ctx.default_jwt_algorithm
        jwt_row = ed_row if algorithm == "EdDSA" else current_key(issuer, KeyAlgorithm.RSA)
    # A key row never changes (rotation adds a row), so neither do the keys made from it
    # for one DID; making them parses the public keys and serialises the private ones.
    memo = (ctx.public_url, issuer.slug, did_method, ed_row.id, jwt_row.id)
    made = _signing_keys_made.get(memo)
    if made is None:
        if len(_signing_keys_made) >= _SIGNING_KEYS_KEPT:
            _signing_keys_made.clear()
        made = _make_signing_keys(ctx, issuer, did_method, ed_row, jwt_row)
        _signing_keys_made[memo] = made
    return made


_SIGNING_KEYS_KEPT: Final = 1024
_signing_keys_made: dict[tuple[str, str, str, uuid.UUID, uuid.UUID], tuple[str, SigningKeys]] = {}


def _make_signing_keys(
    ctx: IssuingContext,
    issuer: Issuer,
    did_method: DidMethod,
    ed_row: IssuerKey,
    jwt_row: IssuerKey,
) -> tuple[str, SigningKeys]:
    ed_pair = ctx.vault.keypair(ed_row)
    if did_method == "key":
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
    session: AsyncSession, issuer_id: uuid.UUID, award: Award
) -> IssuedCredential | None:
    if not award.idempotency_key:
        return None
    row = await session.scalar(
        select(Credential).where(
            Credential.issuer_id == issuer_id, Credential.idempotency_key == award.idempotency_key
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
    """Keep the rows of a signed credential (and its `issued` event) for `flush_issued`."""
    rows = _CredentialRows(
        issuer_id=issuer.id,
        credential={
            "id": credential_id,
            "issuer_id": issuer.id,
            "achievement_id": achievement_id,
            "client_id": client.id,
            "issuer_did": issuer_id,
            "subject_id": subject_id,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "awarded_date": awarded_date,
            "issued_at": created,
            "document": signed.document,
            "jwt": signed.jwt,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
        },
        recipients=_recipient_values(credential_id, identities),
        evidence=[
            {
                "id": uuid.uuid4(),
                "credential_id": credential_id,
                "position": position,
                "url": item.url,
                "name": item.name,
                "narrative": item.narrative,
                "description": item.description,
                "genre": item.genre,
            }
            for position, item in enumerate(evidence)
        ],
        status_entries=[
            {
                "id": uuid.uuid4(),
                "credential_id": credential_id,
                "status_list_id": entry.list_id,
                "purpose": entry.purpose,
                "list_index": entry.index,
            }
            for entry in status_entries
        ],
        event={
            "credential_id": credential_id,
            "event_type": "issued",
            "occurred_at": created,
            "actor": client.client_id,
            "reason": None,
        },
    )
    kept_for_transaction(session, _RECORDED).append(rows)
    return IssuedCredential(id=credential_id, document=signed.document, jwt=signed.jwt)


def _recipient_values(
    credential_id: uuid.UUID, identities: Sequence[Identity]
) -> list[dict[str, Any]]:
    """The `credential_recipients` rows of a credential naming `identities`, as values."""
    return [
        {
            "id": uuid.uuid4(),
            "credential_id": credential_id,
            "position": position,
            "identity_type": identity.identity_type,
            "identity_hash": identity.identity_hash,
            "salt": identity.salt,
            "hashed": identity.hashed,
            "lookup_key": identity.lookup_key,
        }
        for position, identity in enumerate(identities)
    ]


# `kept_for_transaction` key: the rows `record_credential` kept, for the next `flush_issued`.
_RECORDED: Final = "lattice.recorded_credentials"


# The tables behind the models, which `insert_rows` writes.
_TABLES: Final = {
    model: cast(Table, model.__table__)
    for model in (
        Credential,
        CredentialRecipient,
        CredentialEvidence,
        CredentialStatusEntry,
        CredentialEvent,
    )
}


@dataclass(frozen=True)
class _CredentialRows:
    """One credential's rows, table by table, so that many credentials are written with one
    INSERT per table: the ORM's unit of work cost about as much CPU as the rest of issuing."""

    issuer_id: uuid.UUID
    credential: dict[str, Any]
    recipients: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    status_entries: list[dict[str, Any]]
    event: dict[str, Any]


@event.listens_for(Session, "before_commit")
def _refuse_unwritten(session: Session) -> None:
    # A caller that recorded a credential and never flushed it would commit without it (and
    # answer with a credential nobody can look up): a programming error, so it fails loudly.
    if has_kept(session, _RECORDED):
        raise RuntimeError("record_credential was not followed by flush_issued")


class _KeyTaken(Conflict):
    """A concurrent request with the same Idempotency-Key stored its credential first."""


def _key_taken(error: IntegrityError) -> _KeyTaken:
    # Only a concurrent request with the same Idempotency-Key can collide here.
    taken = _KeyTaken(
        "a request with the same Idempotency-Key is being processed; retry it",
        field=("Idempotency-Key",),
    )
    taken.__cause__ = error
    return taken


async def flush_issued(session: AsyncSession) -> None:
    """Write the credential rows kept by `record_credential` (the transaction's writes start
    here), after whatever else the session holds: a client those rows refer to, say."""
    await begin_write(session)
    try:
        await session.flush()
        await _write_recorded(session)
    except IntegrityError as error:
        raise _key_taken(error) from error


async def _write_recorded(session: AsyncSession) -> None:
    recorded: list[_CredentialRows] = take_kept(session, _RECORDED)
    if not recorded:
        return
    # Whom the credentials name, as (credential id, lookup key): they become theirs in the
    # achievement-holdings index, and their completions may change (a third MC completes a
    # stack), so those educators are marked for a refresh. The keys' lock is taken by the
    # rows' statement, saving PostgreSQL a round trip of its own.
    named = {
        (row["credential_id"], row["lookup_key"])
        for rows in recorded
        for row in rows.recipients
        if row["lookup_key"]
    }
    lock = achievement_holdings.lock_for(session, {key for _, key in named})
    await insert_rows(
        session,
        [  # parents first
            (_TABLES[Credential], [rows.credential for rows in recorded]),
            (_TABLES[CredentialRecipient], [row for rows in recorded for row in rows.recipients]),
            (_TABLES[CredentialEvidence], [row for rows in recorded for row in rows.evidence]),
            (
                _TABLES[CredentialStatusEntry],
                [row for rows in recorded for row in rows.status_entries],
            ),
            (_TABLES[CredentialEvent], [rows.event for rows in recorded]),
        ],
        then=lock,
    )
    for rows in recorded:
        webhooks.enqueue(
            session,
            rows.issuer_id,
            "credential.issued",
            rows.credential["id"],
            occurred_at=rows.event["occurred_at"],
        )
    linked = await achievement_holdings.credentials_written(session, named, locked=lock is not None)
    await completion_marks.educators_of_agencies_changed(session, linked)
