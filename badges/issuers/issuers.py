"""Issuers (provider organisations): their public OB `Profile`, DIDs and signing keys.

Every issuer holds one current Ed25519 key (Data Integrity proofs, EdDSA VC-JWT) and one
current RSA 2048 key (RS256 VC-JWT, the one algorithm OB 3.0 requires every verifier to
support). Rotation retires the current keys but keeps them published, so every credential
signed before the rotation still verifies.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from keys.did_web import PublishedKey, build_did_document, did_web_for
from keys.keypair import KeyAlgorithm, KeyPair, public_key_from_jwk
from keys.master import MasterKey
from keys.multikey import did_key_for, did_key_verification_method
from schemas.contexts import OB3_CONTEXT, VC2_CONTEXT
from storage.models import Issuer, IssuerKey

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Issuers the service itself signs as (verification receipts); never a provider's.
RESERVED_SLUGS = frozenset({"lattice"})
SIGNING_ALGORITHMS = (KeyAlgorithm.ED25519, KeyAlgorithm.RSA)


@dataclass(frozen=True)
class IssuerDetails:
    slug: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image_url: str | None = None
    # Credentials also get a suspension entry (two entries: see `badges.status.status_lists`).
    suspension_enabled: bool = False


class KeyVault:
    """Decrypts issuer private keys with the master key, once per key per process."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._cache: dict[uuid.UUID, KeyPair] = {}

    def seal(self, row_id: uuid.UUID, pair: KeyPair) -> bytes:
        return self._master.encrypt(pair.private_bytes(), context=_key_context(row_id))

    def keypair(self, row: IssuerKey) -> KeyPair:
        pair = self._cache.get(row.id)
        if pair is None:
            data = self._master.decrypt(row.private_key_encrypted, context=_key_context(row.id))
            pair = KeyPair.from_private_bytes(KeyAlgorithm(row.algorithm), data)
            self._cache[row.id] = pair
        return pair

    def seal_secret(self, secret: bytes, *, context: bytes) -> bytes:
        """Encrypt another secret (e.g. a webhook signing secret) bound to `context`."""
        return self._master.encrypt(secret, context=context)

    def open_secret(self, sealed: bytes, *, context: bytes) -> bytes:
        return self._master.decrypt(sealed, context=context)

    @cached_property
    def lookup_secret(self) -> bytes:
        """The key of identifier lookup hashes (`recipients.lookup_key`)."""
        return self._master.derive_key(b"lattice identifier lookup v1")


def _key_context(row_id: uuid.UUID) -> bytes:
    # Binding the ciphertext to its row stops a sealed key being replayed into another issuer.
    return b"lattice-issuer-key:" + row_id.bytes


async def create_issuer(
    session: AsyncSession, vault: KeyVault, details: IssuerDetails, *, reserved: bool = False
) -> Issuer:
    """A new issuer with fresh keys; `reserved=True` only for the service's own issuers."""
    if not _SLUG.match(details.slug):
        raise InvalidInput(
            "slug must be 1-64 lower-case letters, digits or '-', not starting or ending with '-'",
            field=("slug",),
        )
    if details.slug in RESERVED_SLUGS and not reserved:
        raise InvalidInput(f"slug {details.slug!r} is reserved for the service", field=("slug",))
    if await session.scalar(select(Issuer.id).where(Issuer.slug == details.slug)):
        raise Conflict(f"an issuer with slug {details.slug!r} already exists", field=("slug",))
    issuer = Issuer(
        id=uuid.uuid4(),
        slug=details.slug,
        name=details.name,
        url=details.url,
        email=details.email,
        description=details.description,
        image_url=details.image_url,
        suspension_enabled=details.suspension_enabled,
        keys=[],
    )
    session.add(issuer)
    for algorithm in SIGNING_ALGORITHMS:
        _add_key(session, vault, issuer, algorithm)
    await session.flush()
    return issuer


