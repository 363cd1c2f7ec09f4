"""Status lists in the database: allocating entries to new credentials, signing the lists.

Allocation is one `UPDATE … SET allocated = allocated + n … RETURNING`, which issuing runs
in a short transaction of its own and commits before it signs (`badges.issuing.issuing`), so the
list's row lock (SQLite: the database's write lock) is held for milliseconds, never through
signing. The increment is atomic, so no position is ever handed out twice, nor handed out
again after a failure: a credential that is then not stored (signing failed, the process
died) leaves its positions as gaps, bits that stay 0 and that no credential refers to,
which verifiers never read. A list that cannot take the whole request is marked full and the
next one is opened (a savepoint absorbs the race of two workers opening it at once).

`reserve` spares most credentials even that short transaction: a service process takes
positions ahead in blocks (`RESERVED_BLOCK`) and hands them out from memory, each once. The
block's increment is the same atomic one, so processes never share a position; a block's
positions unused when its process stops are gaps like any other (a list of 131,072 loses at
most a block per restart).

Every credential gets a revocation entry; only issuers that opted in (`suspension_enabled`)
also get a suspension entry. The strict OB 3.0 JSON schema (before v1.3) allows one
`credentialStatus` object (multiplicity 0..1), so one entry is written as an object and only
two as an array, which VCDM 2.0 allows but that schema refuses.

Each list is kept signed in two forms made together from the same bits: a Data Integrity
`BitstringStatusListCredential` and the same credential as a VC-JWT (for verifiers, such as
openbadgeslib, that read lists only as JWTs), both with the issuer's Ed25519 key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from weakref import WeakKeyDictionary

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuers.issuers import (
    KeyVault,
    current_key,
    issuer_did,
    published_key,
)
from formats.bitstring import (
    LIST_SIZE,
    empty_bits,
    encode_list,
    permute,
)
from formats.dates import xsd_datetime
from keys.data_integrity import sign_document
from keys.did_web import DID_WEB_PREFIX, jwk_id, multikey_id
from keys.keypair import KeyAlgorithm, KeyPair
from keys.multikey import did_key_for, did_key_verification_method
from keys.vc_jwt import encode_vc_jwt
from schemas.contexts import VC2_CONTEXT
from storage.models import Issuer, StatusList
from storage.session import begin_write, sibling_transaction

Purpose = Literal["revocation", "suspension"]
PURPOSES: Final[tuple[Purpose, ...]] = ("revocation", "suspension")
REVOCATION_ONLY: Final[tuple[Purpose, ...]] = ("revocation",)
# A hint to verifiers (milliseconds): how long a fetched list may be reused.
LIST_TTL_MS: Final = 300_000
# Positions a service process reserves at a time for single credentials (see `reserve`).
RESERVED_BLOCK: Final = 64


@dataclass(frozen=True)
class StatusEntry:
    list_id: uuid.UUID
    list_url: str
    purpose: Purpose
    index: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.purpose,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


def purposes_for(issuer: Issuer) -> tuple[Purpose, ...]:
    """The status purposes a new credential of `issuer` gets an entry for."""
    return PURPOSES if issuer.suspension_enabled else REVOCATION_ONLY


def credential_status(entries: Sequence[StatusEntry]) -> dict[str, Any] | list[dict[str, Any]]:
    """The `credentialStatus` value: one object for one entry (all the strict OB 3.0 schema
    allows), an array for several (VCDM 2.0 allows it; that schema does not)."""
    if len(entries) == 1:
        return entries[0].as_json()
    return [entry.as_json() for entry in entries]


def list_url(public_url: str, issuer: Issuer, list_id: uuid.UUID) -> str:
    return f"{public_url}/status/{issuer.slug}/{list_id}"


async def allocate(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    signing_did: str,
    purpose: Purpose,
    count: int,
) -> list[StatusEntry]:
    """`count` fresh entries in the issuer's open list for `purpose` (opening one if needed)."""
    if count == 0:
        return []
    while True:
        row = await _open_list(session, public_url, vault, issuer, signing_did, purpose)
        end = await session.scalar(
            update(StatusList)
            .where(StatusList.id == row.id, StatusList.allocated + count <= StatusList.size)
            .values(allocated=StatusList.allocated + count)
            .returning(StatusList.allocated)
        )
        if end is not None:
            url = list_url(public_url, issuer, row.id)
            return [
                StatusEntry(row.id, url, purpose, permute(row.permutation_seed, position, row.size))
                for position in range(end - count, end)
            ]
        await session.execute(
            update(StatusList).where(StatusList.id == row.id).values(is_full=True)
        )


