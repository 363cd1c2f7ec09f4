"""Where the agency-dependent leaves of a rule may stand, checked when a rule is written.

`{"approvedFor": purpose}` belongs in a stack for that purpose: an MC in the pool counts when
it was approved for the stack's purpose (asked as the stack's `approvalAt` says), so a pool
of another purpose would be a second, silent purpose. Criteria belong in lattice roles:
a stack counts MCs within a window and for a purpose, neither of which a criterion has.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.policy.criteria import check_criteria
from badges.policy.stack_rules import (
    Rule,
    criteria_of,
    pools_of,
)
from storage.models import Agency

Field = tuple[str | int, ...]


def check_stack_leaves(rule: Rule, purpose: str | None, field: Field = ("rule",)) -> None:
    for pool in pools_of(rule):
        if pool.purpose != purpose:
            raise InvalidInput(
                f"a rule counting MCs approved for {pool.purpose!r} belongs in a stack whose"
                f" purpose is {pool.purpose!r}: set the stack's purpose, or nest a stack for it",
                field=field,
            )
    if criteria_of(rule):
        raise InvalidInput(
            "criteria other than MCs belong in lattice roles, not in stacks", field=field
        )


async def check_role_leaves(
    session: AsyncSession, agency: Agency, rule: Rule, field: Field = ("rule",)
) -> None:
    if pools_of(rule):
        raise InvalidInput(
            "a role counts approved MCs through a stack: make a stack with approvedFor and"
            " name it in the role",
            field=field,
        )
    await check_criteria(session, agency, criteria_of(rule), field)
