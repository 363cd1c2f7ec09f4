"""LEAs (districts) as the agency records them, the option each follows for a purpose over
time, and the rule that applies to an educator on a date: the one of the LEA she was in
then, under the option it followed then.

An LEA is named by `code`, as educators' memberships name it; a membership may name a code
the agency never registered (the answer then says so: no option applies). An LEA's choices
of option are periods, like memberships: a new choice closes the open one at its own start
(one conditional UPDATE, so two choices at once leave exactly one open) and opens the next;
nothing before that start changes, so the rule that applied on a past date stays the one
that applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from badges.policy.agencies import (
    approvals_of,
    districts_of,
)
from badges.policy.evaluation import (
    Evaluator,
    agency_holdings,
)
from badges.policy.foreign_status import StatusSource
from badges.policy.policy_options import (
    list_options,
    option_by_key,
    stack_at,
)
from badges.policy.purposes import check_purpose
from badges.policy.stack_rules import Evaluation
from storage.models import (
    Agency,
    District,
    DistrictOptionChoice,
    Educator,
    EducatorDistrict,
    PolicyOption,
    Stack,
)
from storage.session import begin_write

RequirementStatus = Literal["met", "not_met", "no_district", "district_not_registered", "no_option"]


# --- LEAs --------------------------------------------------------------------------------


async def create_district(session: AsyncSession, agency: Agency, code: str, name: str) -> District:
    if await district_by_code(session, agency, code) is not None:
        raise Conflict(f"the agency already has an LEA with code {code!r}", field=("code",))
    row = District(agency_id=agency.id, code=code, name=name)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # the same code, registered meanwhile
        raise Conflict(
            f"the agency already has an LEA with code {code!r}", field=("code",)
        ) from None
    return row


async def list_districts(session: AsyncSession, agency: Agency) -> list[District]:
    rows = await session.scalars(
        select(District).where(District.agency_id == agency.id).order_by(District.code)
    )
    return list(rows)


async def get_district(session: AsyncSession, agency: Agency, district_id: uuid.UUID) -> District:
    row = await session.get(District, district_id)
    if row is None or row.agency_id != agency.id:
        raise NotFound(f"this agency has no LEA {district_id}", field=("districtId",))
    return row


async def district_by_code(session: AsyncSession, agency: Agency, code: str) -> District | None:
    return await session.scalar(
        select(District).where(District.agency_id == agency.id, District.code == code)
    )


# --- choices of option ---------------------------------------------------------------------


async def choices_of(
    session: AsyncSession, districts: Sequence[District]
) -> dict[uuid.UUID, list[DistrictOptionChoice]]:
    """Each LEA's choices, by purpose and then oldest first."""
    found: dict[uuid.UUID, list[DistrictOptionChoice]] = {row.id: [] for row in districts}
    if not found:
        return found
    rows = await session.scalars(
        select(DistrictOptionChoice)
        .where(DistrictOptionChoice.district_id.in_(list(found)))
        .order_by(DistrictOptionChoice.purpose, DistrictOptionChoice.valid_from)
    )
    for row in rows:
        found[row.district_id].append(row)
    return found


def choice_on(choices: Sequence[DistrictOptionChoice], at: datetime) -> DistrictOptionChoice | None:
    """The choice (of one purpose's choices) in effect on `at`; periods never overlap."""
    return next(
        (
            row
            for row in choices
            if row.valid_from <= at and (row.valid_until is None or at < row.valid_until)
        ),
        None,
    )