# (public URL, issuer id, issuer slug, purpose, signing DID) -> positions reserved, not yet
# handed out. The slug is in the key because it is in the list's URL.
_ReservedKey = tuple[str, uuid.UUID, str, Purpose, str]
_reserved: WeakKeyDictionary[Engine, dict[_ReservedKey, list[StatusEntry]]] = WeakKeyDictionary()


async def reserve(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    signing_did: str,
    purpose: Purpose,
    count: int,
) -> list[StatusEntry]:
    """`count` fresh entries, each handed out once, from positions this process reserved
    ahead; a block is reserved (committed) in a short transaction of its own, not in
    `session`'s, whose transaction must therefore not hold the SQLite write lock."""
    if count >= RESERVED_BLOCK:
        async with sibling_transaction(session) as own:
            return await allocate(own, public_url, vault, issuer, signing_did, purpose, count)
    by_key = _reserved.setdefault(session.get_bind().engine, {})
    key = (public_url, issuer.id, issuer.slug, purpose, signing_did)
    ready = by_key.get(key, [])
    if len(ready) < count:  # the rest of this block stays unused: a gap
        async with sibling_transaction(session) as own:
            ready = await allocate(
                own, public_url, vault, issuer, signing_did, purpose, RESERVED_BLOCK
            )
    # No await from here on: no other task can take the same positions.
    by_key[key] = ready[count:]
    return ready[:count]


async def _open_list(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    signing_did: str,
    purpose: Purpose,
) -> StatusList:
    scope = (
        StatusList.issuer_id == issuer.id,
        StatusList.purpose == purpose,
        StatusList.signing_did == signing_did,
    )
    while True:
        row = await session.scalar(
            select(StatusList)
            .where(*scope, StatusList.is_full.is_(False))
            .order_by(StatusList.sequence)
            .limit(1)
        )
        if row is not None:
            return row
        sequence = (await session.scalar(select(func.max(StatusList.sequence)).where(*scope))) or 0
        try:
            async with session.begin_nested():
                return await _create_list(
                    session, public_url, vault, issuer, signing_did, purpose, sequence + 1
                )
        except IntegrityError:
            continue  # another worker opened this list first; use theirs


async def _create_list(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    signing_did: str,
    purpose: Purpose,
    sequence: int,
) -> StatusList:
    row = StatusList(
        id=uuid.uuid4(),
        issuer_id=issuer.id,
        purpose=purpose,
        signing_did=signing_did,
        sequence=sequence,
        size=LIST_SIZE,
        allocated=0,
        is_full=False,
        permutation_seed=secrets.token_bytes(32),
        bits=empty_bits(LIST_SIZE),
    )
    await sign_list(row, public_url, vault, issuer)
    session.add(row)
    await session.flush()
    return row


async def sign_list(row: StatusList, public_url: str, vault: KeyVault, issuer: Issuer) -> None:
    """(Re)make both signed forms of `row` from its bits: the Data Integrity
    `BitstringStatusListCredential` and its VC-JWT, with one key at one moment."""
    now = datetime.now(UTC).replace(microsecond=0)
    key = _list_signing_key(vault, issuer, row.signing_did, public_url)
    unsigned = _unsigned_list(row, list_url(public_url, issuer, row.id), key.did, now)
    signed, token = await asyncio.to_thread(_sign_both, unsigned, key, now)
    row.document = json.dumps(signed, separators=(",", ":"))
    row.etag = '"' + hashlib.sha256(row.document.encode()).hexdigest()[:32] + '"'
    row.jwt = token
    row.updated_at = now


