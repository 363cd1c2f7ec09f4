"""Options an agency offers its LEAs for a purpose ("license renewal, option 2: 3 MCs in 5
years"), each applying the rule of one of its stacks.

An option names the stack's lineage, not one revision: which revision speaks on a date is
the one in effect then (`stack_at`), as for the completion periods (a revision judges from
its creation on; the first one judges the past too). So revising the stack changes the
answer for dates after the revision, never for those before it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput
from badges.policy.purposes import check_purpose
from storage.models import Agency, PolicyOption, Stack

# "option-2", "opt_1", "A": short enough for a CSV column, safe in a URL.
KEY: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class OptionDetails:
    purpose: str
    key: str
    name: str
    stack: str  # the stack's id, or the IRI of any of its revisions
    description: str | None = None


async def create_option(
    session: AsyncSession, public_url: str, agency: Agency, details: OptionDetails
) -> PolicyOption:
    purpose = await check_purpose(session, agency, details.purpose)
    if not KEY.fullmatch(details.key):
        raise InvalidInput(
            "key must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            field=("key",),
        )
    stack = await named_stack(session, public_url, agency, details.stack)
    if stack.purpose is not None and stack.purpose != purpose:
        raise InvalidInput(
            f"the stack is for {stack.purpose}, not {purpose}: its approvals would not be "
            "the ones this option's purpose asks for",
            field=("stack",),
        )
    if await option_by_key(session, agency, purpose, details.key) is not None:
        raise Conflict(f"the agency already has an option {details.key!r} for {purpose}")
    row = PolicyOption(
        agency_id=agency.id,
        purpose=purpose,
        key=details.key,
        name=details.name,
        description=details.description,
        stack_lineage_id=stack.lineage_id,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # the same key, created meanwhile
        raise Conflict(f"the agency already has an option {details.key!r} for {purpose}") from None
    return row


async def named_stack(session: AsyncSession, public_url: str, agency: Agency, ref: str) -> Stack:
    """The agency's stack that `ref` names (its id, or any revision's IRI)."""
    prefix = f"{public_url}/stacks/"
    text = ref.removeprefix(prefix)
    try:
        stack_id = uuid.UUID(text)
    except ValueError:
        stack_id = None
    found = await session.get(Stack, stack_id) if stack_id else None
    if found is None or found.agency_id != agency.id:
        raise InvalidInput(
            f"no stack {ref!r} of this agency: give its id or its IRI ({prefix}{{id}})",
            field=("stack",),
        )
    if found.archived_at is not None:
        raise InvalidInput("the stack is archived", field=("stack",))
    return found


async def option_by_key(
    session: AsyncSession, agency: Agency, purpose: str, key: str
) -> PolicyOption | None:
    return await session.scalar(
        select(PolicyOption).where(
            PolicyOption.agency_id == agency.id,
            PolicyOption.purpose == purpose,
            PolicyOption.key == key,
        )
    )


async def list_options(
    session: AsyncSession, agency: Agency, purpose: str | None = None
) -> list[PolicyOption]:
    query = select(PolicyOption).where(PolicyOption.agency_id == agency.id)
    if purpose is not None:
        query = query.where(PolicyOption.purpose == purpose)
    rows = await session.scalars(
        query.order_by(PolicyOption.purpose, PolicyOption.key, PolicyOption.id)
    )
    return list(rows)


async def revisions_of(session: AsyncSession, lineage_id: uuid.UUID) -> list[Stack]:
    rows = await session.scalars(
        select(Stack).where(Stack.lineage_id == lineage_id).order_by(Stack.revision)
    )
    return list(rows)


def in_effect(revisions: list[Stack], at: datetime) -> Stack | None:
    """The revision that speaks on `at`: the last one created by then, or the first one
    for a date before any (a first rule judges the past: that is what it is for)."""
    made = [row for row in revisions if row.created_at <= at]
    return made[-1] if made else (revisions[0] if revisions else None)


async def stack_at(session: AsyncSession, lineage_id: uuid.UUID, at: datetime) -> Stack | None:
    return in_effect(await revisions_of(session, lineage_id), at)


async def current_stacks(
    session: AsyncSession, options: list[PolicyOption]
) -> dict[uuid.UUID, Stack]:
    """The current revision of each option's stack, by lineage."""
    lineages = {option.stack_lineage_id for option in options}
    if not lineages:
        return {}
    rows = await session.scalars(
        select(Stack).where(Stack.lineage_id.in_(lineages), Stack.is_current.is_(True))
    )
    return {row.lineage_id: row for row in rows}
