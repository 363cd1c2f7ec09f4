"""Content negotiation and the media types the service speaks."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSON_LD = "application/ld+json"
VC_LD_JSON = "application/vc+ld+json"
JWT = "application/jwt"
DID_JSON = "application/did+json"
JWK_SET = "application/jwk-set+json"


def json_ld(document: Any, media_type: str = JSON_LD, *, max_age: int = 300) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type=media_type,
        headers={"Cache-Control": f"public, max-age={max_age}", "Access-Control-Allow-Origin": "*"},
    )


def preferred(request: Request, offered: list[str]) -> str:
    """The offered media type the `Accept` header ranks highest (first offered on ties)."""
    accept = request.headers.get("accept", "")
    best, best_q = offered[0], -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        for candidate in offered:
            if _matches(media.strip().lower(), candidate) and quality > best_q:
                best, best_q = candidate, quality
    return best


def _matches(pattern: str, media: str) -> bool:
    if pattern in ("*/*", media):
        return True
    return pattern.endswith("/*") and media.startswith(pattern[:-1])
