"""Limits on request bodies: their size, enforced before the body is read into memory, and
how deeply their JSON nests, checked before anything parses it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from itertools import accumulate, count
from operator import sub
from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.imsx import IMS_PREFIX, status_info
from app.problems import field_path
from badges.errors import InvalidInput
from badges.issuing.data_model import MAX_DEPTH


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI, reading the body, passes it on unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than this endpoint's limit of {limit} bytes"
        )


class BodySizeLimit:
    """Refuses bodies over a limit (per path: batches may be larger) with 413 problem+json
    (an `Imsx_StatusInfo` under the OB 3.0 API's `/ims/`).

    Checks `Content-Length` first, then counts streamed chunks, so a chunked upload that
    lies about its size is cut off as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, scope["path"])
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit, scope["path"])


async def _refuse(send: Send, limit: int, path: str) -> None:
    detail = f"the request body is larger than this endpoint's limit of {limit} bytes"
    if path.startswith("/console/"):
        # A person sent a form from a browser: a page that says what to do, not JSON.
        media_type, body = b"text/html; charset=utf-8", _too_large_page(limit, path)
    elif path.startswith(IMS_PREFIX):
        media_type = b"application/json"
        body = json.dumps(status_info(detail, "invalid_data")).encode()
    else:
        media_type = b"application/problem+json"
        document = {"type": "about:blank", "title": "Content too large", "status": 413}
        document["detail"] = detail
        body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large_page(limit: int, path: str) -> bytes:
    megabytes = limit / 1_000_000
    form = html.escape(path, quote=True)  # the form's own page is its path, read with GET
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>File too large · Lattice</title></head><body>"
        "<h1>That file is too large</h1>"
        f"<p>This form takes up to {megabytes:.1f} MB. Nothing was saved. Split the file into "
        "smaller ones and send each on its own.</p>"
        f'<p><a href="{form}">Back to the form</a></p></body></html>'
    ).encode()


# --- nesting ---------------------------------------------------------------------------------
# Every JSON parser and walker of this service (json, pydantic, JSON-LD, our own) recurses
# once per level, so a body nested 10,000 deep would exhaust the stack wherever it is read.
# The limit is the VC-API issuer's for a credential (badges.issuing.data_model.MAX_DEPTH): each
# top-level member of a body nests at most MAX_DEPTH levels, the member itself counted.
MAX_BODY_DEPTH: Final = MAX_DEPTH + 1  # + the body's own object or array
# Bodies that are never JSON: forms and files (binary bytes would count as brackets).
_NOT_JSON: Final = (
    "multipart/",
    "application/x-www-form-urlencoded",
    "image/",
    "application/octet-stream",
)
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_TOKEN: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_BRACKETS: Final = b"[]{}"
_OTHER_BYTES: Final = bytes(byte for byte in range(256) if byte not in _BRACKETS)
_STEP: Final = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # +1 and -1, each plus one


class TooDeeplyNested(InvalidInput, HTTPException):
    """A 422 naming the top-level member at fault. Also an HTTPException, so that FastAPI,
    reading the body, passes it on unchanged (it turns any other error into a bare 400)."""

    def __init__(self, member: tuple[str | int, ...]) -> None:
        where = field_path(member) or "the body"
        detail = f"{where} nests objects and arrays more than {MAX_DEPTH} levels deep"
        HTTPException.__init__(self, InvalidInput.status_code, detail)
        self.field = member or None  # what InvalidInput's own constructor would set


def deepest_nesting(body: bytes) -> int:
    """How many levels of objects and arrays `body` nests, read as JSON (strings skipped)."""
    brackets = _outside_strings(body).translate(None, _OTHER_BYTES)
    # Counted in C: each opening bracket is +1, each closing one -1.
    levels = accumulate(brackets.translate(_STEP))
    return max(map(sub, levels, count(1)), default=0)


def _outside_strings(body: bytes) -> bytes:
    if b'\\"' not in body:  # no escaped quote: every other quote opens a string (fast)
        return b"".join(body.split(b'"')[0::2])
    return _STRING.sub(b"", body)


def too_deep_member(body: bytes, limit: int = MAX_BODY_DEPTH) -> tuple[str | int, ...] | None:
    """None if `body` nests at most `limit` levels; otherwise the top-level member (a key, or
    an index of a top-level array) where it first goes deeper (`()`: none, e.g. `[[[[`)."""
    if body.count(b"[") + body.count(b"{") <= limit or deepest_nesting(body) <= limit:
        return None
    depth = 0
    member: tuple[str | int, ...] = ()
    in_object = expecting_key = False
    index = 0
    for match in _TOKEN.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return member
            if depth == 1:
                in_object = expecting_key = token == b"{"
                member = () if in_object else (0,)
        elif token in (b"]", b"}"):
            depth -= 1
        elif depth == 1 and token == b",":
            index += 1
            expecting_key = in_object
            member = member if in_object else (index,)
        elif depth == 1 and expecting_key:
            member, expecting_key = (_key(token),), False
    return member


def _key(token: bytes) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        key = token[1:-1].decode("utf-8", "replace")
    return str(key)[:100]


def _may_be_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
    return not content_type.strip().startswith(_NOT_JSON)


class NestingLimit:
    """Refuses a body whose JSON nests deeper than MAX_BODY_DEPTH, as `TooDeeplyNested`
    raised where the route reads the body: a 422 problem naming the member (an
    `Imsx_StatusInfo` 400 under `/ims/`), whoever parses it next and however."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_DEPTH) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_be_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checking_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    member = too_deep_member(b"".join(chunks), self.limit)
                    chunks.clear()
                    if member is not None:
                        raise TooDeeplyNested(member)
            return message

        await self.app(scope, checking_receive, send)
