"""Verification receipts: a credential the service signs, recording what it verified, when,
and the verdict for each.

The receipt is a plain VCDM 2.0 `VerifiableCredential` that uses only terms the VC v2
context defines, so it passes JSON-LD safe mode and any VC verifier accepts it without an
extra context:

- `issuer`: the service's own issuer (slug `lattice`, made on first use), as its did:web;
- `validFrom`: when the verdicts were reached; `description`: the counts, for people;
- one `credentialSubject` per item, in request order: `id` is the credential's `id`, else
  the URL it was fetched from, else `ni:///sha-256;…` (RFC 6920) of what was presented;
  `description` is the verdict (`verified`, `revoked`, … or `rejected` for input that was
  not a credential); `digestSRI` is the SHA-256 of the credential JSON (keys sorted, no
  spaces) or VC-JWT as presented, so a receipt names the exact bytes it speaks about.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from badges.errors import Conflict
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
    current_key,
    get_issuer,
    issuer_did,
    published_key,
)
from badges.issuing.issuing import IssuingContext
from formats.dates import xsd_datetime
from keys.data_integrity import sign_document
from keys.did_web import multikey_id
from keys.keypair import KeyAlgorithm
from schemas.contexts import VC2_CONTEXT
from storage.models import Issuer
from storage.session import transaction

SERVICE_SLUG: Final = "lattice"  # one of badges.issuers.issuers.RESERVED_SLUGS
REJECTED: Final = "rejected"
# An absolute IRI that canonicalizes as written: a scheme, and nothing N-Quads would escape.
_ABSOLUTE_IRI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f]+")
_MAX_IRI_LENGTH: Final = 2000


@dataclass(frozen=True)
class ReceiptEntry:
    subject: str
    verdict: str
    digest: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.subject, "description": self.verdict}
        if self.digest is not None:
            entry["digestSRI"] = "sha256-" + base64.b64encode(self.digest).decode("ascii")
        return entry


def presented_digest(value: Any) -> bytes:
    """SHA-256 of a presented JWT (its text) or JSON value (keys sorted, no spaces)."""
    if isinstance(value, str):
        data = value.encode("utf-8")
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data = text.encode("utf-8")
    return hashlib.sha256(data).digest()


def receipt_entry(
    verdict: str, *, credential_id: Any = None, url: str | None = None, digest: bytes | None
) -> ReceiptEntry:
    """The entry for one item: named by credential id, else URL, else digest."""
    for name in (credential_id, url):
        if isinstance(name, str) and len(name) <= _MAX_IRI_LENGTH and _ABSOLUTE_IRI.fullmatch(name):
            return ReceiptEntry(name, verdict, digest)
    if digest is None:
        raise ValueError("an item without a usable id or URL needs the digest of what it held")
    named = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return ReceiptEntry(f"ni:///sha-256;{named}", verdict, digest)


def receipt_document(
    entries: Sequence[ReceiptEntry], *, issuer: Mapping[str, str], verified_at: datetime
) -> dict[str, Any]:
    """The unsigned receipt (`issuer` is `{"id", "name"}`)."""
    when = xsd_datetime(verified_at)
    counts = Counter(entry.verdict for entry in entries)
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    return {
        "@context": [VC2_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential"],
        "name": "Verification receipt",
        "description": f"{len(entries)} credential(s) verified at {when}: {summary}.",
        "issuer": dict(issuer),
        "validFrom": when,
        "credentialSubject": [entry.to_json() for entry in entries],
    }


async def service_issuer(
    sessions: async_sessionmaker[AsyncSession], vault: KeyVault, public_url: str
) -> Issuer:
    """The service's own issuer, made (in its own transaction) the first time it is needed."""
    async with sessions() as session:
        found = await session.scalar(select(Issuer).where(Issuer.slug == SERVICE_SLUG))
    if found is not None:
        return found
    details = IssuerDetails(
        slug=SERVICE_SLUG,
        name="Lattice",
        url=public_url,
        description="This service: it signs the receipts of the verifications it performs.",
    )
    try:
        async with transaction(sessions) as session:
            return await create_issuer(session, vault, details, reserved=True)
    except (Conflict, IntegrityError):
        # Another request made it between our read and our insert.
        async with sessions() as session:
            return await get_issuer(session, SERVICE_SLUG)


async def issue_receipt(
    sessions: async_sessionmaker[AsyncSession],
    ctx: IssuingContext,
    entries: Sequence[ReceiptEntry],
    verified_at: datetime,
) -> dict[str, Any]:
    """The signed receipt (eddsa-rdfc-2022, by the service issuer's current Ed25519 key)."""
    issuer = await service_issuer(sessions, ctx.vault, ctx.public_url)
    did = issuer_did(ctx.public_url, issuer)
    row = current_key(issuer, KeyAlgorithm.ED25519)
    private_key = ctx.vault.keypair(row).private_key
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("the service issuer's Ed25519 key row holds another kind of key")
    document = receipt_document(
        entries, issuer={"id": did, "name": issuer.name}, verified_at=verified_at
    )
    method = multikey_id(did, published_key(row))
    # Canonicalizing a 500-item receipt takes a while: keep it off the event loop.
    return await asyncio.to_thread(sign_document, document, private_key, method, verified_at)
