"""State agencies, the micro-credentials they have vetted, and the educators they know.

An agency is also an issuer (its own profile and keys): that is who signs the stack
credentials it awards. Approvals are decisions with an effective period, per purpose, so
"was this MC approved for license renewal on the day it counted?" has one answer.
Educators are stored only as keyed hashes of their identifiers; their district is a dated
history (`EducatorDistrict`): a move closes the open membership at the move and opens the
next, so the district of any date keeps its answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from badges.issuing.recipients import (
    Recipient,
    plain_identifiers,
)
from badges.policy.purposes import check_purpose
from badges.status.achievement_holdings import identifiers_added
from badges.status.completion_marks import educators_changed
from formats.identity import (
    EDUCATOR_ID_TYPE,
    lookup_key,
)
from storage.models import (
    Agency,
    Approval,
    Educator,
    EducatorDistrict,
    EducatorIdentifier,
    Issuer,
)

Decision = Literal["proposed", "approved", "declined"]


async def create_agency(
    session: AsyncSession, vault: KeyVault, details: IssuerDetails, state: str
) -> Agency:
    if len(state) != 2 or not state.isalpha():
        raise InvalidInput("state must be a two-letter code", field=("state",))
    issuer = await create_issuer(session, vault, details)
    agency = Agency(id=uuid.uuid4(), issuer_id=issuer.id, state=state.upper())
    session.add(agency)
    await session.flush()
    return agency


async def agency_of(session: AsyncSession, issuer: Issuer) -> Agency | None:
    return await session.scalar(select(Agency).where(Agency.issuer_id == issuer.id))


@dataclass(frozen=True)
class ApprovalDecision:
    achievement_iri: str
    purpose: str
    decision: Decision
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    note: str | None = None


async def decide(
    session: AsyncSession, agency: Agency, decision: ApprovalDecision, actor: str
) -> Approval:
    """Record an approval decision; the newest decision for a period wins."""
    await check_purpose(session, agency, decision.purpose)
    if ":" not in decision.achievement_iri:
        raise InvalidInput("achievementId must be the achievement's IRI", field=("achievementId",))
    if decision.decision == "approved" and decision.effective_from is None:
        raise InvalidInput("an approval needs effectiveFrom", field=("effectiveFrom",))
    if (
        decision.effective_from
        and decision.effective_until
        and decision.effective_until <= decision.effective_from
    ):
        raise InvalidInput("effectiveUntil must be after effectiveFrom", field=("effectiveUntil",))
    row = Approval(
        agency_id=agency.id,
        achievement_iri=decision.achievement_iri,
        purpose=decision.purpose,
        decision=decision.decision,
        effective_from=decision.effective_from,
        effective_until=decision.effective_until,
        note=decision.note,
        decided_by=actor,
    )
    session.add(row)
    await session.flush()
    return row


async def approvals_of(
    session: AsyncSession, agency: Agency, achievement_iris: Sequence[str] | None = None
) -> list[Approval]:
    query = select(Approval).where(Approval.agency_id == agency.id)
    if achievement_iris is not None:
        query = query.where(Approval.achievement_iri.in_(list(achievement_iris)))
    return list(await session.scalars(query.order_by(Approval.created_at, Approval.id)))


async def approved_pools_of(
    session: AsyncSession, agency: Agency, purposes: Collection[str]
) -> dict[str, list[str]]:
    """Purpose -> every achievement the agency ever approved for it, in the order first
    approved (what `{"approvedFor": purpose}` stands for, `stack_rules.concrete`): only the
    purposes asked, and only their ids, not every decision as a row."""
    if not purposes:
        return {}
    rows = await session.execute(
        select(Approval.purpose, Approval.achievement_iri)
        .where(
            Approval.agency_id == agency.id,
            Approval.decision == "approved",
            Approval.purpose.in_(sorted(purposes)),
        )
        .order_by(Approval.created_at, Approval.id)
    )
    found: dict[str, dict[str, None]] = {}
    for purpose, iri in rows:
        found.setdefault(purpose, {})[iri] = None
    return {purpose: list(iris) for purpose, iris in found.items()}


def approved_at(
    approvals: Sequence[Approval], achievement_iri: str, purpose: str, at: datetime
) -> bool:
    """Whether the latest decision covering `at` approves the achievement for `purpose`."""
    verdict = False
    for row in approvals:
        if row.achievement_iri != achievement_iri or row.purpose != purpose:
            continue
        if row.decision == "proposed":
            continue
        starts = row.effective_from
        ends = row.effective_until
        if (starts is None or starts <= at) and (ends is None or at < ends):
            verdict = row.decision == "approved"
    return verdict


# --- educators ---------------------------------------------------------------------------


def educator_lookup_keys(vault: KeyVault, recipient: Recipient) -> list[tuple[str, str]]:
    """(kind, lookup key) for each identifier given: e-mail and/or state educator ID."""
    return [
        (
            "educator_id" if identity_type == EDUCATOR_ID_TYPE else "email",
            lookup_key(vault.lookup_secret, identity_type, value),
        )
        for identity_type, value in plain_identifiers(recipient)
    ]


async def register_educator(
    session: AsyncSession,
    vault: KeyVault,
    agency: Agency,
    identifiers: Recipient,
    district: str | None = None,
    since: datetime | None = None,
) -> Educator:
    """Register (or update) an educator; identifiers already registered join that educator.

    A district different from her current one is a move (`move_educator`) at `since`
    (default now); a new educator's first district covers everything before it unless
    `since` says when she joined."""
    keys = educator_lookup_keys(vault, identifiers)
    if not keys:
        raise InvalidInput(
            "an educator needs an email or an educatorId with its state", field=("educatorId",)
        )
    existing = await find_educator(session, agency, [key for _, key in keys])
    educator = existing or Educator(id=uuid.uuid4(), agency_id=agency.id, identifiers=[])
    if existing is None:
        session.add(educator)
    known = {item.lookup_key for item in educator.identifiers}
    added = [key for _, key in keys if key not in known]
    for kind, key in keys:
        if key in added:
            educator.identifiers.append(EducatorIdentifier(kind=kind, lookup_key=key))
    await session.flush()
    if district is not None and existing is None:
        session.add(EducatorDistrict(educator_id=educator.id, district=district, valid_from=since))
        await session.flush()
    elif district is not None:
        await move_educator(session, educator, district, since)
    if added:  # credentials naming the new identifiers now count for her
        await educators_changed(session, agency.id, [educator.id])
        await identifiers_added(session, educator.id, added)
    return educator


async def find_educator(
    session: AsyncSession, agency: Agency, keys: Sequence[str]
) -> Educator | None:
    found = list(
        await session.scalars(
            select(Educator)
            .join(EducatorIdentifier, EducatorIdentifier.educator_id == Educator.id)
            .where(Educator.agency_id == agency.id, EducatorIdentifier.lookup_key.in_(keys))
            .distinct()
        )
    )
    if len(found) > 1:
        raise Conflict(
            "these identifiers belong to different educators; resolve that first",
            field=("educatorId",),
        )
    return found[0] if found else None


async def agency_educator(
    session: AsyncSession, vault: KeyVault, agency: Agency, identifiers: Recipient
) -> Educator:
    """The agency's own educator named by `identifiers`, every one of which it registered
    for her. Anyone else is "not found", in the same words whether or not the person is
    known elsewhere on the service: an agency learns nothing of people who are not its own.
    """
    keys = [key for _, key in educator_lookup_keys(vault, identifiers)]
    educator = await find_educator(session, agency, keys) if keys else None
    registered = {item.lookup_key for item in educator.identifiers} if educator else set()
    if educator is None or not registered.issuperset(keys):
        raise NotFound(
            "this agency has registered no educator with these identifiers",
            field=("educator",),
        )
    return educator


async def educator_by_identifier(
    session: AsyncSession, vault: KeyVault, agency: Agency, identifiers: Recipient
) -> Educator:
    educator = await find_educator(
        session, agency, [key for _, key in educator_lookup_keys(vault, identifiers)]
    )
    if educator is None:
        raise NotFound("this agency has no educator with that identifier", field=("educatorId",))
    return educator


async def educator_of(session: AsyncSession, agency: Agency, educator_id: uuid.UUID) -> Educator:
    """The agency's educator with this id; anyone else's is "not found"."""
    educator = await session.get(Educator, educator_id)
    if educator is None or educator.agency_id != agency.id:
        raise NotFound("this agency has registered no educator with this id", field=("educator",))
    return educator


# --- district memberships ----------------------------------------------------------------


async def districts_of(session: AsyncSession, educator: Educator) -> list[EducatorDistrict]:
    """Her memberships, oldest first (the one without a start first)."""
    rows = await session.scalars(
        select(EducatorDistrict)
        .where(EducatorDistrict.educator_id == educator.id)
        .order_by(EducatorDistrict.valid_from.is_not(None), EducatorDistrict.valid_from)
    )
    return list(rows)


def open_membership(memberships: Sequence[EducatorDistrict]) -> EducatorDistrict | None:
    return next((row for row in memberships if row.valid_until is None), None)


async def move_educator(
    session: AsyncSession, educator: Educator, district: str | None, since: datetime | None = None
) -> EducatorDistrict | None:
    """She is in `district` (None: in none) from `since` (default now) on.

    The open membership is closed at `since` and a new one opened; nothing before `since`
    changes. A move cannot go back before the last recorded change (that would rewrite a
    period already closed) nor into the future (a move is recorded when it happens)."""
    now = datetime.now(UTC)
    moment = since or now
    if moment > now:
        raise InvalidInput("since must not be in the future", field=("since",))
    memberships = await districts_of(session, educator)
    current = open_membership(memberships)
    if current is not None and current.district == district:
        return current  # no move: the membership goes on
    last_change = max(
        (when for row in memberships for when in (row.valid_from, row.valid_until) if when),
        default=None,
    )
    if last_change is not None and moment <= last_change:
        raise InvalidInput(
            f"since must be after her last district change ({last_change.isoformat()})",
            field=("since",),
        )
    if current is not None:
        current.valid_until = moment
        await session.flush()  # closed before the next opens: one open membership at a time
    opened = None
    if district is not None:
        opened = EducatorDistrict(educator_id=educator.id, district=district, valid_from=moment)
        session.add(opened)
    await session.flush()
    return opened
