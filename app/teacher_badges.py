"""Her badges as her pages show them: each award once, with its standing today, and when
each completed stack or lattice role lapses if she earns nothing new.

A wallet copy (`badges.status.copies`) is the same award as its original, with the original's
status: her list shows the original only, and the copy's address leads to it.

A lapse is found the way the agencies' completion runs find it (`badges.policy.completion_rules`):
her progress (`badges.wallets.teacher_progress`, the one evaluation her progress page shows) is
asked again just after each moment something of hers could stop counting (a badge
expires, leaves a stack's window, or loses an approval), and the first moment after which
a complete goal is no longer complete is its lapse. Credentials only drop out as time
passes, so the moments are bisected.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.status.copies import original_of
from badges.status.status_changes import (
    Event,
    Standing,
    Validity,
    standing_of,
    validity_at,
)
from badges.wallets.teacher_progress import (
    AgencyProgress,
    GoalProgress,
)
from badges.wallets.teachers import (
    teacher_credential,
    teacher_credentials,
)
from schemas.api.base import MAX_WINDOW_DAYS
from storage.models import Approval, Credential, CredentialCopy, CredentialEvent, Stack, Teacher
from storage.models.ob_api import HeldCredential as Pushed  # what she pushed into her account

_TICK = timedelta(microseconds=1)  # a window includes its last instant: asked just after
_STATUS_EVENTS = ("revoked", "suspended", "unsuspended")


@dataclass(frozen=True)
class HeldBadge:
    row: Credential
    standing: Standing
    validity: Validity
    changed: Event | None  # the revocation or suspension, when not in good standing

    @property
    def shareable(self) -> bool:
        """Whether her pages offer to share it: a revoked or suspended badge is not."""
        return self.standing is Standing.ACTIVE


async def _events(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Event]]:
    found: dict[uuid.UUID, list[Event]] = {credential_id: [] for credential_id in ids}
    if not ids:
        return found
    rows = await session.scalars(
        select(CredentialEvent)
        .where(
            CredentialEvent.credential_id.in_(ids),
            CredentialEvent.event_type.in_(_STATUS_EVENTS),
        )
        .order_by(CredentialEvent.id)
    )
    for row in rows:
        found[row.credential_id].append(
            Event(row.event_type, row.occurred_at, row.actor, row.reason)
        )
    return found


def _held(row: Credential, events: Sequence[Event], at: datetime) -> HeldBadge:
    standing = standing_of(events)
    changed = next(
        (event for event in reversed(events) if event.event_type == standing.value), None
    )
    return HeldBadge(row, standing, validity_at(row, at), changed)


async def her_badges(session: AsyncSession, teacher: Teacher, at: datetime) -> list[HeldBadge]:
    """Her badges, newest first, each award once (no wallet copies)."""
    rows = await teacher_credentials(session, teacher)
    ids = [row.id for row in rows]
    copies = set(
        await session.scalars(select(CredentialCopy.copy_id).where(CredentialCopy.copy_id.in_(ids)))
    )
    originals = [row for row in rows if row.id not in copies]
    events = await _events(session, [row.id for row in originals])
    return [_held(row, events[row.id], at) for row in originals]


async def her_badge(
    session: AsyncSession, teacher: Teacher, credential_id: uuid.UUID, at: datetime
) -> HeldBadge | uuid.UUID:
    """One of her badges; for a wallet copy, the id of its original to show instead."""
    row = await teacher_credential(session, teacher, credential_id)
    original = await original_of(session, row.id)
    if original is not None:
        return original
    events = await _events(session, [row.id])
    return _held(row, events[row.id], at)


# --- when a completion lapses ----------------------------------------------------------------

GoalKey = tuple[str, str, str]  # (agency, stack list or lattice name, goal name)
ProgressAt = Callable[[datetime], Awaitable[Sequence[AgencyProgress]]]


def goals_of(progress: Iterable[AgencyProgress]) -> dict[GoalKey, GoalProgress]:
    found: dict[GoalKey, GoalProgress] = {}
    for agency in progress:
        for goal in agency.stacks:
            found.setdefault((agency.name, "", goal.name), goal)
        for lattice in agency.lattices:
            for role in lattice.roles:
                found.setdefault((agency.name, lattice.name, role.name), role)
    return found


async def lapse_moments(session: AsyncSession, teacher: Teacher, at: datetime) -> list[datetime]:
    """Every moment after `at` at which one of her badges (issued here, or pushed into her
    account from elsewhere) could stop counting: it expires, leaves a stack's window, or an
    approval of its kind ends."""
    rows = await teacher_credentials(session, teacher)
    windows = set(
        await session.scalars(
            select(Stack.window_days).where(
                Stack.is_current.is_(True), Stack.window_days.is_not(None)
            )
        )
    )
    approvals = await session.scalars(
        select(Approval.effective_until).where(Approval.effective_until > at)
    )
    moments: set[datetime | None] = {moment for moment in approvals if moment is not None}
    pushed = await session.execute(
        select(Pushed.valid_from, Pushed.valid_until, Pushed.earned_at).where(
            Pushed.teacher_id == teacher.id
        )
    )
    dates = [(row.awarded_date or row.valid_from, row.valid_until) for row in rows]
    dates += [(earned or start, until) for start, until, earned in pushed]
    for earned, until in dates:
        if until is not None:
            moments.add(until)
        moments.update(_after(earned, days) for days in windows)
    return sorted(moment for moment in moments if moment is not None and moment > at)


def _after(earned: datetime, days: int | None) -> datetime | None:
    """When a badge earned then leaves a window of `days`; None for a window no stack can
    have (rows from before windows were bounded are read as `policy_of` reads them) or a
    date past the calendar's end."""
    if not days or days < 1:
        return None
    try:
        return earned + timedelta(days=min(days, MAX_WINDOW_DAYS))
    except OverflowError:
        return None


async def lapses(
    now: Sequence[AgencyProgress], moments: Sequence[datetime], progress_at: ProgressAt
) -> dict[GoalKey, datetime]:
    """For each goal complete now, the first of `moments` just after which it is not."""
    complete = [key for key, goal in goals_of(now).items() if goal.met]
    asked: dict[int, dict[GoalKey, GoalProgress]] = {}

    async def met_after(index: int, key: GoalKey) -> bool:
        if index not in asked:
            asked[index] = goals_of(await progress_at(moments[index] + _TICK))
        goal = asked[index].get(key)
        return goal is not None and goal.met

    found: dict[GoalKey, datetime] = {}
    for key in complete:
        low, high = 0, len(moments)
        while low < high:
            middle = (low + high) // 2
            if await met_after(middle, key):
                low = middle + 1
            else:
                high = middle
        if low < len(moments):
            found[key] = moments[low]
    return found
