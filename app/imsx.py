"""`Imsx_StatusInfo` error bodies for the OB 3.0 REST API (`/ims/...`), OB 3.0 §6.

The rest of the service answers errors as RFC 9457 problems (`app.problems`); under `/ims/`
the same errors (domain errors, request validation, HTTP errors, unexpected failures) are
rendered as the 1EdTech status object instead. `install` wraps the handlers already
registered, so the two renderings cannot drift apart on which errors they catch.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app.problems import TOO_DEEP, field_path
from badges.errors import DomainError

IMS_PREFIX: Final = "/ims/"
logger = logging.getLogger("lattice")

# HTTP status -> imsx_codeMinorFieldValue (the enumeration in the Imsx_StatusInfo schema).
_CODE_MINOR: Final = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    413: "invalid_data",
    415: "not_acceptable",
    422: "invalid_data",
    429: "server_busy",
    500: "internal_server_error",
    503: "server_busy",
}


class ImsxError(Exception):
    """An error of the OB 3.0 API, with the code minor the spec's vocabulary gives it."""

    def __init__(
        self,
        status_code: int,
        description: str,
        code_minor: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.description = description
        self.code_minor = code_minor or _CODE_MINOR.get(status_code, "unknown")
        self.headers = headers


def status_info(description: str, code_minor: str) -> dict[str, Any]:
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": code_minor,
                }
            ]
        },
    }


def imsx_response(error: ImsxError) -> JSONResponse:
    return JSONResponse(
        status_info(error.description, error.code_minor),
        status_code=error.status_code,
        headers=error.headers,
    )


def _as_imsx(error: Exception) -> ImsxError:
    if isinstance(error, ImsxError):
        return error
    if isinstance(error, DomainError):
        # The OB API lists 400 for bad data; 422 is this service's own REST convention.
        status = 400 if error.status_code == 422 else error.status_code
        where = f"{field_path(error.field)}: " if error.field else ""
        return ImsxError(status, where + error.detail)
    if isinstance(error, RequestValidationError):
        problems = error.errors()
        in_query = any(item.get("loc", ("",))[0] == "query" for item in problems)
        names = ", ".join(
            field_path([part for part in item.get("loc", ()) if part != "body"]) or "body"
            for item in problems[:5]
        )
        code = "invalid_query_parameter" if in_query else "invalid_data"
        return ImsxError(400, f"invalid or missing: {names}", code)
    if isinstance(error, HTTPException):
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        return ImsxError(error.status_code, detail, headers=dict(error.headers or {}))
    if isinstance(error, RecursionError):
        return ImsxError(400, TOO_DEEP)
    logger.exception("unhandled error", exc_info=error)
    return ImsxError(500, "the service failed; the request was not applied")


def install(app: FastAPI) -> None:
    """Render errors under `/ims/` as Imsx_StatusInfo; call after `problems.install`."""
    kinds = (ImsxError, DomainError, RequestValidationError, HTTPException, RecursionError)
    for kind in (*kinds, Exception):
        app.add_exception_handler(kind, _scoped(app.exception_handlers.get(kind)))


def _scoped(fallback: Any) -> Any:
    async def handle(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(IMS_PREFIX) or fallback is None:
            return imsx_response(_as_imsx(error))
        response: Response = await fallback(request, error)
        return response

    return handle