async def choose_option(
    session: AsyncSession,
    agency: Agency,
    district: District,
    purpose: str,
    key: str,
    valid_from: datetime,
    actor: str,
) -> tuple[DistrictOptionChoice, bool]:
    """The LEA follows option `key` for `purpose` from `valid_from` on: (the choice in
    effect from then, whether it is new). Choosing the option it already follows records
    nothing.

    A choice may be dated ahead (a board decides for next school year), but not before the
    start of the open one: that would rewrite a period already recorded."""
    purpose = await check_purpose(session, agency, purpose)
    option = await option_by_key(session, agency, purpose, key)
    if option is None:
        offered = [row.key for row in await list_options(session, agency, purpose)]
        raise InvalidInput(
            f"the agency has no option {key!r} for {purpose}"
            + (f"; its options: {', '.join(offered)}" if offered else "; create one first"),
            field=("option",),
        )
    await begin_write(session)  # SQLite: read the open choice with the write lock held
    current = await session.scalar(
        select(DistrictOptionChoice).where(
            DistrictOptionChoice.district_id == district.id,
            DistrictOptionChoice.purpose == purpose,
            DistrictOptionChoice.valid_until.is_(None),
        )
    )
    if current is not None:
        if valid_from <= current.valid_from:
            raise InvalidInput(
                "validFrom must be after the start of the LEA's current choice "
                f"({current.valid_from.isoformat()})",
                field=("validFrom",),
            )
        if current.option_id == option.id:
            return current, False
        await _close(session, current, valid_from)
    row = DistrictOptionChoice(
        district_id=district.id,
        purpose=purpose,
        option_id=option.id,
        valid_from=valid_from,
        valid_until=None,
        recorded_by=actor,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # another first choice opened meanwhile (one open per purpose)
        raise _raced() from None
    return row, True


async def _close(session: AsyncSession, current: DistrictOptionChoice, at: datetime) -> None:
    """Close the open choice at `at`, if it is still open and began before `at`: a choice
    made at the same moment may have closed it first, and its closing stands."""
    closed = await session.execute(
        update(DistrictOptionChoice)
        .where(
            DistrictOptionChoice.id == current.id,
            DistrictOptionChoice.valid_until.is_(None),
            DistrictOptionChoice.valid_from < at,
        )
        .values(valid_until=at)
        .execution_options(synchronize_session="evaluate")
    )
    if getattr(closed, "rowcount", 0) != 1:
        raise _raced()


def _raced() -> Conflict:
    return Conflict(
        "another choice for this LEA and purpose was recorded at the same time; read its "
        "choices and choose again",
        field=("validFrom",),
    )


# --- the rule that applies to an educator --------------------------------------------------


def membership_on(memberships: Sequence[EducatorDistrict], at: datetime) -> EducatorDistrict | None:
    return next(
        (
            row
            for row in memberships
            if (row.valid_from is None or row.valid_from <= at)
            and (row.valid_until is None or at < row.valid_until)
        ),
        None,
    )


@dataclass(frozen=True)
class Applicable:
    """What applies to an educator for a purpose on a date, step by step: her membership,
    its LEA (None: in none, or a code not registered), the LEA's choice, its option, and
    the revision of the option's stack in effect then."""

    at: datetime
    purpose: str
    membership: EducatorDistrict | None
    district: District | None
    choice: DistrictOptionChoice | None
    option: PolicyOption | None
    stack: Stack | None


@dataclass(frozen=True)
class Requirement:
    applicable: Applicable
    evaluation: Evaluation | None  # None: no rule applies

    @property
    def status(self) -> RequirementStatus:
        if self.applicable.membership is None:
            return "no_district"
        if self.applicable.district is None:
            return "district_not_registered"
        if self.evaluation is None:
            return "no_option"
        return "met" if self.evaluation.met else "not_met"


async def applicable(
    session: AsyncSession, agency: Agency, educator: Educator, purpose: str, at: datetime
) -> Applicable:
    membership = membership_on(await districts_of(session, educator), at)
    district = await district_by_code(session, agency, membership.district) if membership else None
    choice = None
    if district is not None:
        choices = await session.scalars(
            select(DistrictOptionChoice).where(
                DistrictOptionChoice.district_id == district.id,
                DistrictOptionChoice.purpose == purpose,
                DistrictOptionChoice.valid_from <= at,
                or_(
                    DistrictOptionChoice.valid_until.is_(None),
                    DistrictOptionChoice.valid_until > at,
                ),
            )
        )
        choice = choices.first()
    option = await session.get(PolicyOption, choice.option_id) if choice else None
    stack = await stack_at(session, option.stack_lineage_id, at) if option else None
    return Applicable(at, purpose, membership, district, choice, option, stack)


async def requirement(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    educator: Educator,
    purpose: str,
    at: datetime,
    status: StatusSource | None = None,
) -> Requirement:
    """Her LEA on `at`, its option on `at`, and that option's rule evaluated on `at` against
    what the agency may count for her (`agency_holdings`)."""
    purpose = await check_purpose(session, agency, purpose)
    found = await applicable(session, agency, educator, purpose, at)
    if found.stack is None:
        return Requirement(found, None)
    held = await agency_holdings(session, public_url, agency, educator, at, None, status)
    approvals = await approvals_of(session, agency)
    evaluator = Evaluator(session, public_url, agency, held, at, approvals)
    return Requirement(found, await evaluator.stack(found.stack))


def explain(found: Requirement, purpose_name: str) -> str:
    """The answer in words, as a caseworker would tell it."""
    step = found.applicable
    day = step.at.date().isoformat()
    if step.membership is None:
        return f"On {day} she was in no LEA, so no {purpose_name} option applied to her."
    if step.district is None:
        return (
            f'On {day} she was in "{step.membership.district}": LEA not registered, so no '
            f"{purpose_name} option applied to her."
        )
    lea = f"{step.district.name} ({step.district.code})"
    if found.evaluation is None or step.option is None or step.stack is None:
        return f"On {day} she was in {lea}, which had chosen no {purpose_name} option then."
    rule = (
        f"On {day} she was in {lea}, which followed {step.option.name} ({step.option.key}) "
        f"for {purpose_name}; its rule, {step.stack.name},"
    )
    if found.evaluation.met:
        return f"{rule} was met, with {len(found.evaluation.counted)} credential(s) counted."
    missing = "; ".join(found.evaluation.missing) or "nothing more she can add"
    return f"{rule} was not met. Missing: {missing}."
