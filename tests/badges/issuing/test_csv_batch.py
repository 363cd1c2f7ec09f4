"""Badges from a spreadsheet: every line checked before anything is issued, and a confirmed
batch issued once, each row once, however many confirm it or work on it at the same time."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from badges.errors import InvalidInput, NotFound
from badges.issuers.issuers import KeyVault
from badges.issuing.csv_batch import MAX_ROWS, FileRefused, Preview, check_rows, read_csv
from badges.issuing.issue_batches import (
    PREVIEW_KEPT,
    claim_rows,
    confirm,
    create_batch,
    discard_unconfirmed,
    finish_if_done,
    get_batch,
    issue_claimed,
    progress,
    release_claims,
)
from badges.issuing.issuing import IssuingContext
from badges.issuing.signing import Signer
from storage.models import Credential, IssueBatchRow, Issuer
from storage.session import transaction
from tests.conftest import Provider

HEADER = "email,name,achievement,evidence_url,evidence_narrative,issued_on"


def lines(text: str, *, whole_batch: bool = False) -> list[dict[str, str]]:
    return read_csv(text.encode(), whole_batch_achievement=whole_batch)


async def checked(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    issuer: Issuer,
    text: str,
    whole_batch: uuid.UUID | None = None,
) -> Preview:
    async with sessions() as session:
        return await check_rows(
            session,
            settings.public_url,
            issuer,
            lines(text, whole_batch=whole_batch is not None),
            whole_batch,
            today=date(2026, 12, 3),
        )


def errors_of(preview: Preview) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in preview.errors]


# --- reading the file ------------------------------------------------------------------------


def test_a_file_saved_with_a_bom_reads_like_one_without():
    text = "Email,Name,Achievement\nana@example.org,Ana,Close Reading\n"

    with_bom = read_csv(b"\xef\xbb\xbf" + text.encode(), whole_batch_achievement=False)
    without = read_csv(text.encode(), whole_batch_achievement=False)

    assert with_bom == without
    assert with_bom[0]["email"] == "ana@example.org"
    assert with_bom[0]["#"] == "2"  # the spreadsheet's row number


def test_blank_lines_are_skipped_and_row_numbers_stay_the_spreadsheets():
    read = lines("email,achievement\r\na@example.org,X\r\n,\r\n\r\nb@example.org,X\r\n")

    assert [(line["#"], line["email"]) for line in read] == [
        ("2", "a@example.org"),
        ("5", "b@example.org"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,achievement\nAna,X\n", "missing column(s): email"),
        ("email,name\na@example.org,Ana\n", "missing column(s): achievement"),
        ("email,achievement,emial\na@example.org,X,\n", "unknown column(s) 'emial'"),
        ("email,Email,achievement\n", "email appear more than once"),
        ("email,achievement\n", "a header but no rows"),
        ("", "the file is empty"),
    ],
)
def test_a_file_without_its_columns_is_refused_as_a_whole(text: str, message: str):
    with pytest.raises(FileRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        lines(text)


def test_the_achievement_column_may_be_left_out_when_the_batch_names_one():
    assert lines("email\na@example.org\n", whole_batch=True)[0]["email"] == "a@example.org"


def test_more_rows_than_the_limit_are_refused():
    text = "email,achievement\n" + "a@example.org,X\n" * (MAX_ROWS + 1)

    with pytest.raises(FileRefused, match="more than 5,000 rows"):
        lines(text)
    assert len(lines("email,achievement\n" + "a@example.org,X\n" * MAX_ROWS)) == MAX_ROWS


def test_a_file_over_two_megabytes_or_not_utf8_is_refused():
    with pytest.raises(FileRefused, match="larger than 2,097,152 bytes"):
        read_csv(b"email,achievement\n" + b"x" * (2 * 1024 * 1024), whole_batch_achievement=False)
    with pytest.raises(FileRefused, match="not UTF-8"):
        read_csv(
            "email,achievement\nné@example.org,X\n".encode("latin-1"), whole_batch_achievement=False
        )


# --- checking every row -------------------------------------------------------------------------


async def test_each_bad_cell_is_reported_with_its_row_and_column(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    achievement = await provider.create_achievement(name="Close Reading")
    text = "\n".join(
        [
            HEADER,
            "ana@example.org,Ana,Close Reading,https://example.org/e,Her lesson,2026-01-15",
            "not-an-address,Ben,Close Reading,,,",
            "cy@example.org,Cy,Unknown Badge,,,",
            f"di@example.org,Di,{achievement['id']},ftp://example.org/x,,",
            "ed@example.org,Ed,close reading,,,2027-01-01",
            "fay@example.org,Fay,Close Reading,,,yesterday",
            "," * 5 + "x" * 10,
        ]
    )

    preview = await checked(sessions, settings, provider.issuer, text)

    assert errors_of(preview) == [
        (3, "email"),
        (4, "achievement"),
        (5, "evidence_url"),
        (6, "issued_on"),
        (7, "issued_on"),
        (8, "email"),
        (8, "issued_on"),
        (8, "achievement"),
    ]
    assert [row.row for row in preview.valid] == [2]
    ana = preview.valid[0]
    assert (ana.achievement_id, ana.issued_on) == (uuid.UUID(achievement["id"]), date(2026, 1, 15))
    assert (
        "no achievement of this issuer is named 'Unknown Badge'"
        in preview.rows[2].errors[0].message
    )


async def test_a_row_repeating_a_recipient_and_achievement_is_flagged(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    achievement = await provider.create_achievement(name="Close Reading")
    other = await provider.create_achievement(name="Other")
    iri = f"{settings.public_url}/achievements/{achievement['id']}"
    text = "\n".join(
        [
            "email,achievement",
            "ana@example.org,Close Reading",
            f"ANA@example.org,{iri}",
            "ana@example.org,Other",
        ]
    )

    preview = await checked(sessions, settings, provider.issuer, text)

    assert errors_of(preview) == [(3, "email")]
    assert preview.rows[1].errors[0].message.startswith("repeats row 2")
    assert preview.rows[2].achievement_id == uuid.UUID(other["id"])


async def test_a_batch_achievement_fills_empty_cells_and_cell_lengths_are_limited(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    achievement = await provider.create_achievement(name="Close Reading")
    text = "\n".join(
        [
            "email,name,educator_id",
            "ana@example.org,Ana,",
            f"ben@example.org,{'B' * 301},",
            "cy@example.org,Cy,12345",
        ]
    )

    preview = await checked(sessions, settings, provider.issuer, text, uuid.UUID(achievement["id"]))

    assert errors_of(preview) == [(3, "name"), (4, "state")]
    assert preview.rows[0].achievement_id == uuid.UUID(achievement["id"])


async def test_a_batch_achievement_not_of_this_issuer_is_refused(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    with pytest.raises(InvalidInput, match="no achievement"):
        await checked(sessions, settings, provider.issuer, "email\na@example.org\n", uuid.uuid4())


# --- issuing once -------------------------------------------------------------------------------


@pytest.fixture
async def ctx(settings: Settings, vault: KeyVault) -> AsyncIterator[IssuingContext]:
    signer = Signer(workers=1)
    yield IssuingContext(settings.public_url, vault, signer)
    signer.close()


async def stored_batch(
    provider: Provider,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    rows: int,
) -> uuid.UUID:
    achievement = await provider.create_achievement(name="Close Reading")
    text = "email,name\n" + "".join(f"t{n}@example.org,Teacher {n}\n" for n in range(rows))
    preview = await checked(sessions, settings, provider.issuer, text, uuid.UUID(achievement["id"]))
    async with transaction(sessions) as session:
        batch = await create_batch(
            session,
            provider.issuer,
            preview,
            filename="cohort.csv",
            created_by="test",
            whole_batch=uuid.UUID(achievement["id"]),
        )
    return batch.id


async def work(
    sessions: async_sessionmaker[AsyncSession],
    ctx: IssuingContext,
    issuer_id: uuid.UUID,
    batch_id: uuid.UUID,
) -> None:
    """What a worker does (app.issue_batches): claim a chunk, issue it, until none is left."""
    while True:
        async with transaction(sessions) as session:
            claim = await claim_rows(session, batch_id, limit=7)
        if claim is None:
            async with transaction(sessions) as session:
                await finish_if_done(session, batch_id)
            return
        async with transaction(sessions) as session:
            issuer = await session.get(Issuer, issuer_id)
            assert issuer is not None
            await issue_claimed(session, ctx, issuer, batch_id, claim)


async def credentials_of(
    sessions: async_sessionmaker[AsyncSession], issuer_id: uuid.UUID
) -> list[Credential]:
    async with sessions() as session:
        return list(
            await session.scalars(select(Credential).where(Credential.issuer_id == issuer_id))
        )


async def test_confirming_twice_at_once_issues_each_row_once(
    provider: Provider,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    ctx: IssuingContext,
):
    batch_id = await stored_batch(provider, sessions, settings, rows=30)

    async def confirm_once() -> bool:
        async with transaction(sessions) as session:
            return await confirm(session, provider.issuer, batch_id, actor="staff")

    confirmed = await asyncio.gather(confirm_once(), confirm_once(), confirm_once())
    # Even two workers at once (two processes, or a confirmation and a restart) issue once.
    await asyncio.gather(
        work(sessions, ctx, provider.issuer.id, batch_id),
        work(sessions, ctx, provider.issuer.id, batch_id),
    )

    assert sorted(confirmed) == [False, False, True]
    issued = await credentials_of(sessions, provider.issuer.id)
    assert len(issued) == 30
    async with sessions() as session:
        batch = await get_batch(session, provider.issuer, batch_id)
        done = await progress(session, batch)
        rows = list(
            await session.scalars(select(IssueBatchRow).where(IssueBatchRow.batch_id == batch_id))
        )
    assert (done.issued, done.failed, done.total, done.status) == (30, 0, 30, "done")
    assert {row.credential_id for row in rows} == {credential.id for credential in issued}
    assert all(row.email is None for row in rows)  # erased once issued
    names = sorted(
        identifier["identityHash"]
        for credential in issued
        for identifier in json.loads(credential.document)["credentialSubject"]["identifier"]
        if identifier["identityType"] == "name"
    )
    assert names == sorted(f"Teacher {n}" for n in range(30))


async def test_a_restart_releases_claims_and_issues_none_twice(
    provider: Provider,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    ctx: IssuingContext,
):
    batch_id = await stored_batch(provider, sessions, settings, rows=10)
    async with transaction(sessions) as session:
        assert await confirm(session, provider.issuer, batch_id, actor="staff")
    # A worker claimed a chunk and issued it, then the process died before the rows'
    # outcomes were written: simulated by issuing the claim and rolling its row updates back.
    async with transaction(sessions) as session:
        claim = await claim_rows(session, batch_id, limit=4)
    assert claim is not None
    async with sessions() as session:
        issuer = await session.get(Issuer, provider.issuer.id)
        assert issuer is not None
        await issue_claimed(session, ctx, issuer, batch_id, claim)
        await session.commit()  # the credentials are stored...
    async with transaction(sessions) as session:  # ...but the rows say "claimed" again
        for row in await session.scalars(
            select(IssueBatchRow).where(
                IssueBatchRow.batch_id == batch_id, IssueBatchRow.status == "issued"
            )
        ):
            row.status, row.claim, row.credential_id = "claimed", "dead-worker", None
            row.email = f"t{row.row_number - 2}@example.org"

    async with transaction(sessions) as session:
        await release_claims(session, batch_id)
    await work(sessions, ctx, provider.issuer.id, batch_id)

    assert len(await credentials_of(sessions, provider.issuer.id)) == 10
    async with sessions() as session:
        done = await progress(session, await get_batch(session, provider.issuer, batch_id))
        linked = await session.scalar(
            select(func.count(func.distinct(IssueBatchRow.credential_id))).where(
                IssueBatchRow.batch_id == batch_id
            )
        )
    assert (done.issued, done.status, linked) == (10, "done", 10)


async def test_a_batch_of_another_issuer_is_not_found_and_cannot_be_confirmed(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    from badges.errors import NotFound

    batch_id = await stored_batch(provider, sessions, settings, rows=1)
    stranger = Issuer(id=uuid.uuid4(), slug="someone-else", name="x")

    async with transaction(sessions) as session:
        with pytest.raises(NotFound):
            await confirm(session, stranger, batch_id, actor="x")


async def test_an_upload_never_confirmed_is_deleted_with_its_addresses_after_a_week(
    provider: Provider, sessions: async_sessionmaker[AsyncSession], settings: Settings
):
    forgotten = await stored_batch(provider, sessions, settings, rows=3)
    confirmed = await stored_batch(provider, sessions, settings, rows=3)
    async with transaction(sessions) as session:
        assert await confirm(session, provider.issuer, confirmed, actor="staff")
    week_later = datetime.now(UTC) + PREVIEW_KEPT + timedelta(minutes=1)

    async with transaction(sessions) as session:
        assert await discard_unconfirmed(session, week_later) >= 1
    async with sessions() as session:
        with pytest.raises(NotFound):
            await get_batch(session, provider.issuer, forgotten)
        await get_batch(session, provider.issuer, confirmed)
        left = await session.scalar(
            select(func.count())
            .select_from(IssueBatchRow)
            .where(IssueBatchRow.batch_id.in_([forgotten, confirmed]))
        )
    assert left == 3  # the confirmed batch's rows, and none of the forgotten one's
    async with transaction(sessions) as session:  # confirming too late finds nothing
        with pytest.raises(NotFound):
            await confirm(session, provider.issuer, forgotten, actor="staff")