async def backfill_jwt(
    session: AsyncSession, public_url: str, vault: KeyVault, list_id: uuid.UUID
) -> StatusList:
    """The list with its VC-JWT, re-signing it (both forms) if it was signed before lists had
    one. Locked like a status change, so it cannot overwrite a concurrent bit change."""
    await begin_write(session)
    row = await session.scalar(
        select(StatusList)
        .where(StatusList.id == list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise LookupError(f"status list {list_id} is missing")
    if row.jwt is None:
        issuer = await session.get(Issuer, row.issuer_id)
        if issuer is None:
            raise LookupError(f"the issuer of status list {list_id} is missing")
        await sign_list(row, public_url, vault, issuer)
        await session.flush()
    return row


def jwt_etag(etag: str) -> str:
    """The ETag of a list's VC-JWT form. Both forms are re-signed together, so the JWT changes
    exactly when the document (and its ETag) does; the suffix keeps the two forms' tags apart."""
    return etag.removesuffix('"') + '.jwt"'


def _unsigned_list(row: StatusList, url: str, signer: str, now: datetime) -> dict[str, Any]:
    return {
        "@context": [VC2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer,
        "validFrom": xsd_datetime(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose,
            "encodedList": encode_list(row.bits),
            "ttl": LIST_TTL_MS,
        },
    }


@dataclass(frozen=True)
class _ListKey:
    did: str  # the list credential's `issuer`
    pair: KeyPair
    # The Multikey method (Data Integrity proof) and the JsonWebKey method (VC-JWT `kid`).
    verification_method: str
    jwt_kid: str


def _sign_both(
    unsigned: dict[str, Any], key: _ListKey, now: datetime
) -> tuple[dict[str, Any], str]:
    signed = sign_document(unsigned, _ed25519(key.pair), key.verification_method, now)
    # VCDM 2.0 VC-JWT: the payload is the (unproofed) list credential; `nbf` = its validFrom,
    # the signing time, which is when this version of the list starts to hold.
    token = encode_vc_jwt(unsigned, key.pair, kid=key.jwt_kid)
    return signed, token


def _list_signing_key(
    vault: KeyVault, issuer: Issuer, signing_did: str, public_url: str
) -> _ListKey:
    """The Ed25519 key that speaks for `signing_did`: the matching (possibly retired) one for
    a did:key, whose identity is the key itself; for a did:web, the current key under the
    issuer's did:web of today's public URL.

    A did:web names a host. After the service's public URL changed, a list first published
    under the old host's DID keeps its row (`signing_did`), but this service publishes only
    the DID document of its current URL, and did:web resolution refuses a document whose
    `id` is another DID: a list signed as the old DID could not be verified by anyone, so
    revoking would change nothing a verifier can read. It is re-signed as the current DID,
    whose key resolves; a verifier then only notes that the list's signer differs from the
    credential's issuer (BitstringStatusList does not require them to be the same)."""
    if signing_did.startswith(DID_WEB_PREFIX):
        did = issuer_did(public_url, issuer)
        row = current_key(issuer, KeyAlgorithm.ED25519)
        published = published_key(row)
        return _ListKey(
            did, vault.keypair(row), multikey_id(did, published), jwk_id(did, published)
        )
    for row in issuer.keys:
        if row.algorithm != KeyAlgorithm.ED25519.value:
            continue
        public = published_key(row).public_key
        if isinstance(public, Ed25519PublicKey) and did_key_for(public) == signing_did:
            method = did_key_verification_method(public)
            return _ListKey(signing_did, vault.keypair(row), method, method)
    raise LookupError(f"no key of issuer {issuer.slug} signs as {signing_did}")


def _ed25519(pair: KeyPair) -> Ed25519PrivateKey:
    if not isinstance(pair.private_key, Ed25519PrivateKey):
        raise TypeError("status lists are signed with Ed25519 keys")
    return pair.private_key
