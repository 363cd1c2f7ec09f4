"""Research data on LEAs' options, as the guide asks states to study their rollouts: at the
end of each month, quarter or year, how many educators were in each LEA (or under each
option) and how many of them met the rule of the option their LEA followed then.

Who was where is read from the dated memberships and choices (each snapshot sees those in
effect at its moment, so a later move or choice leaves it as it was); who met the rule,
from the materialised completion periods of the option's stack (`stack_completions`): those
exist only once the stack has been evaluated in full (evaluate-all), and until then the
report says so and leaves `met` empty rather than guessing. An educator's first district
reaches back before she was registered (unless her registration said when she joined), as
in the other reports; one in no LEA is counted only from her registration on.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.policy.policy_options import (
    current_stacks,
    list_options,
)
from badges.policy.state_queries import (
    held_at,
    membership_at,
)
from storage.models import (
    Agency,
    Completion,
    CompletionRun,
    District,
    DistrictOptionChoice,
    Educator,
    EducatorDistrict,
    PolicyOption,
    Stack,
)

Period = Literal["month", "quarter", "year"]
By = Literal["district", "option"]
_MONTHS: Final = {"month": 1, "quarter": 3, "year": 12}
# Snapshots one report takes (each a pass over the agency's educators): ten years by month.
MAX_PERIODS: Final = 120


# --- periods -------------------------------------------------------------------------------


def period_start(moment: datetime, period: Period) -> datetime:
    """The first instant (UTC) of the period holding `moment`."""
    moment = moment.astimezone(UTC)
    month = moment.month - (moment.month - 1) % _MONTHS[period]
    return datetime(moment.year, month, 1, tzinfo=UTC)


def next_start(start: datetime, period: Period) -> datetime:
    months = start.year * 12 + start.month - 1 + _MONTHS[period]
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def label_of(start: datetime, period: Period) -> str:
    """`2025-03`, `2025-Q1` or `2025`: the labels of the other reports."""
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year:04d}-Q{(start.month + 2) // 3}"
    return f"{start.year:04d}"


@dataclass(frozen=True)
class Snapshot:
    label: str
    at: datetime  # the moment counted: the period's end, or `to` where it cuts it short


def snapshots(period: Period, start: datetime, end: datetime) -> list[Snapshot]:
    """One snapshot per period from the one holding `start` to the one `end` closes."""
    found: list[Snapshot] = []
    begin = period_start(start, period)
    while begin < end:
        if len(found) == MAX_PERIODS:
            raise InvalidInput(
                f"at most {MAX_PERIODS} periods in one report: narrow from and to, or count "
                "by a longer period",
                field=("from",),
            )
        after = next_start(begin, period)
        found.append(Snapshot(label_of(begin, period), min(after, end)))
        begin = after
    return found


async def first_choice(session: AsyncSession, agency: Agency, purpose: str) -> datetime | None:
    """When the first LEA began to follow an option for `purpose`: where a rollout begins."""
    found: datetime | None = await session.scalar(
        select(func.min(DistrictOptionChoice.valid_from))
        .join(District, District.id == DistrictOptionChoice.district_id)
        .where(District.agency_id == agency.id, DistrictOptionChoice.purpose == purpose)
    )
    return found


def latest_periods(period: Period, end: datetime, count: int) -> datetime:
    """The start of the `count` periods ending with the one `end` closes."""
    begin = period_start(end, period)
    if begin == end:
        count += 1
    for _ in range(count - 1):
        months = begin.year * 12 + begin.month - 1 - _MONTHS[period]
        begin = datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)
    return begin


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionRun:
    """An option, its stack now, and when that stack was last evaluated in full (None:
    never, so no one's `met` is known under it)."""

    option: PolicyOption
    stack: Stack | None
    evaluated_at: datetime | None


@dataclass(frozen=True)
class DistrictRow:
    period: str
    as_of: datetime
    district: str | None  # the code; None: educators in no LEA
    district_name: str | None  # None: not registered (or no LEA)
    registered: bool
    option: str | None
    option_name: str | None
    educators: int
    met: int | None  # None: no option, or its stack not evaluated
    note: str | None


@dataclass(frozen=True)
class OptionRow:
    period: str
    as_of: datetime
    option: str | None  # None: educators no option applied to
    option_name: str | None
    districts: int  # LEAs following it then (for None: LEA codes without an option)
    educators: int
    met: int | None
    note: str | None


@dataclass
class OptionReport:
    purpose: str
    period: Period
    start: datetime
    end: datetime
    by: By
    options: list[OptionRun]
    rows: list[DistrictRow] | list[OptionRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


NO_DISTRICT: Final = "in no LEA"
NOT_REGISTERED: Final = "LEA not registered"
NO_CHOICE: Final = "no option chosen for this purpose"
NOT_EVALUATED: Final = "the option's stack has not been evaluated for all educators"
NO_OPTION: Final = "no option applied (in no LEA, an LEA not registered, or one with no choice)"


@dataclass(frozen=True)
class _Count:
    code: str | None
    district_id: uuid.UUID | None
    option_id: uuid.UUID | None
    educators: int
    met: int


async def option_report(
    session: AsyncSession,
    agency: Agency,
    purpose: str,
    period: Period,
    bounds: tuple[datetime | None, datetime],
    by: By,
) -> OptionReport:
    """`bounds`: (from, or None for where the rollout began; to, exclusive)."""
    start, end = bounds
    notes: list[str] = []
    if start is None:
        began = await first_choice(session, agency, purpose)
        earliest = latest_periods(period, end, MAX_PERIODS)
        last = latest_periods(period, end, 1)
        start = min(max(began, earliest), last) if began is not None else last
        if began is not None and began < earliest:
            notes.append(f"from defaults to the last {MAX_PERIODS} periods of the rollout")
    taken = snapshots(period, start, end)
    options = await list_options(session, agency, purpose)
    runs = await _runs(session, agency, options)
    report = OptionReport(purpose, period, start, end, by, runs, notes=notes)
    for run in runs:
        if run.evaluated_at is None:
            notes.append(
                f"option {run.option.key}: {NOT_EVALUATED}; its met counts are empty until "
                "its stack's evaluate-all is run"
            )
    evaluated = {run.option.id for run in runs if run.evaluated_at is not None}
    by_id = {run.option.id: run.option for run in runs}
    districts = await _districts(session, agency)
    district_rows: list[DistrictRow] = []
    option_rows: list[OptionRow] = []
    for snap in taken:
        counts = await _counts(session, agency, purpose, snap.at)
        if by == "district":
            following = await _following(session, agency, purpose, snap.at)
            district_rows += _by_district(snap, counts, districts, following, by_id, evaluated)
        else:
            leas = await _leas_per_option(session, agency, purpose, snap.at)
            option_rows += _by_option(snap, counts, runs, leas, evaluated)
    report.rows = district_rows if by == "district" else option_rows
    return report


async def _runs(
    session: AsyncSession, agency: Agency, options: list[PolicyOption]
) -> list[OptionRun]:
    stacks = await current_stacks(session, options)
    lineages = [option.stack_lineage_id for option in options]
    evaluated = {
        target_id: at
        for target_id, at in await session.execute(
            select(CompletionRun.target_id, CompletionRun.evaluated_at).where(
                CompletionRun.agency_id == agency.id,
                CompletionRun.target_kind == "stack",
                CompletionRun.target_id.in_(lineages),
            )
        )
    }
    return [
        OptionRun(
            option,
            stacks.get(option.stack_lineage_id),
            evaluated.get(option.stack_lineage_id),
        )
        for option in options
    ]


async def _districts(session: AsyncSession, agency: Agency) -> dict[str, District]:
    rows = await session.scalars(select(District).where(District.agency_id == agency.id))
    return {row.code: row for row in rows}


def _choice_at(purpose: str, at: datetime) -> list[ColumnElement[bool]]:
    return [
        DistrictOptionChoice.purpose == purpose,
        DistrictOptionChoice.valid_from <= at,
        or_(DistrictOptionChoice.valid_until.is_(None), DistrictOptionChoice.valid_until > at),
    ]


async def _counts(
    session: AsyncSession, agency: Agency, purpose: str, at: datetime
) -> list[_Count]:
    """Educators on `at` per LEA code (and its record, and its option then), and how many of
    them held the option's stack then."""
    choice = and_(DistrictOptionChoice.district_id == District.id, *_choice_at(purpose, at))
    held = and_(
        Completion.agency_id == agency.id,
        Completion.target_kind == "stack",
        Completion.target_id == PolicyOption.stack_lineage_id,
        Completion.educator_id == Educator.id,
        *held_at(at),
    )
    keys = (EducatorDistrict.district, District.id, PolicyOption.id)
    query = (
        select(
            *keys,
            func.count(func.distinct(Educator.id)),
            func.count(func.distinct(Completion.educator_id)),
        )
        .select_from(Educator)
        .outerjoin(EducatorDistrict, membership_at(Educator.id, at))
        .outerjoin(
            District,
            and_(District.agency_id == agency.id, District.code == EducatorDistrict.district),
        )
        .outerjoin(DistrictOptionChoice, choice)
        .outerjoin(PolicyOption, PolicyOption.id == DistrictOptionChoice.option_id)
        .outerjoin(Completion, held)
        .where(
            Educator.agency_id == agency.id,
            or_(EducatorDistrict.id.is_not(None), Educator.created_at <= at),
        )
        .group_by(*keys)
    )
    return [_Count(*row) for row in await session.execute(query)]


async def _following(
    session: AsyncSession, agency: Agency, purpose: str, at: datetime
) -> dict[uuid.UUID, uuid.UUID]:
    """LEA -> the option it followed on `at`."""
    rows = await session.execute(
        select(DistrictOptionChoice.district_id, DistrictOptionChoice.option_id)
        .join(District, District.id == DistrictOptionChoice.district_id)
        .where(District.agency_id == agency.id, *_choice_at(purpose, at))
    )
    return {district_id: option_id for district_id, option_id in rows}


async def _leas_per_option(
    session: AsyncSession, agency: Agency, purpose: str, at: datetime
) -> dict[uuid.UUID, int]:
    following = await _following(session, agency, purpose, at)
    counted: dict[uuid.UUID, int] = defaultdict(int)
    for option_id in following.values():
        counted[option_id] += 1
    return counted


def _by_district(
    snap: Snapshot,
    counts: list[_Count],
    districts: dict[str, District],
    following: dict[uuid.UUID, uuid.UUID],
    options: dict[uuid.UUID, PolicyOption],
    evaluated: set[uuid.UUID],
) -> list[DistrictRow]:
    """A row for every registered LEA (none of its educators: 0), every code educators'
    memberships name without a record, and those in no LEA."""
    found = {count.code: count for count in counts}
    codes = sorted(set(districts) | {code for code in found if code is not None})
    rows = []
    for code in [*codes, None] if None in found else codes:
        count = found.get(code)
        lea = districts.get(code) if code is not None else None
        option_id = following.get(lea.id) if lea is not None else None
        option = options.get(option_id) if option_id is not None else None
        known = option is not None and option.id in evaluated
        note = (
            NO_DISTRICT
            if code is None
            else NOT_REGISTERED
            if lea is None
            else NO_CHOICE
            if option is None
            else None
            if known
            else NOT_EVALUATED
        )
        rows.append(
            DistrictRow(
                period=snap.label,
                as_of=snap.at,
                district=code,
                district_name=lea.name if lea is not None else None,
                registered=lea is not None,
                option=option.key if option is not None else None,
                option_name=option.name if option is not None else None,
                educators=count.educators if count else 0,
                met=(count.met if count else 0) if known else None,
                note=note,
            )
        )
    return rows


def _by_option(
    snap: Snapshot,
    counts: list[_Count],
    runs: list[OptionRun],
    leas: dict[uuid.UUID, int],
    evaluated: set[uuid.UUID],
) -> list[OptionRow]:
    """A row for every option of the purpose, then one for educators under none."""
    educators: dict[uuid.UUID | None, int] = defaultdict(int)
    met: dict[uuid.UUID | None, int] = defaultdict(int)
    unchosen: set[str] = set()
    for count in counts:
        educators[count.option_id] += count.educators
        met[count.option_id] += count.met
        if count.option_id is None and count.code is not None:
            unchosen.add(count.code)
    rows = [
        OptionRow(
            period=snap.label,
            as_of=snap.at,
            option=run.option.key,
            option_name=run.option.name,
            districts=leas.get(run.option.id, 0),
            educators=educators.get(run.option.id, 0),
            met=met.get(run.option.id, 0) if run.option.id in evaluated else None,
            note=None if run.option.id in evaluated else NOT_EVALUATED,
        )
        for run in runs
    ]
    if educators.get(None):
        rows.append(
            OptionRow(
                period=snap.label,
                as_of=snap.at,
                option=None,
                option_name=None,
                districts=len(unchosen),
                educators=educators[None],
                met=None,
                note=NO_OPTION,
            )
        )
    return rows
