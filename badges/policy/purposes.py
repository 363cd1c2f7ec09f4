"""Purposes an agency approves MCs for: the six policy areas of New America's model state
policy guide, which every agency has, and purposes of the state's own.

A purpose is named by its key everywhere (approvals, stack rules, vetting, reports). The
state's own keys are checked against the agency's list, so a typo is an error, not a purpose
nothing was ever approved for.
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput
from storage.models import Agency, AgencyPurpose

# The guide's six policy areas, in the order a career goes through them.
STANDARD_PURPOSES: Final[dict[str, str]] = {
    "educator_preparation": "Educator preparation",
    "initial_certification": "Initial certification",
    "professional_learning": "Curated professional development",
    "license_renewal": "License renewal",
    "endorsement": "Additional endorsements",
    "advancement": "License advancement",
}
_KEY = re.compile(r"[a-z][a-z0-9_]{1,31}")
Field = tuple[str | int, ...]


def check_standard_purpose(purpose: str, field: Field = ("purpose",)) -> str:
    """A purpose every agency has; for one that may be the agency's own, `check_purpose`."""
    if purpose not in STANDARD_PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(STANDARD_PURPOSES)}", field=field)
    return purpose


async def purposes_of(session: AsyncSession, agency: Agency) -> dict[str, str]:
    """Every purpose the agency may use, key -> name: the six, then its own."""
    own = await session.scalars(
        select(AgencyPurpose)
        .where(AgencyPurpose.agency_id == agency.id)
        .order_by(AgencyPurpose.created_at, AgencyPurpose.key)
    )
    return STANDARD_PURPOSES | {row.key: row.name for row in own}


async def check_purpose(
    session: AsyncSession, agency: Agency, purpose: object, field: Field = ("purpose",)
) -> str:
    """`purpose` when it is one of the agency's purposes; `InvalidInput` naming them if not."""
    if isinstance(purpose, str) and purpose in STANDARD_PURPOSES:
        return purpose
    known = await purposes_of(session, agency)
    if not isinstance(purpose, str) or purpose not in known:
        raise InvalidInput(f"purpose must be one of {', '.join(known)}", field=field)
    return purpose


async def add_purpose(
    session: AsyncSession, agency: Agency, key: str, name: str, description: str | None = None
) -> AgencyPurpose:
    """A purpose of the state's own (e.g. "teacher_leader_stipend")."""
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            "key must be 2-32 lower-case letters, digits or _, starting with a letter",
            field=("key",),
        )
    if key in await purposes_of(session, agency):
        raise Conflict(f"the agency already has a purpose {key!r}")
    row = AgencyPurpose(agency_id=agency.id, key=key, name=name, description=description)
    session.add(row)
    await session.flush()
    return row
