"""Status lists in the database: allocating entries to new credentials, signing the lists.

Allocation is one `UPDATE … SET allocated = allocated + n … RETURNING` in the issuing
transaction. On PostgreSQL the row lock serialises concurrent issuers of one list, so no
position is handed out twice; a rolled-back issuance rolls its positions back with it, so
none is lost either. A list that cannot take the whole request is marked full and the next
one is opened (a savepoint absorbs the race of two workers opening it at once).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.bitstring import LIST_SIZE, empty_bits, encode_list, permute
from badges.credential_document import xsd_datetime
from badges.issuers import KeyVault, current_key, issuer_did, published_key
from keys.data_integrity import sign_document
from keys.did_web import multikey_id
from keys.keypair import KeyAlgorithm, KeyPair
from keys.multikey import did_key_for, did_key_verification_method
from schemas.contexts import VC2_CONTEXT
from storage.models import Issuer, StatusList

Purpose = Literal["revocation", "suspension"]
PURPOSES: Final[tuple[Purpose, ...]] = ("revocation", "suspension")
# A hint to verifiers (milliseconds): how long a fetched list may be reused.
LIST_TTL_MS: Final = 300_000


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
    """(Re)make the signed `BitstringStatusListCredential` of `row` from its bits."""
    now = datetime.now(UTC).replace(microsecond=0)
    url = list_url(public_url, issuer, row.id)
    unsigned = {
        "@context": [VC2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": row.signing_did,
        "validFrom": xsd_datetime(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose,
            "encodedList": encode_list(row.bits),
            "ttl": LIST_TTL_MS,
        },
    }
    key, method = _list_signing_key(vault, issuer, row.signing_did, public_url)
    signed = await asyncio.to_thread(sign_document, unsigned, key, method, now)
    row.document = json.dumps(signed, separators=(",", ":"))
    row.etag = '"' + hashlib.sha256(row.document.encode()).hexdigest()[:32] + '"'
    row.updated_at = now


def _list_signing_key(
    vault: KeyVault, issuer: Issuer, signing_did: str, public_url: str
) -> tuple[Ed25519PrivateKey, str]:
    """The Ed25519 key that speaks for `signing_did`: the current one for did:web, the
    matching (possibly retired) one for a did:key, whose identity is the key itself."""
    if signing_did == issuer_did(public_url, issuer):
        row = current_key(issuer, KeyAlgorithm.ED25519)
        return _ed25519(vault.keypair(row)), multikey_id(signing_did, published_key(row))
    for row in issuer.keys:
        if row.algorithm != KeyAlgorithm.ED25519.value:
            continue
        public = published_key(row).public_key
        if isinstance(public, Ed25519PublicKey) and did_key_for(public) == signing_did:
            return _ed25519(vault.keypair(row)), did_key_verification_method(public)
    raise LookupError(f"no key of issuer {issuer.slug} signs as {signing_did}")


def _ed25519(pair: KeyPair) -> Ed25519PrivateKey:
    if not isinstance(pair.private_key, Ed25519PrivateKey):
        raise TypeError("status lists are signed with Ed25519 keys")
    return pair.private_key
