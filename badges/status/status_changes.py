"""Revoking, suspending and unsuspending credentials, and their status at any moment.

The event log is the truth; the status list bits are its public projection. A change sets
(or clears) the bit, re-signs the list and appends the event in one transaction, so a
verifier never sees a bit without the event or the reverse. Revocation is final.

A credential's bits are only ever set in lists it has an entry in. Suspension is an opt-in of
the issuer (see `status_lists`), so a credential issued without a suspension entry cannot be
suspended: no verifier could see it, and the log would claim what the credential does not say.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import Conflict, InvalidInput, NotFound
from badges.issuers.issuers import KeyVault
from badges.status import completion_marks
from badges.status.copies import original_of
from badges.status.status_lists import sign_list
from badges.webhooks import subscriptions as webhooks
from formats.bitstring import set_bit
from storage.models import (
    Credential,
    CredentialEvent,
    CredentialStatusEntry,
    Issuer,
    StatusList,
)
from storage.models.completions import STATUS_EVENTS
from storage.session import begin_write


class Standing(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class Validity(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_ISSUED = "not_issued"


class Action(StrEnum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"


_EVENT_OF: Final = {
    Action.REVOKE: "revoked",
    Action.SUSPEND: "suspended",
    Action.UNSUSPEND: "unsuspended",
}


@dataclass(frozen=True)
class Event:
    event_type: str
    occurred_at: datetime
    actor: str | None
    reason: str | None


@dataclass(frozen=True)
class StatusAnswer:
    credential_id: uuid.UUID
    at: datetime
    standing: Standing
    validity: Validity
    events: tuple[Event, ...]

    @property
    def in_good_standing(self) -> bool:
        return self.standing is Standing.ACTIVE and self.validity is Validity.VALID


def standing_of(events: Sequence[Event]) -> Standing:
    standing = Standing.ACTIVE
    for event in events:
        if event.event_type == "revoked":
            return Standing.REVOKED
        if event.event_type == "suspended":
            standing = Standing.SUSPENDED
        elif event.event_type == "unsuspended":
            standing = Standing.ACTIVE
    return standing


def validity_at(credential: Credential, at: datetime) -> Validity:
    if at < credential.issued_at and at < credential.valid_from:
        return Validity.NOT_ISSUED
    if at < credential.valid_from:
        return Validity.NOT_YET_VALID
    if credential.valid_until is not None and at >= credential.valid_until:
        return Validity.EXPIRED
    return Validity.VALID


def last_status_event(at: datetime) -> ScalarSelect[str]:
    """A correlated subquery on `Credential`: the type of its last status event up to `at`
    (`revoked`, `suspended`, `unsuspended`; NULL for none), which decides its standing then
    (revocation is final, so nothing follows it). One probe of the partial index of status
    events per credential."""
    return (
        select(CredentialEvent.event_type)
        .where(
            CredentialEvent.credential_id == Credential.id,
            CredentialEvent.event_type.in_(STATUS_EVENTS),
            CredentialEvent.occurred_at <= at,
        )
        .order_by(CredentialEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )


async def get_issued_credential(
    session: AsyncSession, issuer: Issuer, credential_id: uuid.UUID
) -> Credential:
    """A credential of `issuer`; another issuer's is reported as not found."""
    credential = await session.get(Credential, credential_id)
    if credential is None or credential.issuer_id != issuer.id:
        raise NotFound(f"no credential {credential_id} of issuer {issuer.slug!r}")
    return credential


async def events_of(
    session: AsyncSession, credential_id: uuid.UUID, until: datetime | None = None
) -> list[Event]:
    query = select(CredentialEvent).where(CredentialEvent.credential_id == credential_id)
    if until is not None:
        query = query.where(CredentialEvent.occurred_at <= until)
    rows = await session.scalars(query.order_by(CredentialEvent.id))
    return [Event(row.event_type, row.occurred_at, row.actor, row.reason) for row in rows]


