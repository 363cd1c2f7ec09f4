"""A request-body size limit enforced before the body is read into memory."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.imsx import IMS_PREFIX, status_info


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
    if path.startswith(IMS_PREFIX):
        media_type = b"application/json"
        document = status_info(detail, "invalid_data")
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
