"""State queries over one agency's educators: who holds a stack, a lattice role or an
achievement on a date, and whose completions lapse soon.

Every query is a keyset-paginated SELECT (`after` = the last key of the previous page, never
an OFFSET) that can also be streamed whole for an export. Stacks and roles are answered from
the completion periods (`stack_completions`): a holder on date D has a period that began
on or before D, had not ended by D and does not lapse before D. Periods are only ever closed
at the time of what ended them, so the answer for a past D stays what it was. Achievements
are answered from the credentials and their event log: valid on D and neither revoked nor
suspended then; which credentials name which educator is read from the achievement-holdings
index (`storage.models.AchievementHolding`), in educator order. The district shown (and
filtered on) is the educator's district on D.
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
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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
    AchievementHolding,
    Agency,
    Approval,
    Completion,
    CompletionRun,
    Credential,
    CredentialRecipient,
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
    set (and of `where.issuer`): when they first earned one, and when the last one ends.

    Driven from the achievement-holdings index: the educators linked to the set (after the
    cursor) in educator order, bare index rows; then, one educator at a time, her linked
    rows checked as before. A page thus checks the rows of about as many educators as it
    shows (PostgreSQL stops at the limit), not every holder of the achievement.
    """
    parts = []
    for key in _keys(achievements, where.issuer, AchievementHolding):
        part = select(AchievementHolding.educator_id).where(
            AchievementHolding.agency_id == agency.id, key
        )
        if after is not None:
            part = part.where(AchievementHolding.educator_id > after)
        if where.district is not None:  # before her rows are checked: a cheap probe each
            part = part.join(
                EducatorDistrict, membership_at(AchievementHolding.educator_id, where.at)
            ).where(EducatorDistrict.district == where.district)
        parts.append(part)
    # Each part an index range in educator order (PostgreSQL: index-only scans), merged and
    # grouped in that order. (Not UNION: PostgreSQL 15 may hash one, and then every
    # candidate is checked before the page is sorted.)
    linked = union_all(*parts).subquery("linked")
    found = select(linked.c.educator_id).group_by(linked.c.educator_id).subquery("candidates")
    earned, ends = _counted(found.c.educator_id, agency, achievements, where)
    # Her district too, read for the page's rows only (a join could be planned as a hash
    # join over every membership); memberships never overlap, so at most one.
    district = (
        select(EducatorDistrict.district)
        .where(membership_at(found.c.educator_id, where.at))
        .scalar_subquery()
    )
    return (
        select(found.c.educator_id, district, earned, ends)
        .where(earned.is_not(None))
        .order_by(found.c.educator_id)
    )


def _keys(
    achievements: AchievementSet, issuer: Issuer | None, holding: Any
) -> list[ColumnElement[bool]]:
    """Which links of the agency's are of the set: credentials issued here of
    `achievements.own` and, without an `issuer`, submitted and pushed ones of
    `achievements.iris` (None: any). With an issuer and no achievement named, only its
    achievements' links (and those of credentials without an achievement row, checked one
    by one), so a small issuer's holders are not looked for among every educator's links."""
    foreign = issuer is None
    if achievements.own is not None:
        keys = [holding.achievement_id.in_(achievements.own)]
    elif issuer is not None:
        of_issuer = select(Achievement.id).where(Achievement.issuer_id == issuer.id)
        return [
            holding.achievement_id.in_(of_issuer),
            and_(holding.credential_id.is_not(None), holding.achievement_id.is_(None)),
        ]
    elif achievements.iris is None:
        # Any of hers: one range in educator order (ix_achievement_holdings_educator).
        return [true()]
    else:
        keys = [holding.credential_id.is_not(None)]
    if foreign and achievements.iris is None:
        keys.append(holding.credential_id.is_(None))
    elif foreign:
        keys.append(holding.achievement_iri.in_(achievements.iris))
    return keys


def _counted(
    educator: Any, agency: Agency, achievements: AchievementSet, where: HolderFilter
) -> tuple[ColumnElement[datetime | None], ColumnElement[datetime | None]]:
    """When she first earned a linked credential in good standing on `where.at` (NULL: none)
    and when the last one ends (NULL: one never does): correlated on `educator`, read for the
    candidates a page reaches only.

    Each link is one source row (the others of the outer joins are NULL), whose standing
    is checked from that row as for every count: the credential issued here valid, of the
    issuer if one is asked, neither revoked nor suspended then, not a wallet copy; a
    submitted or pushed one valid and not seen revoked or suspended by its issuer."""
    holding = aliased(AchievementHolding)
    own = [holding.credential_id.is_not(None), *_good_standing(where.at)]
    if where.issuer is not None:
        own.append(Credential.issuer_id == where.issuer.id)
    submitted_earned = func.coalesce(
        SubmittedCredential.earned_at, SubmittedCredential.submitted_at
    )
    pushed_earned = func.coalesce(HeldCredential.earned_at, HeldCredential.valid_from)
    ok = or_(
        and_(*own),
        and_(
            holding.submitted_id.is_not(None),
            SubmittedCredential.accepted.is_(True),
            SubmittedCredential.achievement_iri.is_not(None),
            submitted_earned <= where.at,
            _valid_at(SubmittedCredential.valid_until, where.at),
            good_standing(SubmittedCredential.id, "submitted", where.at),
        ),
        and_(
            holding.held_id.is_not(None),
            HeldCredential.achievement_iri.is_not(None),
            pushed_earned <= where.at,
            _valid_at(HeldCredential.valid_until, where.at),
            good_standing(HeldCredential.id, "held", where.at),
        ),
    )
    earned = func.coalesce(_earned(), submitted_earned, pushed_earned)
    until = func.coalesce(
        Credential.valid_until, SubmittedCredential.valid_until, HeldCredential.valid_until
    )
    rows = (
        select(holding.id)
        .outerjoin(Credential, Credential.id == holding.credential_id)
        .outerjoin(SubmittedCredential, SubmittedCredential.id == holding.submitted_id)
        .outerjoin(HeldCredential, HeldCredential.id == holding.held_id)
        .where(
            holding.educator_id == educator,
            holding.agency_id == agency.id,
            or_(*_keys(achievements, where.issuer, holding)),
        )
    )
    first = rows.with_only_columns(func.min(case((ok, earned)))).scalar_subquery()
    # Checked on the rows without an end first: it is them that make "never ends".
    open_ended = func.count(case((and_(until.is_(None), ok), 1)))
    last = rows.with_only_columns(
        case((open_ended == 0, func.max(case((ok, until)))), else_=None)
    ).scalar_subquery()
    return first, last


def _valid_at(valid_until: Any, at: datetime) -> ColumnElement[bool]:
    return or_(valid_until.is_(None), valid_until > at)


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