async def status_at(
    session: AsyncSession, issuer: Issuer, credential_id: uuid.UUID, at: datetime | None = None
) -> StatusAnswer:
    moment = at or datetime.now(UTC)
    credential = await get_issued_credential(session, issuer, credential_id)
    events = await events_of(session, credential.id, moment)
    return StatusAnswer(
        credential_id=credential.id,
        at=moment,
        standing=standing_of(events),
        validity=validity_at(credential, moment),
        events=tuple(events),
    )


async def change_status(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    credential_id: uuid.UUID,
    action: Action,
    *,
    actor: str,
    reason: str,
) -> StatusAnswer:
    if not reason.strip():
        raise InvalidInput("a reason is required: it is kept in the audit log", field=("reason",))
    # The turn to write first (SQLite, where FOR UPDATE below locks nothing): two changes
    # must not both read the same old bits, nor both find the credential active.
    await begin_write(session)
    credential = await get_issued_credential(session, issuer, credential_id)
    original = await original_of(session, credential.id)
    if original is not None:
        raise Conflict(
            f"this credential is a wallet copy of credential {original} and shares its status "
            "entries: change the status of that original (every copy follows it)"
        )
    # One change at a time per credential (PostgreSQL; SQLite's writer turn above does it):
    # the standing read next must still hold when the event is written.
    await session.execute(
        select(Credential.id).where(Credential.id == credential.id).with_for_update()
    )
    standing = standing_of(await events_of(session, credential.id))
    _check_transition(standing, action)
    purpose = "revocation" if action is Action.REVOKE else "suspension"
    entry = await _entry_of(session, credential.id, purpose)
    if entry is None and action is Action.SUSPEND:
        raise Conflict(
            "this credential cannot be suspended: it carries no suspension status entry "
            f"(suspension was off for issuer {issuer.slug!r} when it was issued), so no verifier "
            "would ever see it suspended. Revoke it instead, or turn suspension on "
            "(suspensionEnabled) for the issuer's future credentials"
        )
    if entry is not None:
        await _flip_bit(
            session, public_url, vault, issuer, entry, value=action is not Action.UNSUSPEND
        )
    now = datetime.now(UTC)
    session.add(
        CredentialEvent(
            credential_id=credential.id,
            event_type=_EVENT_OF[action],
            occurred_at=now,
            actor=actor,
            reason=reason.strip(),
        )
    )
    webhooks.enqueue(
        session,
        issuer.id,
        f"credential.{_EVENT_OF[action]}",
        credential.id,
        occurred_at=now,
        reason=reason.strip(),
    )
    await completion_marks.credentials_changed(session, [credential.id])
    await session.flush()
    return await status_at(session, issuer, credential.id, now)


def _check_transition(standing: Standing, action: Action) -> None:
    if standing is Standing.REVOKED:
        raise Conflict("the credential is revoked, and revocation is final")
    if action is Action.SUSPEND and standing is Standing.SUSPENDED:
        raise Conflict("the credential is already suspended")
    if action is Action.UNSUSPEND and standing is not Standing.SUSPENDED:
        raise Conflict("the credential is not suspended")


async def _entry_of(
    session: AsyncSession, credential_id: uuid.UUID, purpose: str
) -> CredentialStatusEntry | None:
    """The credential's entry for `purpose`; None when it was issued without one (a VCDM 1.1
    VC-API credential has none; a credential of an issuer without suspension has no
    suspension entry). Lifting a suspension logged without an entry then changes no bit."""
    entry: CredentialStatusEntry | None = await session.scalar(
        select(CredentialStatusEntry).where(
            CredentialStatusEntry.credential_id == credential_id,
            CredentialStatusEntry.purpose == purpose,
        )
    )
    return entry


async def _flip_bit(
    session: AsyncSession,
    public_url: str,
    vault: KeyVault,
    issuer: Issuer,
    entry: CredentialStatusEntry,
    *,
    value: bool,
) -> None:
    """Set (or clear) the credential's bit in the one list its entry names, and re-sign it."""
    # FOR UPDATE: two changes to one list must not both start from the same old bits.
    row = await session.scalar(
        select(StatusList)
        .where(StatusList.id == entry.status_list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise LookupError(f"status list {entry.status_list_id} is missing")
    row.bits = set_bit(row.bits, entry.list_index, value)
    await sign_list(row, public_url, vault, issuer)
