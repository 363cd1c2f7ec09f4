"""CSV exports, streamed: rows are written as the database hands them over, a batch at a
time, so an export of hundreds of thousands of rows never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse

_FLUSH_ROWS = 1000
# A cell a spreadsheet would run as a formula (CSV injection) is written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(
    filename: str, header: Sequence[str], rows: AsyncIterator[Sequence[Any]]
) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        count = 0
        async for row in rows:
            writer.writerow([cell(value) for value in row])
            count += 1
            if count % _FLUSH_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
