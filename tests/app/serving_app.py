"""A tiny ASGI app for the multi-process serving tests: each response names the process that
served it. With SERVING_APP_FAIL set, its start-up fails; with SERVING_APP_STAGGER (a path),
the first process to start is ready at once and the others a second later."""

from __future__ import annotations

import asyncio
import os
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if os.environ.get("SERVING_APP_FAIL"):
                    await send({"type": "lifespan.startup.failed", "message": "broken on purpose"})
                    return
                await _stagger(os.environ.get("SERVING_APP_STAGGER"))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def _stagger(marker: str | None) -> None:
    if marker is None:
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))  # only the first process succeeds
    except FileExistsError:
        await asyncio.sleep(1.0)
