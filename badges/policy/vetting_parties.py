"""Who asks an agency to vet an MC, and what the MC is: the requester (a provider, a teacher
or the agency's staff), the agency named in a request, and the MC as a request records it.

A provider may only submit its own achievements; the agency's staff name any by IRI; a
teacher describes one from elsewhere, best with the credential she holds, so that an
approval names the achievement exactly as earners' badges carry it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput, NotFound
from badges.issuers.issuers import issuer_did
from badges.issuing.achievements import (
    achievement_url,
    get_achievement,
)
from badges.policy.holdings import own_achievement_ids
from keys.did_web import did_web_for
from storage.models import Achievement, Agency, Issuer

RequestState = Literal["submitted", "in_review", "approved", "declined", "withdrawn"]
STATES: Final[tuple[RequestState, ...]] = (
    "submitted",
    "in_review",
    "approved",
    "declined",
    "withdrawn",
)
OPEN_STATES: Final = ("submitted", "in_review")
RequesterKind = Literal["provider", "teacher", "agency"]


@dataclass(frozen=True)
class Requester:
    """Whose request it is (`owner`: the issuer's, teacher's or agency's id) and who acts
    for them now (`actor`, as the audit trail names it)."""

    kind: RequesterKind
    owner: str
    actor: str

    @classmethod
    def provider(cls, issuer: Issuer, client_id: str) -> Requester:
        return cls("provider", str(issuer.id), f"provider:{client_id}")

    @classmethod
    def teacher(cls, teacher_id: uuid.UUID) -> Requester:
        return cls("teacher", str(teacher_id), f"teacher:{teacher_id}")

    @classmethod
    def agency(cls, agency: Agency, client_id: str) -> Requester:
        return cls("agency", str(agency.id), staff(client_id))


def staff(client_id: str) -> str:
    """The audit trail's name for an agency client acting on a request."""
    return f"agency:{client_id}"


@dataclass(frozen=True)
class Subject:
    """The MC to vet, as the request records it. `achievement_iri` is what an approval will
    name, so it must be the achievement id that earners' credentials carry."""

    achievement_iri: str
    name: str
    provider: str | None = None
    issuer_iri: str | None = None
    url: str | None = None
    credential: str | None = None
    # What the verifier said of `credential`, for the reviewers (kept in the trail).
    credential_check: Mapping[str, Any] = field(default_factory=dict)


async def find_agency(session: AsyncSession, public_url: str, ref: str) -> Agency:
    """The agency named by its issuer slug, its public profile URL or DID, or its id."""
    slug = ref
    did_prefix = did_web_for(public_url, "issuers", "x")[:-1]
    if ref.startswith(f"{public_url}/issuers/"):
        slug = ref.removeprefix(f"{public_url}/issuers/")
    elif ref.startswith(did_prefix):
        slug = ref.removeprefix(did_prefix)
    try:
        found = await session.get(Agency, uuid.UUID(ref))
    except ValueError:
        found = await session.scalar(
            select(Agency).join(Issuer, Issuer.id == Agency.issuer_id).where(Issuer.slug == slug)
        )
    if found is None:
        raise NotFound(f"no state agency {ref!r}", field=("agency",))
    return found


async def own_achievement(
    session: AsyncSession, public_url: str, issuer: Issuer, ref: str
) -> Subject:
    """One of the provider's own achievements, by id or IRI; anyone else's is not found."""
    ids = own_achievement_ids(public_url, [ref])
    try:
        achievement_id = ids[0] if ids else uuid.UUID(ref)
    except ValueError:
        raise NotFound(f"no achievement {ref!r} of this issuer", field=("achievementId",)) from None
    row = await get_achievement(session, issuer, achievement_id)
    if row.archived_at is not None:
        raise InvalidInput(
            "the achievement is archived: submit its current revision", field=("achievementId",)
        )
    iri = achievement_url(public_url, row.id)
    return Subject(iri, row.name, issuer.name, issuer_did(public_url, issuer), iri)


async def named_achievement(
    session: AsyncSession,
    public_url: str,
    iri: str,
    name: str | None,
    provider: str | None,
    url: str | None,
) -> Subject:
    """An achievement the agency names by IRI: this service's own are described from the
    store; any other needs its name."""
    _iri(iri, "achievementId")
    own = own_achievement_ids(public_url, [iri])
    row = await session.get(Achievement, own[0]) if own else None
    if row is not None:
        issuer = await session.get(Issuer, row.issuer_id)
        assert issuer is not None  # a foreign key
        return Subject(
            iri, name or row.name, provider or issuer.name, issuer_did(public_url, issuer), iri
        )
    if not name:
        raise InvalidInput("name the MC (it is not one of this service's)", field=("name",))
    return Subject(iri, name, provider, None, url)


def outside_mc(
    *,
    name: str | None,
    provider: str | None,
    url: str | None,
    achievement_id: str | None,
    credential: str | None = None,
    document: Mapping[str, Any] | None = None,
    check: Mapping[str, Any] | None = None,
) -> Subject:
    """An MC from elsewhere that a teacher asks about. With the credential she holds
    (`credential` as sent, `document` as read), the achievement, its name and its issuer
    come from it, so that an approval names the achievement as her badge does."""
    achievement, issuer = _achievement_and_issuer(document) if document is not None else ({}, {})
    from_credential = achievement.get("id")
    if document is not None and not isinstance(from_credential, str):
        raise InvalidInput(
            "the credential names no achievement (credentialSubject.achievement.id)",
            field=("credential",),
        )
    if from_credential and achievement_id and achievement_id != from_credential:
        raise InvalidInput(
            f"achievementId differs from the credential's achievement ({from_credential})",
            field=("achievementId",),
        )
    name = name or _text(achievement.get("name"))
    provider = provider or _text(issuer.get("name"))
    if not name:
        raise InvalidInput("name the micro-credential", field=("name",))
    if not provider:
        raise InvalidInput("name its provider", field=("provider",))
    iri = from_credential or achievement_id or url
    if not iri:
        raise InvalidInput("give the MC's URL (or the credential you hold)", field=("url",))
    where = "credential" if from_credential else "achievementId"
    return Subject(
        _iri(iri, where),
        name,
        provider,
        _text(issuer.get("id"), MAX_IRI),
        url,
        credential,
        dict(check or {}),
    )


def _achievement_and_issuer(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    issuer = document.get("issuer")
    issuer = {"id": issuer} if isinstance(issuer, str) else issuer
    return (
        dict(achievement) if isinstance(achievement, Mapping) else {},
        dict(issuer) if isinstance(issuer, Mapping) else {},
    )


# What a stored name or IRI may not hold: controls (NUL breaks PostgreSQL text), surrogates.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_IRI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
MAX_IRI: Final = 2000


def _iri(value: str, field: str) -> str:
    if len(value) > MAX_IRI or _UNPRINTABLE.search(value) or not _IRI.fullmatch(value):
        raise InvalidInput(
            f"the achievement's id must be an IRI of at most {MAX_IRI} characters",
            field=(field,),
        )
    return value


def _text(value: object, limit: int = 500) -> str | None:
    """A name or id taken from a credential someone else wrote, fit to store and show."""
    if not isinstance(value, str):
        return None
    return _UNPRINTABLE.sub(" ", value).strip()[:limit] or None
