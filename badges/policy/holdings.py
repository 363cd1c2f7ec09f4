"""What an agency's educators hold, loaded for many educators at once.

Set-based: one streamed query for the credentials issued here (matched by the keyed lookup
hashes of the educators' identifiers), one for their status events, one for submitted
credentials, one for credentials teachers pushed through the OB 3.0 API and one for VC-API
credentials without an achievement row, instead of one query per educator. Only
credentials of the achievements asked for are read. What counts is what
`evaluation.agency_holdings` counts for one educator: wallet copies never (their original
does), credentials from elsewhere with their issuer's status as last seen by the date
(`foreign_status`; a sweep reads it again, `foreign_sweeps`), each from its awarded date.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.issuing.achievements import achievement_url
from badges.policy.criteria import recorded_holdings
from badges.policy.evaluation import (
    counts_from,
)
from badges.policy.foreign_status import (
    held_ref,
    problems_at,
    submitted_ref,
)
from badges.policy.rule_book import Holding
from badges.policy.stack_rules import (
    CRITERION_PREFIX,
    ROLE_HOLD_PREFIX,
)
from badges.status.copies import not_a_copy
from badges.status.status_changes import (
    Event,
    Standing,
    standing_of,
)
from formats.dates import xsd_datetime
from storage.bulk import chunks
from storage.models import (
    Agency,
    Credential,
    CredentialEvent,
    CredentialRecipient,
    Educator,
    EducatorIdentifier,
    HeldCredential,
    SubmittedCredential,
)
from storage.models.completions import STATUS_EVENTS

_STREAM_ROWS = 10_000
# educator, credential, achievement, awarded, valid from, valid until
_OwnRow = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, datetime | None, datetime, datetime | None]


async def holdings(
    session: AsyncSession,
    public_url: str,
    agency: Agency,
    achievements: Collection[str],
    at: datetime,
    educator_ids: Sequence[uuid.UUID] | None = None,
) -> AsyncIterator[tuple[uuid.UUID, list[Holding]]]:
    """(educator, her credentials of `achievements`) for every educator of the agency (or
    those named) holding at least one; status as of `at`."""
    reader = _Reader(session, public_url, agency, at, own_achievement_ids(public_url, achievements))
    wanted = sorted(achievements)
    extra = await reader.submitted(wanted, educator_ids)
    for educator_id, items in (await reader.unlinked(set(wanted), educator_ids)).items():
        extra[educator_id].extend(items)
    for educator_id, items in (await reader.pushed(wanted, educator_ids)).items():
        extra[educator_id].extend(items)
    recorded = [iri for iri in wanted if iri.startswith((CRITERION_PREFIX, ROLE_HOLD_PREFIX))]
    if recorded:
        found = await recorded_holdings(session, agency, recorded, educator_ids)
        for educator_id, items in found.items():
            extra[educator_id].extend(items)
    if educator_ids is None:
        async for educator_id, items in reader.all_own():
            yield educator_id, items + extra.pop(educator_id, [])
    else:
        for chunk in chunks(list(educator_ids)):
            for educator_id, items in (await reader.own(chunk)).items():
                yield educator_id, items + extra.pop(educator_id, [])
    for educator_id, items in extra.items():
        yield educator_id, items


def own_achievement_ids(public_url: str, achievements: Iterable[str]) -> list[uuid.UUID]:
    """The ids of the achievements that are this service's own."""
    prefix = f"{public_url}/achievements/"
    found = []
    for iri in achievements:
        if iri.startswith(prefix):
            try:
                found.append(uuid.UUID(iri.removeprefix(prefix)))
            except ValueError:
                continue
    return sorted(found)


def _own_query(agency: Agency, condition: ColumnElement[bool]) -> Select[*_OwnRow]:
    return (
        select(
            EducatorIdentifier.educator_id,
            Credential.id,
            Credential.achievement_id,
            Credential.awarded_date,
            Credential.valid_from,
            Credential.valid_until,
        )
        .join(Educator, Educator.id == EducatorIdentifier.educator_id)
        .join(CredentialRecipient, CredentialRecipient.lookup_key == EducatorIdentifier.lookup_key)
        .join(Credential, Credential.id == CredentialRecipient.credential_id)
        .where(Educator.agency_id == agency.id, condition, not_a_copy())
    )


def _scopes(educator_ids: Sequence[uuid.UUID] | None) -> list[Sequence[uuid.UUID] | None]:
    """One pass over everyone (None), or bounded IN lists of the educators named."""
    return [None] if educator_ids is None else list(chunks(list(educator_ids)))


