"""The curated list: the MCs an agency has vetted, per purpose, and its approved providers,
as they stood on a date, for anyone to read.

An MC is on the list for a purpose when the decision in force on the date approves it
(`rule_book.ApprovalBook`, the rule every evaluation uses), counting only the decisions
recorded by that date: the list as of a past date is the list the agency had published
then, and a decision recorded later (even one reaching back) never changes it.

Each MC is named by its achievement when it was defined here, else by the vetting request
that brought it to the agency (an outside MC), else by its IRI.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import NotFound
from badges.policy.agencies import approvals_of
from badges.policy.approved_providers import providers_at
from badges.policy.purposes import (
    check_purpose,
    purposes_of,
)
from badges.policy.rule_book import ApprovalBook
from storage.bulk import chunks
from storage.models import Achievement, Agency, Issuer, VettingRequest


@dataclass(frozen=True)
class CuratedMC:
    achievement_iri: str
    name: str
    provider: str | None  # the issuer's name, when known
    approved_since: datetime | None
    approved_until: datetime | None  # None: until the agency decides otherwise


@dataclass(frozen=True)
class CuratedPurpose:
    key: str
    name: str  # in plain words: "License renewal"
    mcs: tuple[CuratedMC, ...]


@dataclass(frozen=True)
class CuratedProvider:
    issuer_iri: str
    name: str
    url: str | None
    approved_since: datetime


@dataclass(frozen=True)
class CuratedList:
    slug: str
    agency: str
    state: str
    at: datetime
    purposes: tuple[CuratedPurpose, ...]
    providers: tuple[CuratedProvider, ...]


async def agency_by_slug(session: AsyncSession, slug: str) -> tuple[Agency, Issuer]:
    """The agency whose issuer profile is `slug`; NotFound for any other slug."""
    found = (
        await session.execute(
            select(Agency, Issuer)
            .join(Issuer, Issuer.id == Agency.issuer_id)
            .where(Issuer.slug == slug)
        )
    ).first()
    if found is None:
        raise NotFound(f"no state agency {slug!r}")
    return found[0], found[1]


async def curated_list(
    session: AsyncSession, public_url: str, slug: str, at: datetime, purpose: str | None = None
) -> CuratedList:
    """The agency's list on `at`: every purpose (or only `purpose`) with its MCs."""
    agency, issuer = await agency_by_slug(session, slug)
    named = await purposes_of(session, agency)
    if purpose is not None:
        named = {await check_purpose(session, agency, purpose): named[purpose]}
    known = [row for row in await approvals_of(session, agency) if row.created_at <= at]
    book = ApprovalBook(known)
    approved: dict[str, list[tuple[str, datetime | None, datetime | None]]] = {}
    for iri, key in dict.fromkeys((row.achievement_iri, row.purpose) for row in known):
        decision = book.deciding(iri, key, at) if key in named else None
        if decision is not None and decision.approved:
            approved.setdefault(key, []).append(
                (iri, decision.effective_from, decision.effective_until)
            )
    labels = await _labels(
        session, public_url, agency, {iri for items in approved.values() for iri, *_ in items}
    )
    purposes = tuple(
        CuratedPurpose(
            key,
            name,
            tuple(
                sorted(
                    (
                        CuratedMC(iri, *labels.get(iri, (iri, None)), since, until)
                        for iri, since, until in approved.get(key, ())
                    ),
                    key=lambda mc: (mc.name.casefold(), mc.achievement_iri),
                )
            ),
        )
        for key, name in named.items()
    )
    providers = tuple(
        CuratedProvider(row.issuer_iri, row.name, row.url, row.valid_from)
        for row in await providers_at(session, agency, at)
    )
    return CuratedList(slug, issuer.name, agency.state, at, purposes, providers)


async def _labels(
    session: AsyncSession, public_url: str, agency: Agency, iris: Iterable[str]
) -> dict[str, tuple[str, str | None]]:
    """Achievement IRI -> (name, provider) for those that can be named."""
    wanted = sorted(iris)
    found = await _vetted_names(session, agency, wanted)
    # An achievement defined here is named by itself, whatever a request called it.
    found.update(await _own_names(session, public_url, wanted))
    return found


async def _own_names(
    session: AsyncSession, public_url: str, iris: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    prefix = f"{public_url}/achievements/"
    by_id: dict[uuid.UUID, str] = {}
    for iri in iris:
        if iri.startswith(prefix):
            with contextlib.suppress(ValueError):  # under the prefix, but not an achievement
                by_id[uuid.UUID(iri.removeprefix(prefix))] = iri
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in chunks(sorted(by_id)):
        rows = await session.execute(
            select(Achievement.id, Achievement.name, Issuer.name)
            .join(Issuer, Issuer.id == Achievement.issuer_id)
            .where(Achievement.id.in_(list(chunk)))
        )
        for achievement_id, name, provider in rows.all():
            found[by_id[achievement_id]] = (name, provider)
    return found


async def _vetted_names(
    session: AsyncSession, agency: Agency, iris: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """Names from the agency's vetting requests: an approved request's over any other, the
    newest over older ones."""
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in chunks(iris):
        rows = await session.scalars(
            select(VettingRequest)
            .where(
                VettingRequest.agency_id == agency.id,
                VettingRequest.achievement_iri.in_(list(chunk)),
            )
            .order_by(VettingRequest.created_at, VettingRequest.id)
        )
        ranked = sorted(rows, key=lambda row: row.state == "approved")  # stable: newest last
        for row in ranked:
            found[row.achievement_iri] = (row.name, row.provider)
    return found
