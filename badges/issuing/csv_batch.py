"""Badges from a spreadsheet (CSV), read and checked: every line with its errors (row
number, column, message), before anything is issued or stored. `issue_batches` keeps the
checked file as a batch and issues it once confirmed.

The limits: at most `MAX_ROWS` rows and `MAX_FILE_BYTES` bytes, and each column's cells at
most `COLUMNS[name]` characters. A line naming the same recipient and achievement as an
earlier one is flagged as a repeat.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from badges.errors import InvalidInput
from badges.issuing.achievements import bare_uuid, own_achievement_id
from badges.issuing.recipients import Recipient, validate_recipient
from formats.identity import normalise_email
from storage.models import Achievement, Issuer

MAX_FILE_BYTES: Final = 2 * 1024 * 1024
MAX_ROWS: Final = 5_000
# The longest value each column takes, in characters.
COLUMNS: Final = {
    "email": 320,
    "name": 300,
    "achievement": 2000,
    "evidence_url": 2000,
    "evidence_narrative": 10_000,
    "issued_on": 10,
    "educator_id": 64,
    "state": 2,
}
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str
    message: str


@dataclass
class CheckedRow:
    row: int
    email: str | None = None
    name: str | None = None
    achievement_id: uuid.UUID | None = None
    achievement_text: str | None = None
    achievement_name: str | None = None
    evidence_url: str | None = None
    evidence_narrative: str | None = None
    issued_on: date | None = None
    educator_id: str | None = None
    state: str | None = None
    errors: list[RowError] = field(default_factory=list)

    def refuse(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))


@dataclass(frozen=True)
class Preview:
    """Every line of a file, checked; nothing is issued or stored yet."""

    rows: list[CheckedRow]

    @property
    def valid(self) -> list[CheckedRow]:
        return [row for row in self.rows if not row.errors]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]


class FileRefused(InvalidInput):
    """The file as a whole cannot be read as a batch (size, encoding, columns, rows)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field=("file",))


# --- reading and checking ------------------------------------------------------------------