@dataclass
class _Reader:
    session: AsyncSession
    public_url: str
    agency: Agency
    at: datetime
    own_ids: list[uuid.UUID]

    async def all_own(self) -> AsyncIterator[tuple[uuid.UUID, list[Holding]]]:
        """Every educator's credentials of the wanted achievements, streamed in educator order
        so that memory holds one educator's rows at a time (and the status problems)."""
        problems = await self._problems_by_achievement()
        query = _own_query(self.agency, Credential.achievement_id.in_(self.own_ids))
        # Core rows, not ORM ones: plain tuples are all this loop needs, and much cheaper.
        connection = await self.session.connection()
        result = await connection.stream(
            query.order_by(EducatorIdentifier.educator_id).execution_options(yield_per=_STREAM_ROWS)
        )
        current: uuid.UUID | None = None
        group: dict[uuid.UUID, Holding] = {}
        try:
            async for partition in result.partitions():
                for educator_id, credential_id, *fields in partition:
                    if educator_id != current:
                        if current is not None:
                            yield current, list(group.values())
                        current, group = educator_id, {}
                    # Keyed by credential: one naming her e-mail and her ID appears twice.
                    group[credential_id] = self._own(credential_id, fields, problems)
        finally:
            await result.close()
        if current is not None:
            yield current, list(group.values())

    async def own(self, educator_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Holding]]:
        query = _own_query(
            self.agency,
            Credential.achievement_id.in_(self.own_ids)
            & EducatorIdentifier.educator_id.in_(list(educator_ids)),
        )
        rows = (await self.session.execute(query)).all()
        problems = await self._problems_of({row[1] for row in rows})
        grouped: dict[uuid.UUID, dict[uuid.UUID, Holding]] = defaultdict(dict)
        for educator_id, credential_id, *fields in rows:
            grouped[educator_id][credential_id] = self._own(credential_id, fields, problems)
        return {educator_id: list(items.values()) for educator_id, items in grouped.items()}

    def _own(
        self, credential_id: uuid.UUID, fields: Sequence[Any], problems: dict[uuid.UUID, str]
    ) -> Holding:
        achievement_id, awarded, valid_from, valid_until = fields
        return Holding(
            credential_id=f"{self.public_url}/credentials/{credential_id}",
            achievement_id=achievement_url(self.public_url, achievement_id),
            earned_at=awarded or valid_from,
            valid_from=counts_from(awarded, valid_from),
            valid_until=valid_until,
            problem=problems.get(credential_id),
        )

    async def unlinked(
        self, wanted: set[str], educator_ids: Sequence[uuid.UUID] | None
    ) -> dict[uuid.UUID, list[Holding]]:
        """Credentials issued here without an achievement row (VC-API): read the document."""
        found: dict[uuid.UUID, list[Holding]] = defaultdict(list)
        for chunk in _scopes(educator_ids):
            condition: ColumnElement[bool] = Credential.achievement_id.is_(None)
            if chunk is not None:
                condition = condition & EducatorIdentifier.educator_id.in_(list(chunk))
            query = _own_query(self.agency, condition).add_columns(Credential.document)
            rows = [row for row in await self.session.execute(query) if named(row[-1]) in wanted]
            problems = await self._problems_of({row[1] for row in rows})
            for educator_id, credential_id, _, awarded, valid_from, valid_until, document in rows:
                found[educator_id].append(
                    Holding(
                        credential_id=f"{self.public_url}/credentials/{credential_id}",
                        achievement_id=named(document),
                        earned_at=awarded or valid_from,
                        valid_from=counts_from(awarded, valid_from),
                        valid_until=valid_until,
                        problem=problems.get(credential_id),
                    )
                )
        return found

    async def submitted(
        self, wanted: list[str], educator_ids: Sequence[uuid.UUID] | None
    ) -> defaultdict[uuid.UUID, list[Holding]]:
        found: defaultdict[uuid.UUID, list[Holding]] = defaultdict(list)
        query = select(SubmittedCredential).where(
            SubmittedCredential.agency_id == self.agency.id,
            SubmittedCredential.achievement_iri.in_(wanted),
        )
        for chunk in _scopes(educator_ids):
            scoped = query
            if chunk is not None:
                scoped = query.where(SubmittedCredential.educator_id.in_(list(chunk)))
            rows = list(await self.session.scalars(scoped))
            keys = [submitted_ref(row).key for row in rows]
            seen = await problems_at(self.session, keys, self.at)
            for row in rows:
                found[row.educator_id].append(_submitted(row, seen.get(("submitted", row.id))))
        return found

    async def pushed(
        self, wanted: list[str], educator_ids: Sequence[uuid.UUID] | None
    ) -> dict[uuid.UUID, list[Holding]]:
        """Credentials teachers pushed through the OB 3.0 API naming an identifier the agency
        registered for them (`evaluation.agency_holdings`, for one educator)."""
        found: dict[uuid.UUID, dict[uuid.UUID, Holding]] = defaultdict(dict)
        query = (
            select(EducatorIdentifier.educator_id, HeldCredential)
            .join(HeldCredential, HeldCredential.lookup_key == EducatorIdentifier.lookup_key)
            .join(Educator, Educator.id == EducatorIdentifier.educator_id)
            .where(Educator.agency_id == self.agency.id)
        )
        for achievements in chunks(wanted):
            for chunk in _scopes(educator_ids):
                scoped = query.where(HeldCredential.achievement_iri.in_(list(achievements)))
                if chunk is not None:
                    scoped = scoped.where(EducatorIdentifier.educator_id.in_(list(chunk)))
                rows = (await self.session.execute(scoped)).all()
                seen = await problems_at(
                    self.session, [held_ref(row).key for _, row in rows], self.at
                )
                for educator_id, row in rows:
                    # Keyed by row: one teacher's ID and e-mail may both be registered.
                    found[educator_id][row.id] = _pushed(row, seen.get(("held", row.id)))
        return {educator_id: list(items.values()) for educator_id, items in found.items()}

    async def _problems_by_achievement(self) -> dict[uuid.UUID, str]:
        query = _events().where(
            or_(
                Credential.achievement_id.in_(self.own_ids),
                Credential.achievement_id.is_(None),
            ),
            CredentialEvent.occurred_at <= self.at,
        )
        return _problems(await self.session.execute(query))

    async def _problems_of(self, credential_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        found: dict[uuid.UUID, str] = {}
        for chunk in chunks(sorted(credential_ids)):
            query = _events().where(
                CredentialEvent.credential_id.in_(list(chunk)),
                CredentialEvent.occurred_at <= self.at,
            )
            found.update(_problems(await self.session.execute(query)))
        return found


def _events() -> Select[uuid.UUID, str, datetime]:
    """Status events, oldest first, as `standing_of` reads them."""
    return (
        select(
            CredentialEvent.credential_id, CredentialEvent.event_type, CredentialEvent.occurred_at
        )
        .join(Credential, Credential.id == CredentialEvent.credential_id)
        .where(CredentialEvent.event_type.in_(STATUS_EVENTS))
        .order_by(CredentialEvent.id)
    )


def _problems(rows: Iterable[Any]) -> dict[uuid.UUID, str]:
    """Why each credential with status events cannot count (revoked or suspended then)."""
    history: dict[uuid.UUID, list[Event]] = defaultdict(list)
    for credential_id, event_type, occurred_at in rows:
        history[credential_id].append(Event(event_type, occurred_at, None, None))
    found = {}
    for credential_id, events in history.items():
        standing = standing_of(events)
        if standing is not Standing.ACTIVE:
            changed = next(e for e in reversed(events) if e.event_type == standing.value)
            found[credential_id] = f"{standing.value} on {xsd_datetime(changed.occurred_at)}"
    return found


def _submitted(row: SubmittedCredential, status_problem: str | None) -> Holding:
    return Holding(
        credential_id=row.credential_iri or f"urn:uuid:{row.id}",
        achievement_id=row.achievement_iri or "",
        earned_at=row.earned_at or row.submitted_at,
        valid_from=None,
        valid_until=row.valid_until,
        problem=(
            f"failed verification on entry ({row.verdict})" if not row.accepted else status_problem
        ),
    )


def _pushed(row: HeldCredential, status_problem: str | None) -> Holding:
    return Holding(
        credential_id=row.credential_iri,
        achievement_id=row.achievement_iri or "",
        earned_at=row.earned_at or row.valid_from,
        valid_from=counts_from(row.earned_at, row.valid_from),
        valid_until=row.valid_until,
        problem=status_problem,
    )


def named(document: str) -> str:
    """The achievement id a stored credential document names ("" if none)."""
    try:
        subject = json.loads(document).get("credentialSubject", {})
    except (ValueError, AttributeError):
        return ""
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    return str(achievement.get("id", "")) if isinstance(achievement, dict) else ""
