"""CSV batches kept and issued: a checked file (`csv_batch`) stored as a batch, confirmed
once, its rows issued a chunk at a time, and its progress.

Nothing is issued until the batch is confirmed, and a batch is confirmed once: one
conditional UPDATE (`preview` -> `issuing`) lets exactly one of two confirming requests win.
Its rows are then issued a chunk at a time by whoever runs the work (`app.issue_batches`):
a chunk is first claimed (a conditional UPDATE `pending` -> `claimed` under a fresh claim
token, so two workers never claim one row), then issued through `issue_batch`, the function
behind `POST /v1/issuers/{slug}/credentials:batch`, so each credential is one the API could
have issued; the rows' outcomes are written in the credentials' own transaction. Each row's
award also carries an idempotency key of its own (`batch:<batch id>:<row>`): a row issued
again after a crash (its claim released on restart) replays the stored credential, never a
second one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import DomainError, NotFound
from badges.issuing.console_client import console_client as console_client  # re-exported
from badges.issuing.credential_document import Evidence
from badges.issuing.csv_batch import Preview
from badges.issuing.issuing import Award, IssuingContext, issue_batch
from badges.issuing.recipients import Recipient
from storage.bulk import chunks
from storage.models import Client, IssueBatch, IssueBatchRow, Issuer
from storage.session import begin_write

# Rows issued per chunk: one `issue_batch` call, one transaction for their rows.
CHUNK: Final = 50
# An upload never confirmed is deleted after this long, with the addresses and names it
# holds: they were sent to be issued, not kept.
PREVIEW_KEPT: Final = timedelta(days=7)


@dataclass(frozen=True)
class Progress:
    total: int  # lines in the file
    to_issue: int  # those without errors
    issued: int
    failed: int
    status: str  # preview, issuing or done

    @property
    def done(self) -> int:
        return self.issued + self.failed

    @property
    def finished(self) -> bool:
        return self.status == "done"


async def create_batch(
    session: AsyncSession,
    issuer: Issuer,
    preview: Preview,
    *,
    filename: str,
    created_by: str | None,
    whole_batch: uuid.UUID | None = None,
    client: Client | None = None,
) -> IssueBatch:
    """Keep a checked file as a batch awaiting confirmation; its lines with errors are kept
    too (`invalid`, never issued) so the preview can show them. Its credentials will be
    issued through `client` (by default the issuer's console client)."""
    await begin_write(session)
    await discard_unconfirmed(session, datetime.now(UTC) - PREVIEW_KEPT)
    client = client or await console_client(session, issuer)
    batch = IssueBatch(
        id=uuid.uuid4(),
        issuer_id=issuer.id,
        client_id=client.id,
        filename=filename[:255] or "upload.csv",
        achievement_id=whole_batch,
        status="preview",
        created_by=created_by,
        total_rows=len(preview.rows),
        valid_rows=len(preview.valid),
    )
    session.add(batch)
    await session.flush()
    rows = [
        {
            "batch_id": batch.id,
            "row_number": row.row,
            "status": "invalid" if row.errors else "pending",
            "email": row.email,
            "name": row.name,
            "achievement_id": row.achievement_id,
            "achievement_text": row.achievement_text,
            "evidence_url": row.evidence_url,
            "evidence_narrative": row.evidence_narrative,
            "issued_on": row.issued_on,
            "educator_id": row.educator_id,
            "state": row.state,
            "errors": [{"column": e.column, "message": e.message} for e in row.errors],
        }
        for row in preview.rows
    ]
    for chunk in chunks(rows):  # one multi-row statement per chunk, not one per row
        await session.execute(insert(IssueBatchRow), list(chunk))
    return batch


async def discard_unconfirmed(session: AsyncSession, uploaded_before: datetime) -> int:
    """Delete every batch (of any issuer) still awaiting confirmation that was uploaded before
    `uploaded_before`; how many. Its rows go with it (ON DELETE CASCADE). One conditional
    DELETE: a confirmation racing with it either finds the batch gone (404) or made it no
    longer a preview first, and then it stays."""
    await begin_write(session)
    deleted = await session.execute(
        delete(IssueBatch)
        .where(IssueBatch.status == "preview", IssueBatch.created_at < uploaded_before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(deleted, "rowcount", 0))


async def get_batch(session: AsyncSession, issuer: Issuer, batch_id: uuid.UUID) -> IssueBatch:
    batch = await session.get(IssueBatch, batch_id, populate_existing=True)
    if batch is None or batch.issuer_id != issuer.id:
        raise NotFound(f"no batch {batch_id} of issuer {issuer.slug!r}")
    return batch


async def list_batches(session: AsyncSession, issuer: Issuer, limit: int = 50) -> list[IssueBatch]:
    rows = await session.scalars(
        select(IssueBatch)
        .where(IssueBatch.issuer_id == issuer.id)
        .order_by(IssueBatch.created_at.desc(), IssueBatch.id.desc())
        .limit(limit)
    )
    return list(rows)


async def batch_rows(
    session: AsyncSession, batch: IssueBatch, *, offset: int = 0, limit: int = 200
) -> list[IssueBatchRow]:
    rows = await session.scalars(
        select(IssueBatchRow)
        .where(IssueBatchRow.batch_id == batch.id)
        .order_by(IssueBatchRow.row_number)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def invalid_rows(
    session: AsyncSession, batch: IssueBatch, limit: int = 500
) -> list[IssueBatchRow]:
    rows = await session.scalars(
        select(IssueBatchRow)
        .where(IssueBatchRow.batch_id == batch.id, IssueBatchRow.status.in_(("invalid", "failed")))
        .order_by(IssueBatchRow.row_number)
        .limit(limit)
    )
    return list(rows)


async def progress(session: AsyncSession, batch: IssueBatch) -> Progress:
    counted = await session.execute(
        select(IssueBatchRow.status, func.count())
        .where(IssueBatchRow.batch_id == batch.id)
        .group_by(IssueBatchRow.status)
    )
    counts: dict[str, int] = {status: count for status, count in counted}
    status = await session.scalar(select(IssueBatch.status).where(IssueBatch.id == batch.id))
    return Progress(
        total=batch.total_rows,
        to_issue=batch.valid_rows,
        issued=counts.get("issued", 0),
        failed=counts.get("failed", 0),
        status=status or batch.status,
    )


async def confirm(
    session: AsyncSession, issuer: Issuer, batch_id: uuid.UUID, *, actor: str | None
) -> bool:
    """Confirm the batch for issuing: True for the one call that did, False when it was
    confirmed before (by this call's twin, too). One conditional UPDATE decides."""
    batch = await get_batch(session, issuer, batch_id)
    await begin_write(session)
    claimed = await session.execute(
        update(IssueBatch)
        .where(IssueBatch.id == batch.id, IssueBatch.status == "preview")
        .values(status="issuing", confirmed_at=datetime.now(UTC), confirmed_by=actor)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


async def batches_issuing(session: AsyncSession) -> list[uuid.UUID]:
    """Confirmed batches not yet done (to resume after a restart)."""
    return list(await session.scalars(select(IssueBatch.id).where(IssueBatch.status == "issuing")))


async def release_claims(session: AsyncSession, batch_id: uuid.UUID) -> None:
    """Give rows claimed by a worker that is gone back to `pending` (at start-up, before this
    process issues anything). Issued again, such a row replays its credential if it had one."""
    await begin_write(session)
    await session.execute(
        update(IssueBatchRow)
        .where(IssueBatchRow.batch_id == batch_id, IssueBatchRow.status == "claimed")
        .values(status="pending", claim=None)
        .execution_options(synchronize_session=False)
    )


async def claim_rows(session: AsyncSession, batch_id: uuid.UUID, limit: int = CHUNK) -> str | None:
    """Claim up to `limit` pending rows under a new claim token (None: none left). Rows another
    worker claimed between the read and the UPDATE are not taken: the UPDATE re-checks."""
    await begin_write(session)
    ids = list(
        await session.scalars(
            select(IssueBatchRow.id)
            .where(IssueBatchRow.batch_id == batch_id, IssueBatchRow.status == "pending")
            .order_by(IssueBatchRow.row_number)
            .limit(limit)
        )
    )
    if not ids:
        return None
    token = secrets.token_hex(16)
    await session.execute(
        update(IssueBatchRow)
        .where(IssueBatchRow.id.in_(ids), IssueBatchRow.status == "pending")
        .values(status="claimed", claim=token)
        .execution_options(synchronize_session=False)
    )
    return token


async def issue_claimed(
    session: AsyncSession, ctx: IssuingContext, issuer: Issuer, batch_id: uuid.UUID, claim: str
) -> int:
    """Issue the rows claimed under `claim` and record each outcome in the same transaction as
    the credentials (the caller commits). Returns how many rows it settled."""
    batch = await session.get(IssueBatch, batch_id)
    if batch is None:
        return 0
    client = await _client_of(session, issuer, batch)
    rows = list(
        await session.scalars(
            select(IssueBatchRow)
            .where(IssueBatchRow.batch_id == batch_id, IssueBatchRow.claim == claim)
            .order_by(IssueBatchRow.row_number)
        )
    )
    outcomes = await issue_batch(
        session, ctx, issuer, client, [award_of(batch_id, row) for row in rows]
    )
    for row, outcome in zip(rows, outcomes, strict=True):
        row.claim = None
        if isinstance(outcome, DomainError):
            row.status = "failed"
            row.errors = [{"column": _column_of(outcome), "message": outcome.detail}]
        else:
            row.status, row.credential_id = "issued", outcome.id
            row.email = None  # the credential is the record now; see the models' docstring
    await session.flush()
    return len(rows)


async def fail_claimed(session: AsyncSession, batch_id: uuid.UUID, claim: str, reason: str) -> None:
    """Settle a claim whose issuing raised (nothing of it was stored) as failed."""
    await begin_write(session)
    await session.execute(
        update(IssueBatchRow)
        .where(IssueBatchRow.batch_id == batch_id, IssueBatchRow.claim == claim)
        .values(status="failed", claim=None, errors=[{"column": "", "message": reason}])
        .execution_options(synchronize_session=False)
    )


async def finish_if_done(session: AsyncSession, batch_id: uuid.UUID) -> bool:
    """Mark the batch done once no row is pending or claimed (True when it is done)."""
    await begin_write(session)
    open_rows = await session.scalar(
        select(func.count())
        .select_from(IssueBatchRow)
        .where(IssueBatchRow.batch_id == batch_id, IssueBatchRow.status.in_(("pending", "claimed")))
    )
    if open_rows:
        return False
    await session.execute(
        update(IssueBatch)
        .where(IssueBatch.id == batch_id, IssueBatch.status == "issuing")
        .values(status="done", finished_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return True


def award_of(batch_id: uuid.UUID, row: IssueBatchRow) -> Award:
    """The award a row asks for, as the batch API would build it from the same values."""
    if row.achievement_id is None:
        raise ValueError(f"row {row.row_number} has no achievement: it was not checked")
    evidence = (
        (Evidence(url=row.evidence_url, narrative=row.evidence_narrative),)
        if row.evidence_url or row.evidence_narrative
        else ()
    )
    request = {
        "achievement": str(row.achievement_id),
        "email": row.email,
        "name": row.name,
        "educator": [row.educator_id, row.state],
        "evidence": [row.evidence_url, row.evidence_narrative],
        "issuedOn": row.issued_on.isoformat() if row.issued_on else None,
    }
    return Award(
        achievement_id=row.achievement_id,
        recipient=Recipient(
            email=row.email,
            educator_id=row.educator_id,
            educator_state=row.state,
            name=row.name,
        ),
        evidence=evidence,
        awarded_date=(
            datetime.combine(row.issued_on, time.min, tzinfo=UTC) if row.issued_on else None
        ),
        idempotency_key=f"batch:{batch_id}:{row.row_number}",
        request_hash=hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest(),
    )


def _column_of(error: DomainError) -> str:
    named = str(error.field[-1]) if error.field else ""
    return {
        "achievementId": "achievement",
        "email": "email",
        "educatorId": "educator_id",
        "state": "state",
        "awardedDate": "issued_on",
    }.get(named, "")


async def _client_of(session: AsyncSession, issuer: Issuer, batch: IssueBatch) -> Client:
    client = await session.get(Client, batch.client_id) if batch.client_id else None
    if client is None:  # deleted since the upload: the console's client takes over
        client = await console_client(session, issuer)
    return client
