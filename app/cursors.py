"""Opaque page cursors: where the last page ended, the date the query is about, and which
query they belong to, so a cursor pasted onto another query is refused, not misread."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from badges.errors import InvalidInput


@dataclass(frozen=True)
class Cursor:
    position: list[str]
    at: datetime


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(part) for part in parts]).encode()).hexdigest()[:16]


def encode(position: Sequence[str], at: datetime, query: str) -> str:
    document = {"p": list(position), "at": at.isoformat(), "q": query}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def decode(token: str | None, query: str, size: int) -> Cursor | None:
    """The cursor of `query` (a `fingerprint`) with `size` key parts, or a 422."""
    if token is None:
        return None
    refused = InvalidInput("cursor is not one this query returned", field=("cursor",))
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position, at, owner = document["p"], datetime.fromisoformat(document["at"]), document["q"]
    except (ValueError, TypeError, KeyError):
        raise refused from None
    valid = isinstance(position, list) and len(position) == size and at.tzinfo is not None
    if not valid or owner != query or not all(isinstance(item, str) for item in position):
        raise refused
    return Cursor(position, at)
