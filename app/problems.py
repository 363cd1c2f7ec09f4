"""RFC 9457 problem+json responses for every error the service returns.

Domain errors carry their HTTP status and the field at fault; request validation errors
(pydantic) list every field; anything unexpected is logged and answered with a bare 500
problem that leaks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from badges.errors import DomainError

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("lattice")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """`("recipient", "email")` → `recipient.email`; `("items", 3, "x")` → `items[3].x`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def domain_problem(error: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
    }
    if error.field:
        body["errors"] = [{"field": field_path(error.field), "detail": error.detail}]
    return body


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse(
        domain_problem(error), status_code=error.status_code, media_type=PROBLEM_JSON
    )


# Where FastAPI says a value came from, first in its location: not part of the field's name.
_SOURCES: Final = ("query", "path", "header", "cookie")


def validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    errors = []
    for item in raw:
        # FastAPI prefixes the location with where it came from (body, query, header...).
        loc = [part for part in item.get("loc", ()) if part not in ("body",)]
        if loc and loc[0] in _SOURCES and len(loc) > 1:
            loc = loc[1:]
        errors.append({"field": field_path(loc), "detail": item.get("msg", "invalid")})
    return errors


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = validation_errors(error.errors())
    names = ", ".join(item["field"] or "body" for item in errors[:5])
    return problem(422, "Invalid request", f"invalid or missing: {names}", errors=errors)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        406: "Not acceptable",
        413: "Content too large",
        415: "Unsupported media type",
    }
    return problem(
        error.status_code,
        title.get(error.status_code, "Error"),
        detail,
        headers=dict(error.headers or {}),
    )


# The body guard (app.limits.NestingLimit) keeps JSON bodies shallow, but data can nest
# inside other data (a JWT's payload, a credential baked into an image): whatever recursion
# it drives past the interpreter's limit is the input's depth, not a fault of the service.
TOO_DEEP: Final = "the request nests data too deeply to be read"


async def _too_deep(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RecursionError)
    return problem(422, "Invalid input", TOO_DEEP)


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=error)
    return problem(500, "Internal error", "the service failed; the request was not applied")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(Exception, _unexpected)
