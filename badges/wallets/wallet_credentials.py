"""A teacher's badge re-issued to a wallet: the same award, bound to the DID the wallet proved.

OB 3.0 recommends issuing to an e-mail `identifier` until the holder proves a DID, and
then binding `credentialSubject.id` to it (Implementation Guide, recipient identifiers).
A signed credential cannot be edited, so the wallet gets a NEW credential: the original's
content (achievement as embedded at award time, evidence, results, identifiers, validity
dates) with a new id, `credentialSubject.id` = the holder's DID, signed now by the
issuer's current keys, stored and announced like any other issuance.

The copy carries the original's `credentialStatus` unchanged: the same entries, the same
list positions. It is the same award, so it has the same status: revoking or suspending
the original sets the one bit every copy points to, and every verifier sees all of them
revoked at once. The copy is recorded as a copy (`badges.status.copies`): it is never counted
beside its original, and its status is changed through the original.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput
from badges.issuers.issuers import credential_url
from badges.issuing.credential_document import Evidence
from badges.issuing.issuing import (
    DidMethod,
    IssuedCredential,
    IssuingContext,
    JwtAlgorithm,
    flush_issued,
    record_credential,
    signing_keys,
)
from badges.issuing.recipients import Identity
from badges.status.copies import record_copy
from badges.status.status_changes import (
    Standing,
    events_of,
    standing_of,
)
from keys.vc_jwt import VcJwtError, decode_unverified
from schemas.contexts import VC2_CONTEXT
from storage.models import Client, Credential, Issuer

# What a wallet copy can be made of: OB 3.0 on VCDM 2.0 (not CLRs, not VCDM 1.1 input).
_OPEN_BADGE_TYPES: Final = frozenset({"OpenBadgeCredential", "AchievementCredential"})
_DID: Final = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")
# Fields of the original that belong to its own signature, not to the award (its status
# does: the copy keeps the original's `credentialStatus`).
_NOT_CARRIED: Final = ("proof",)


class NotReissuable(InvalidInput):
    """The badge cannot go to a wallet: revoked, suspended, expired or not an Open Badge."""


def _types(document: dict[str, Any]) -> set[str]:
    value = document.get("type", [])
    return set(value if isinstance(value, list) else [value])


async def check_reissuable(
    session: AsyncSession, credential: Credential, now: datetime | None = None
) -> dict[str, Any]:
    """The original's document if a wallet copy may be made of it; NotReissuable otherwise."""
    moment = now or datetime.now(UTC)
    document: dict[str, Any] = json.loads(credential.document)
    contexts = document.get("@context", [])
    if not (_OPEN_BADGE_TYPES & _types(document)) or contexts[:1] != [VC2_CONTEXT]:
        raise NotReissuable("only Open Badges 3.0 credentials can be added to a wallet")
    standing = standing_of(await events_of(session, credential.id))
    if standing is not Standing.ACTIVE:
        raise NotReissuable(f"this badge is {standing.value}; it cannot be added to a wallet")
    if credential.valid_until is not None and credential.valid_until <= moment:
        raise NotReissuable("this badge has expired; it cannot be added to a wallet")
    return document


def is_did(value: str) -> bool:
    return bool(_DID.match(value))


def _did_method(credential: Credential) -> DidMethod:
    return "key" if credential.issuer_did.startswith("did:key:") else "web"


def _jwt_algorithm(credential: Credential) -> JwtAlgorithm | None:
    """The VC-JWT algorithm the original was signed with, so the copy matches it."""
    if not credential.jwt:
        return None
    try:
        header, _ = decode_unverified(credential.jwt)
    except VcJwtError:
        return None
    algorithm = header.get("alg")
    return algorithm if algorithm in ("RS256", "EdDSA") else None


async def reissue_to_holder(
    session: AsyncSession,
    ctx: IssuingContext,
    credential: Credential,
    holder_did: str,
) -> IssuedCredential:
    """Sign and store a copy of `credential` whose subject is `holder_did`, with the
    original's status entries (no new ones are allocated)."""
    if not is_did(holder_did):
        raise InvalidInput("the holder must be identified by a DID", field=("holder",))
    document = await check_reissuable(session, credential)
    if not document.get("credentialStatus"):
        raise NotReissuable("this badge has no status entry a wallet copy could share")
    issuer = await session.get(Issuer, credential.issuer_id)
    client = await session.get(Client, credential.client_id) if credential.client_id else None
    if issuer is None or client is None:
        raise Conflict("the provider that awarded this badge can no longer issue it")
    issuer_id, keys = signing_keys(ctx, issuer, _did_method(credential), _jwt_algorithm(credential))
    credential_id = uuid.uuid4()
    unsigned = _bound_copy(document, credential_url(ctx.public_url, credential_id), issuer_id)
    unsigned["credentialSubject"]["id"] = holder_did
    created = datetime.now(UTC).replace(microsecond=0)
    signed = await ctx.signer.sign(unsigned, keys, created)
    if isinstance(signed, str):
        raise InvalidInput(signed)
    issued = record_credential(
        session,
        issuer=issuer,
        client=client,
        credential_id=credential_id,
        issuer_id=issuer_id,
        subject_id=holder_did,
        valid_from=credential.valid_from,
        valid_until=credential.valid_until,
        identities=[
            Identity(row.identity_type, row.identity_hash, row.salt, row.hashed, row.lookup_key)
            for row in credential.recipients
        ],
        signed=signed,
        created=created,
        achievement_id=credential.achievement_id,
        awarded_date=credential.awarded_date,
        evidence=tuple(
            Evidence(item.url, item.name, item.narrative, item.description, item.genre)
            for item in credential.evidence
        ),
    )
    await flush_issued(session)
    # After the credential's rows: the link refers to them (no ORM relationship orders it).
    record_copy(session, credential_id, credential.id)
    await session.flush()
    return issued


def _bound_copy(document: dict[str, Any], new_id: str, issuer_id: str) -> dict[str, Any]:
    """The original's content under a new id, issued by the issuer's current identifier
    (a did:key issuer's DID changes when its key rotates)."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    for name in _NOT_CARRIED:
        copy.pop(name, None)
    copy["id"] = new_id
    if isinstance(copy.get("issuer"), dict):
        copy["issuer"]["id"] = issuer_id
    else:
        copy["issuer"] = issuer_id
    subject = copy.get("credentialSubject")
    if not isinstance(subject, dict):
        raise NotReissuable("only credentials with a single subject can be added to a wallet")
    return copy
