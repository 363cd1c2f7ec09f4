"""Counts for an agency, per month, quarter or year: micro-credentials its educators earned
(per provider, district, approved purpose) and stacks and roles they completed.

MCs earned are the credentials issued here that name one of the agency's educators (not
revoked by the report's end) and the credentials submitted and accepted for them; a
credential counts in the period of its earned date (`awardedDate`, else `validFrom`). "Per
approved purpose" puts an MC under each purpose its achievement is approved for on the
report's end date.
Completions are the completion periods that began a completion, in the period they began.
Each row is under the district the educator was in at the time (earned, completed): a
later move leaves earlier rows as they were; a revocation after the report's end too.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.policy.holdings import own_achievement_ids
from badges.policy.purposes import purposes_of
from badges.policy.rule_book import ApprovalBook
from badges.policy.state_queries import (
    AnySelect,
    membership_at,
)
from badges.status.copies import not_a_copy
from storage.models import (
    Agency,
    Completion,
    Credential,
    CredentialEvent,
    CredentialRecipient,
    Educator,
    EducatorDistrict,
    EducatorIdentifier,
    Issuer,
    SubmittedCredential,
)

Period = Literal["month", "quarter", "year"]
EARNED_GROUPS: Final = ("issuer", "district", "purpose")
COMPLETED_GROUPS: Final = ("district", "purpose")


@dataclass(frozen=True)
class ReportRange:
    period: Period
    start: datetime | None
    end: datetime
    by: tuple[str, ...]


@dataclass(frozen=True)
class ReportTarget:
    kind: str
    iri: str
    name: str
    purpose: str | None


def check_groups(by: Sequence[str], allowed: Sequence[str], what: str) -> tuple[str, ...]:
    unknown = [name for name in by if name not in allowed]
    if unknown:
        raise InvalidInput(
            f"{what} can be counted by {', '.join(allowed)}; not by {', '.join(unknown)}",
            field=("by",),
        )
    return tuple(name for name in allowed if name in by)


def period_of(column: Any, period: Period, dialect: str) -> ColumnElement[str]:
    """The period label of a UTC timestamp: `2025-03`, `2025-Q1` or `2025`."""
    if dialect == "postgresql":
        pattern = {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}[period]
        return func.to_char(func.timezone("UTC", column), pattern, type_=String)
    if period == "quarter":
        quarter = (cast(func.strftime("%m", column), Integer) + 2) // 3
        return func.strftime("%Y", column, type_=String) + "-Q" + cast(quarter, String)
    return func.strftime("%Y-%m" if period == "month" else "%Y", column, type_=String)


async def earned_report(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    span: ReportRange,
    approvals: ApprovalBook,
    approved_iris: Sequence[str],
) -> list[dict[str, Any]]:
    """Rows of {period, [issuer], [district], [purpose], count}, in period order."""
    dialect = session.get_bind().dialect.name
    purposes: Sequence[str | None] = (
        list(await purposes_of(session, agency)) if "purpose" in span.by else (None,)
    )
    parts = []
    for purpose in purposes:
        iris = None
        if purpose is not None:
            iris = [iri for iri in approved_iris if approvals.approved(iri, purpose, span.end)]
        parts.append(_own_earned(agency, span, purpose, iris, public_url))
        parts.append(_submitted(agency, span, purpose, iris))
    earned = union_all(*parts).subquery()
    period = period_of(earned.c.earned, span.period, dialect).label("period")
    keys = [period, *(earned.c[name] for name in span.by)]
    query = (
        select(*keys, func.count(func.distinct(earned.c.credential_id)))
        .group_by(*keys)
        .order_by(*keys)
    )
    rows = await session.execute(query)
    return [dict(zip(["period", *span.by, "count"], row, strict=True)) for row in rows]


def _own_earned(
    agency: Agency,
    span: ReportRange,
    purpose: str | None,
    iris: Sequence[str] | None,
    public_url: str,
) -> AnySelect:
    earned = func.coalesce(Credential.awarded_date, Credential.valid_from)
    # Revoked by the report's end: a revocation after it leaves the report as it was.
    revoked = exists().where(
        CredentialEvent.credential_id == Credential.id,
        CredentialEvent.event_type == "revoked",
        CredentialEvent.occurred_at < span.end,
    )
    query = (
        select(
            Credential.id.label("credential_id"),
            earned.label("earned"),
            Issuer.slug.label("issuer"),
            EducatorDistrict.district.label("district"),
            literal(purpose, String).label("purpose"),
        )
        .select_from(EducatorIdentifier)
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .join(CredentialRecipient, CredentialRecipient.lookup_key == EducatorIdentifier.lookup_key)
        .join(Credential, Credential.id == CredentialRecipient.credential_id)
        .join(Issuer, Issuer.id == Credential.issuer_id)
        .outerjoin(EducatorDistrict, membership_at(Educator.id, earned))
        .where(Educator.agency_id == agency.id, earned < span.end, ~revoked, not_a_copy())
    )
    if span.start is not None:
        query = query.where(earned >= span.start)
    if iris is not None:
        query = query.where(Credential.achievement_id.in_(own_achievement_ids(public_url, iris)))
    return query


def _submitted(
    agency: Agency, span: ReportRange, purpose: str | None, iris: Sequence[str] | None
) -> AnySelect:
    earned = func.coalesce(SubmittedCredential.earned_at, SubmittedCredential.submitted_at)
    query = (
        select(
            SubmittedCredential.id.label("credential_id"),
            earned.label("earned"),
            SubmittedCredential.issuer_iri.label("issuer"),
            EducatorDistrict.district.label("district"),
            literal(purpose, String).label("purpose"),
        )
        .outerjoin(EducatorDistrict, membership_at(SubmittedCredential.educator_id, earned))
        .where(
            SubmittedCredential.agency_id == agency.id,
            SubmittedCredential.accepted.is_(True),
            earned < span.end,
        )
    )
    if span.start is not None:
        query = query.where(earned >= span.start)
    if iris is not None:
        query = query.where(SubmittedCredential.achievement_iri.in_(list(iris)))
    return query


async def completed_report(
    session: AsyncSession,
    agency: Agency,
    span: ReportRange,
    targets: Mapping[tuple[str, uuid.UUID], ReportTarget],
) -> list[dict[str, Any]]:
    """Rows of {period, kind, target, name, [district], [purpose], count}, in period order.

    A completion is a period that does not continue another: counted in the period it began,
    under the district she was in then, whatever happened to it afterwards."""
    dialect = session.get_bind().dialect.name
    began = Completion.started_at
    period = period_of(began, span.period, dialect).label("period")
    keys: list[Any] = [period, Completion.target_kind, Completion.target_id]
    if "district" in span.by:
        keys.append(EducatorDistrict.district)
    query = (
        select(*keys, func.count())
        .select_from(Completion)
        .outerjoin(EducatorDistrict, membership_at(Completion.educator_id, began))
        .where(
            Completion.agency_id == agency.id,
            Completion.continues.is_(False),
            # A period closed the instant it began (a run that raced an event) never held.
            or_(Completion.ended_at.is_(None), Completion.ended_at > began),
            began < span.end,
        )
        .group_by(*keys)
    )
    if span.start is not None:
        query = query.where(began >= span.start)
    counts: Counter[tuple[Any, ...]] = Counter()
    for period_label, kind, target_id, *rest in await session.execute(query):
        target = targets.get((kind, target_id))
        if target is None:
            continue  # a stack or role deleted since
        district = tuple(rest[:1]) if "district" in span.by else ()
        purpose = (target.purpose,) if "purpose" in span.by else ()
        counts[(period_label, kind, target.iri, target.name, *district, *purpose)] += rest[-1]
    names = ["period", "kind", "target", "name", *span.by, "count"]
    return [
        dict(zip(names, (*key, count), strict=True))
        for key, count in sorted(counts.items(), key=lambda item: tuple(map(str, item[0])))
    ]