async def set_suspension(session: AsyncSession, issuer: Issuer, enabled: bool) -> Issuer:
    """Turn suspension on or off for the issuer's credentials issued from now on.

    Credentials already issued keep the entries they were signed with: turning it on does not
    make earlier ones suspendable, and turning it off leaves earlier suspension entries usable.
    """
    issuer.suspension_enabled = enabled
    await session.flush()
    return issuer


async def rotate_keys(session: AsyncSession, vault: KeyVault, issuer: Issuer) -> list[IssuerKey]:
    """Retire the current signing keys and make new ones current; returns the new keys."""
    now = datetime.now(UTC)
    for row in issuer.keys:
        if row.retired_at is None:
            row.retired_at = now
    new_keys = [_add_key(session, vault, issuer, algorithm) for algorithm in SIGNING_ALGORITHMS]
    await session.flush()
    return new_keys


def _add_key(
    session: AsyncSession, vault: KeyVault, issuer: Issuer, algorithm: KeyAlgorithm
) -> IssuerKey:
    pair = KeyPair.generate(algorithm)
    row_id = uuid.uuid4()
    row = IssuerKey(
        id=row_id,
        issuer_id=issuer.id,
        key_id=f"key-{len(issuer.keys) + 1}",
        algorithm=algorithm.value,
        public_jwk=pair.public_jwk(),
        private_key_encrypted=vault.seal(row_id, pair),
        created_at=datetime.now(UTC),
    )
    issuer.keys.append(row)
    session.add(row)
    return row


async def get_issuer(session: AsyncSession, slug: str) -> Issuer:
    issuer = await session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is None:
        raise NotFound(f"no issuer {slug!r}")
    return issuer


async def list_issuers(session: AsyncSession) -> list[Issuer]:
    return list(await session.scalars(select(Issuer).order_by(Issuer.slug)))


def current_key(issuer: Issuer, algorithm: KeyAlgorithm) -> IssuerKey:
    for row in reversed(issuer.keys):
        if row.algorithm == algorithm.value and row.retired_at is None:
            return row
    raise LookupError(f"issuer {issuer.slug} has no current {algorithm.value} key")


def published_key(row: IssuerKey) -> PublishedKey:
    return PublishedKey(
        key_id=row.key_id,
        algorithm=KeyAlgorithm(row.algorithm),
        public_key=public_key_from_jwk(row.public_jwk),
    )


def issuer_did(public_url: str, issuer: Issuer) -> str:
    return did_web_for(public_url, "issuers", issuer.slug)


def issuer_did_key(issuer: Issuer) -> tuple[str, str]:
    """The issuer's current Ed25519 key as a `did:key` and its verification method id."""
    key = published_key(current_key(issuer, KeyAlgorithm.ED25519)).public_key
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError("an Ed25519 key row holds a non-Ed25519 public key")
    return did_key_for(key), did_key_verification_method(key)


def did_document(public_url: str, issuer: Issuer) -> dict[str, Any]:
    did = issuer_did(public_url, issuer)
    return build_did_document(did, [published_key(row) for row in issuer.keys])


def profile(issuer: Issuer, issuer_id: str) -> dict[str, Any]:
    """The OB 3.0 `Profile` of the issuer (without `@context`), as embedded in credentials."""
    document: dict[str, Any] = {"id": issuer_id, "type": ["Profile"], "name": issuer.name}
    if issuer.url:
        document["url"] = issuer.url
    if issuer.email:
        document["email"] = issuer.email
    if issuer.description:
        document["description"] = issuer.description
    if issuer.image_url:
        document["image"] = {"id": issuer.image_url, "type": "Image"}
    return document


def profile_document(public_url: str, issuer: Issuer) -> dict[str, Any]:
    """The public JSON-LD issuer profile served at `/issuers/<slug>`."""
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        **profile(issuer, issuer_did(public_url, issuer)),
    }


def credential_url(public_url: str, credential_id: uuid.UUID) -> str:
    return f"{public_url}/credentials/{credential_id}"