def read_csv(data: bytes, *, whole_batch_achievement: bool) -> list[dict[str, str]]:
    """The file's lines as {column: cell}, each with its row number under "#"; the header
    names the columns (any case, spaces for underscores). `FileRefused` when the file as a
    whole is unusable."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(
            f"the file is larger than {MAX_FILE_BYTES:,} bytes (2 MB), the most read; split it"
        )
    try:
        text = data.decode("utf-8-sig")  # a BOM (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as error:
        raise FileRefused(
            f"the file is not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FileRefused("the file is empty: the first row must name the columns")
        columns = _columns(header, whole_batch_achievement)
        lines: list[dict[str, str]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            if len(lines) == MAX_ROWS:
                raise FileRefused(f"the file has more than {MAX_ROWS:,} rows; split it")
            line = {"#": str(reader.line_num)}
            if len(cells) > len(columns):
                line["#extra"] = str(len(cells))
            for name, cell in zip(columns, cells, strict=False):
                line[name] = cell
            lines.append(line)
    except csv.Error as error:
        raise FileRefused(f"row {reader.line_num} cannot be read as CSV: {error}") from None
    if not lines:
        raise FileRefused("the file has a header but no rows")
    return lines


def _columns(header: list[str], whole_batch_achievement: bool) -> list[str]:
    names = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in header]
    unknown = [cell for cell, name in zip(header, names, strict=True) if name not in COLUMNS]
    if unknown:
        raise FileRefused(
            f"unknown column(s) {', '.join(repr(cell) for cell in unknown)}; the columns are "
            f"{', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRefused(f"column(s) {', '.join(repeated)} appear more than once")
    missing = ["email"] if "email" not in names else []
    if "achievement" not in names and not whole_batch_achievement:
        missing.append("achievement")
    if missing:
        more = (
            " (or choose one achievement for the whole batch)" if "achievement" in missing else ""
        )
        raise FileRefused(f"missing column(s): {', '.join(missing)}{more}")
    return names


async def check_rows(
    session: AsyncSession,
    public_url: str,
    issuer: Issuer,
    lines: Sequence[dict[str, str]],
    whole_batch: uuid.UUID | None = None,
    today: date | None = None,
) -> Preview:
    """Check every line (each error with its row and column), resolve achievements, and flag
    a line naming the same recipient and achievement as an earlier one."""
    today = today or datetime.now(UTC).date()
    finder = _Achievements(session, public_url, issuer)
    batch_default = await finder.by_id(whole_batch) if whole_batch else None
    if whole_batch is not None and isinstance(batch_default, str):
        raise InvalidInput(batch_default, field=("achievement",))
    rows: list[CheckedRow] = []
    seen: dict[tuple[str, uuid.UUID], int] = {}
    for line in lines:
        row = CheckedRow(int(line["#"]))
        if "#extra" in line:
            row.refuse("", f"has {line['#extra']} cells, more than the header's columns")
        cells = {name: line.get(name, "").strip() for name in COLUMNS}
        for name, cell in cells.items():
            _check_cell(row, name, cell)
        if not row.errors:
            _check_recipient(row, cells)
            _check_evidence(row, cells)
            _check_date(row, cells["issued_on"], today)
            await _check_achievement(row, cells["achievement"], finder, batch_default)
        if row.email and row.achievement_id:
            key = (normalise_email(row.email), row.achievement_id)
            if key in seen:
                row.refuse("email", f"repeats row {seen[key]}: the same recipient and achievement")
            else:
                seen[key] = row.row
        rows.append(row)
    return Preview(rows)


def _check_cell(row: CheckedRow, name: str, cell: str) -> None:
    if len(cell) > COLUMNS[name]:
        row.refuse(name, f"is {len(cell):,} characters long; at most {COLUMNS[name]:,}")
        return
    found = (_TEXT if name == "evidence_narrative" else _ONE_LINE).search(cell)
    if found is not None:
        row.refuse(name, f"holds an invisible control character (U+{ord(found.group()):04X})")


def _check_recipient(row: CheckedRow, cells: dict[str, str]) -> None:
    if not cells["email"]:
        row.refuse("email", "is empty: every row needs the recipient's e-mail address")
    else:
        try:
            row.email = validate_email(cells["email"], check_deliverability=False).normalized
        except EmailNotValidError as error:
            row.refuse("email", f"is not an e-mail address: {error}")
    row.name = cells["name"] or None
    row.educator_id = cells["educator_id"] or None
    row.state = cells["state"].upper() or None
    try:
        validate_recipient(
            Recipient(
                email=row.email or "unchecked@example.org",
                educator_id=row.educator_id,
                educator_state=row.state,
                name=row.name,
            )
        )
    except InvalidInput as error:
        column = {"state": "state", "educatorId": "educator_id"}.get(
            str(error.field[-1]) if error.field else "", "educator_id"
        )
        row.refuse(column, error.detail.replace("educatorId", "educator_id"))


def _check_evidence(row: CheckedRow, cells: dict[str, str]) -> None:
    url = cells["evidence_url"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
            row.refuse("evidence_url", "must be a web address starting with https:// or http://")
        else:
            row.evidence_url = url
    row.evidence_narrative = cells["evidence_narrative"] or None


def _check_date(row: CheckedRow, cell: str, today: date) -> None:
    if not cell:
        return
    try:
        day = date.fromisoformat(cell)
    except ValueError:
        row.refuse("issued_on", "must be a date written YYYY-MM-DD")
        return
    if day > today:
        row.refuse("issued_on", "is in the future")
    elif day.year < 1900:
        row.refuse("issued_on", "is before 1900")
    else:
        row.issued_on = day


async def _check_achievement(
    row: CheckedRow, cell: str, finder: _Achievements, batch_default: Achievement | str | None
) -> None:
    if not cell:
        if isinstance(batch_default, Achievement):
            row.achievement_id, row.achievement_name = batch_default.id, batch_default.name
        else:
            row.refuse("achievement", "is empty and no achievement was chosen for the batch")
        return
    row.achievement_text = cell
    found = await finder.named(cell)
    if isinstance(found, str):
        row.refuse("achievement", found)
    else:
        row.achievement_id, row.achievement_name = found.id, found.name


class _Achievements:
    """The issuer's achievements a file names, by UUID, IRI or exact name, each looked up once."""

    def __init__(self, session: AsyncSession, public_url: str, issuer: Issuer) -> None:
        self._session, self._public_url, self._issuer = session, public_url, issuer
        self._names: dict[str, list[Achievement]] | None = None
        self._found: dict[str, Achievement | str] = {}

    async def named(self, value: str) -> Achievement | str:
        if value not in self._found:
            named = bare_uuid(value) or own_achievement_id(self._public_url, value)
            if named is not None:
                self._found[value] = await self.by_id(named)
            else:
                self._found[value] = await self._by_name(value)
        return self._found[value]

    async def by_id(self, achievement_id: uuid.UUID) -> Achievement | str:
        row = await self._session.get(Achievement, achievement_id)
        if row is None or row.issuer_id != self._issuer.id:
            return f"no achievement {achievement_id} of this issuer"
        if row.archived_at is not None:
            return f"{row.name!r} is archived and no longer awarded"
        if not row.is_current:
            return f"names a superseded revision of {row.name!r}; use the current one"
        return row

    async def _by_name(self, value: str) -> Achievement | str:
        if self._names is None:
            rows = await self._session.scalars(
                select(Achievement).where(
                    Achievement.issuer_id == self._issuer.id,
                    Achievement.is_current.is_(True),
                    Achievement.archived_at.is_(None),
                )
            )
            self._names = {}
            for achievement in rows:
                self._names.setdefault(achievement.name.strip().casefold(), []).append(achievement)
        found = self._names.get(value.casefold(), [])
        if len(found) > 1:
            return f"{len(found)} achievements are named {value!r}; give its UUID instead"
        if not found:
            return f"no achievement of this issuer is named {value!r} (nor has that UUID or IRI)"
        return found[0]
