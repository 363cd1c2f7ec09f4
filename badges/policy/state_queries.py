"""State queries over one agency's educators: who holds a stack, a lattice role or an
achievement on a date, and whose completions lapse soon.

Every query is a keyset-paginated SELECT (`after` = the last key of the previous page, never
an OFFSET) that can also be streamed whole for an export. Stacks and roles are answered from
the completion periods (`stack_completions`): a holder on date D has a period that began
on or before D, had not ended by D and does not lapse before D. Periods are only ever closed
at the time of what ended them, so the answer for a past D stays what it was. Achievements
are answered from the credentials and their event log: valid on D and neither revoked nor
suspended then. The district shown (and filtered on) is the educator's district on D.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput, NotFound
from badges.policy.completion_rules import TargetKind
from badges.policy.foreign_status import good_standing
from badges.policy.holdings import own_achievement_ids
from badges.policy.purposes import check_purpose
from badges.policy.rule_book import ApprovalBook
from badges.status.copies import not_a_copy
from badges.status.status_changes import last_status_event
from storage.models import (
    Achievement,
    Agency,
    Approval,
    Completion,
    CompletionRun,
    Credential,
    CredentialRecipient,
    Educator,
    EducatorDistrict,
    EducatorIdentifier,
    HeldCredential,
    Issuer,
    SubmittedCredential,
)

MAX_EXPIRING_DAYS = 3650
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class HolderFilter:
    at: datetime
    district: str | None = None
    issuer: Issuer | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class Holder:
    educator_id: uuid.UUID
    district: str | None
    completed_at: datetime | None  # stacks, roles: completed; achievements: first earned
    expires_at: datetime | None


@dataclass(frozen=True)
class Expiring:
    educator_id: uuid.UUID
    district: str | None
    target_kind: str
    target_id: uuid.UUID
    completed_at: datetime | None
    expires_at: datetime

    @property
    def key(self) -> tuple[datetime, uuid.UUID, str, uuid.UUID]:
        return (self.expires_at, self.educator_id, self.target_kind, self.target_id)


async def find_issuer(session: AsyncSession, slug: str | None) -> Issuer | None:
    if slug is None:
        return None
    issuer = await session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is None:
        raise InvalidInput(f"no issuer {slug!r}", field=("issuer",))
    return issuer


async def last_run(
    session: AsyncSession, agency: Agency, kind: TargetKind, target_id: uuid.UUID
) -> CompletionRun | None:
    return await session.get(CompletionRun, (agency.id, kind, target_id))


# --- history: periods and district memberships -------------------------------------------


def held_at(at: Any) -> list[ColumnElement[bool]]:
    """The completion period covers `at`: begun, not ended, not lapsed."""
    return [
        Completion.started_at <= at,
        or_(Completion.ended_at.is_(None), Completion.ended_at > at),
        or_(Completion.expires_at.is_(None), Completion.expires_at > at),
    ]


def membership_at(educator: Any, at: Any) -> ColumnElement[bool]:
    """The join condition of the educator's district membership at `at` (a date, or a
    column such as the date an MC was earned): memberships never overlap, so one row."""
    return and_(
        EducatorDistrict.educator_id == educator,
        or_(EducatorDistrict.valid_from.is_(None), EducatorDistrict.valid_from <= at),
        or_(EducatorDistrict.valid_until.is_(None), EducatorDistrict.valid_until > at),
    )


# --- holders of a stack or role ------------------------------------------------------------


def completion_holders(
    agency: Agency,
    kind: TargetKind,
    target_id: uuid.UUID,
    where: HolderFilter,
    held_of: Sequence[uuid.UUID] = (),
    after: uuid.UUID | None = None,
) -> AnySelect:
    """Holders of a stack (by lineage) or role on `where.at`, in educator order.

    With an issuer or a purpose: only those who also hold, valid and in good standing then,
    one of `held_of` (the rule's achievements of this service; for a purpose, those approved
    for it then) from that issuer.
    """
    query = (
        select(
            Completion.educator_id,
            EducatorDistrict.district,
            Completion.completed_at,
            Completion.expires_at,
        )
        .select_from(Completion)
        .outerjoin(EducatorDistrict, membership_at(Completion.educator_id, where.at))
        .where(
            Completion.agency_id == agency.id,
            Completion.target_kind == kind,
            Completion.target_id == target_id,
            *held_at(where.at),
        )
    )
    if where.district is not None:
        query = query.where(EducatorDistrict.district == where.district)
    if where.issuer is not None or where.purpose is not None:
        held = _held_by(Completion.educator_id).where(
            Credential.achievement_id.in_(list(held_of)), *_good_standing(where.at)
        )
        if where.issuer is not None:
            held = held.where(Credential.issuer_id == where.issuer.id)
        query = query.where(exists(held))
    if after is not None:
        query = query.where(Completion.educator_id > after)
    return query.order_by(Completion.educator_id)


def _held_by(educator_id: Any) -> AnySelect:
    return (
        select(literal(1))
        .select_from(EducatorIdentifier)
        .join(CredentialRecipient, CredentialRecipient.lookup_key == EducatorIdentifier.lookup_key)
        .join(Credential, Credential.id == CredentialRecipient.credential_id)
        .where(EducatorIdentifier.educator_id == educator_id)
    )


# --- holders of an achievement -------------------------------------------------------------


def _earned() -> ColumnElement[datetime]:
    return func.coalesce(Credential.awarded_date, Credential.valid_from)


def _good_standing(at: datetime) -> list[ColumnElement[bool]]:
    """Valid at `at`, and neither revoked nor suspended then (from the event log).

    Revocation is final (no status event follows it), so the last status event up to `at`
    decides: none or `unsuspended` is good standing. One probe of the partial index of
    status events per credential, which finds nothing for almost all of them.
    """
    last_status = last_status_event(at)
    # Counted from when it was earned (a backfilled award: `validFrom` = issuance, later than
    # its awarded date), as `evaluation.counts_from`; a wallet copy never (its original is).
    return [
        _earned() <= at,
        or_(Credential.valid_until.is_(None), Credential.valid_until > at),
        func.coalesce(last_status, "unsuspended") == "unsuspended",
        not_a_copy(),
    ]


@dataclass(frozen=True)
class AchievementSet:
    """Which achievements an achievement-holders query means, split by where they live."""

    own: list[uuid.UUID] | None  # this service's achievement ids; None = any
    iris: list[str] | None  # IRIs, for submitted credentials; None = any


async def achievement_set(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    achievement: str | None,
    purpose: str | None,
    at: datetime,
) -> AchievementSet:
    """One achievement, the achievements the agency approved for a purpose on `at`, or both
    (None, None: any). An achievement the agency cannot know of is a 404."""
    if achievement is not None:
        await _check_known(session, public_url, agency, achievement)
    iris: list[str] | None = None
    if purpose is not None:
        approved = await approved_for(session, agency, purpose, at)
        iris = [iri for iri in approved if achievement in (None, iri)]
    elif achievement is not None:
        iris = [achievement]
    if iris is None:
        return AchievementSet(None, None)
    return AchievementSet(own_achievement_ids(public_url, iris), iris)


async def approved_for(
    session: AsyncSession, agency: Agency, purpose: str, at: datetime
) -> list[str]:
    """The achievements the agency has approved for `purpose` on `at`."""
    await check_purpose(session, agency, purpose)
    rows = list(
        await session.scalars(
            select(Approval)
            .where(Approval.agency_id == agency.id, Approval.purpose == purpose)
            .order_by(Approval.created_at, Approval.id)
        )
    )
    book = ApprovalBook(rows)
    return sorted(
        iri for iri in {row.achievement_iri for row in rows} if book.approved(iri, purpose, at)
    )


async def _check_known(session: AsyncSession, public_url: str, agency: Agency, iri: str) -> None:
    """One of this service's achievements, or one on the agency's vetting list."""
    vetted = await session.scalar(
        select(Approval.id)
        .where(Approval.agency_id == agency.id, Approval.achievement_iri == iri)
        .limit(1)
    )
    if vetted is not None:
        return
    own = own_achievement_ids(public_url, [iri])
    if own and await session.get(Achievement, own[0]) is not None:
        return
    raise NotFound(
        f"no achievement {iri}: not one of this service's, nor on the agency's vetting list",
        field=("achievementId",),
    )


def achievement_holders(
    agency: Agency,
    achievements: AchievementSet,
    where: HolderFilter,
    after: uuid.UUID | None = None,
) -> AnySelect:
    """Educators holding, valid and in good standing on `where.at`, an achievement of the
    set (and of `where.issuer`): when they first earned one, and when the last one ends."""
    own = (
        select(
            EducatorIdentifier.educator_id.label("educator_id"),
            _earned().label("earned"),
            Credential.valid_until.label("valid_until"),
        )
        .select_from(EducatorIdentifier)
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .join(CredentialRecipient, CredentialRecipient.lookup_key == EducatorIdentifier.lookup_key)
        .join(Credential, Credential.id == CredentialRecipient.credential_id)
        .where(Educator.agency_id == agency.id, *_good_standing(where.at))
    )
    if achievements.own is not None:
        own = own.where(Credential.achievement_id.in_(achievements.own))
    if where.issuer is not None:
        own = own.where(Credential.issuer_id == where.issuer.id)
    parts = [_scoped(own, EducatorIdentifier.educator_id, where, after)]
    if where.issuer is None:  # submitted and pushed credentials come from other issuers
        submitted = _submitted(agency, achievements, where.at)
        parts.append(_scoped(submitted, SubmittedCredential.educator_id, where, after))
        pushed = _pushed(agency, achievements, where.at)
        parts.append(_scoped(pushed, EducatorIdentifier.educator_id, where, after))
    held = union_all(*parts).subquery()
    ends = case(
        (func.count() == func.count(held.c.valid_until), func.max(held.c.valid_until)),
        else_=None,
    )
    grouped = (
        select(
            held.c.educator_id,
            func.min(held.c.earned).label("earned"),
            ends.label("ends"),
        )
        .group_by(held.c.educator_id)
        .subquery()
    )
    # Her district is read after grouping: for the page's rows only, not for every credential.
    return (
        select(grouped.c.educator_id, EducatorDistrict.district, grouped.c.earned, grouped.c.ends)
        .select_from(grouped)
        .outerjoin(EducatorDistrict, membership_at(grouped.c.educator_id, where.at))
        .order_by(grouped.c.educator_id)
    )


def _submitted(agency: Agency, achievements: AchievementSet, at: datetime) -> AnySelect:
    earned = func.coalesce(SubmittedCredential.earned_at, SubmittedCredential.submitted_at)
    query = select(
        SubmittedCredential.educator_id.label("educator_id"),
        earned.label("earned"),
        SubmittedCredential.valid_until.label("valid_until"),
    ).where(
        SubmittedCredential.agency_id == agency.id,
        SubmittedCredential.accepted.is_(True),
        SubmittedCredential.achievement_iri.is_not(None),
        earned <= at,
        or_(SubmittedCredential.valid_until.is_(None), SubmittedCredential.valid_until > at),
        good_standing(SubmittedCredential.id, "submitted", at),
    )
    if achievements.iris is not None:
        query = query.where(SubmittedCredential.achievement_iri.in_(achievements.iris))
    return query


def _pushed(agency: Agency, achievements: AchievementSet, at: datetime) -> AnySelect:
    """Credentials educators pushed through the OB 3.0 API naming an identifier the agency
    registered (as `holdings` and `evaluation.agency_holdings` count them)."""
    earned = func.coalesce(HeldCredential.earned_at, HeldCredential.valid_from)
    query = (
        select(
            EducatorIdentifier.educator_id.label("educator_id"),
            earned.label("earned"),
            HeldCredential.valid_until.label("valid_until"),
        )
        .select_from(EducatorIdentifier)
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .join(HeldCredential, HeldCredential.lookup_key == EducatorIdentifier.lookup_key)
        .where(
            Educator.agency_id == agency.id,
            HeldCredential.achievement_iri.is_not(None),
            earned <= at,
            or_(HeldCredential.valid_until.is_(None), HeldCredential.valid_until > at),
            good_standing(HeldCredential.id, "held", at),
        )
    )
    if achievements.iris is not None:
        query = query.where(HeldCredential.achievement_iri.in_(achievements.iris))
    return query


def _scoped(
    query: AnySelect, educator: Any, where: HolderFilter, after: uuid.UUID | None
) -> AnySelect:
    """The district filter and the page start, inside each part so they narrow the scans."""
    if where.district is not None:
        query = query.join(EducatorDistrict, membership_at(educator, where.at)).where(
            EducatorDistrict.district == where.district
        )
    if after is not None:
        query = query.where(educator > after)
    return query


# --- expiring soon ---------------------------------------------------------------------------


def expiring(
    agency: Agency,
    now: datetime,
    days: int,
    district: str | None = None,
    target: tuple[TargetKind, uuid.UUID] | None = None,
    after: tuple[datetime, uuid.UUID, str, uuid.UUID] | None = None,
) -> AnySelect:
    """Completions held on `now` that lapse within `days` (nothing new earned), soonest
    first; by the district each educator is in on `now`."""
    if not 0 <= days <= MAX_EXPIRING_DAYS:
        raise InvalidInput(f"days must be between 0 and {MAX_EXPIRING_DAYS}", field=("days",))
    key = (
        Completion.expires_at,
        Completion.educator_id,
        Completion.target_kind,
        Completion.target_id,
    )
    query = (
        select(
            Completion.educator_id,
            EducatorDistrict.district,
            Completion.target_kind,
            Completion.target_id,
            Completion.completed_at,
            Completion.expires_at,
        )
        .select_from(Completion)
        .outerjoin(EducatorDistrict, membership_at(Completion.educator_id, now))
        .where(
            Completion.agency_id == agency.id,
            *held_at(now),
            Completion.expires_at <= now + timedelta(days=days),
        )
    )
    if district is not None:
        query = query.where(EducatorDistrict.district == district)
    if target is not None:
        query = query.where(
            and_(Completion.target_kind == target[0], Completion.target_id == target[1])
        )
    if after is not None:
        # Typed like the columns, so SQLite compares its stored text form of the datetime.
        start = (
            literal(value, type_=column.type) for column, value in zip(key, after, strict=True)
        )
        query = query.where(tuple_(*key) > tuple_(*start))
    return query.order_by(*key)


# --- running them ----------------------------------------------------------------------------


async def holders_page(
    session: AsyncSession, query: AnySelect, limit: int
) -> tuple[list[Holder], bool]:
    """The first `limit` holders, and whether there are more."""
    rows = (await session.execute(query.limit(limit + 1))).all()
    return [Holder(*row) for row in rows[:limit]], len(rows) > limit


async def expiring_page(
    session: AsyncSession, query: AnySelect, limit: int
) -> tuple[list[Expiring], bool]:
    rows = (await session.execute(query.limit(limit + 1))).all()
    return [Expiring(*row) for row in rows[:limit]], len(rows) > limit


async def stream_rows(
    session: AsyncSession, query: AnySelect, batch: int = 2000
) -> AsyncIterator[Sequence[Any]]:
    """Every row of `query`, fetched `batch` at a time through a server-side cursor."""
    result = await session.stream(query.execution_options(yield_per=batch))
    try:
        async for partition in result.partitions():
            for row in partition:
                yield tuple(row)
    finally:
        await result.close()
