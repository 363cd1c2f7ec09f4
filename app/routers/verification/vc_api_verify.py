"""W3C VC-API verifier: `POST /credentials/verify` and `POST /presentations/verify`.

Both answer 200 with `{"verified": true, "checks", "warnings", "errors": []}` when verified
and 400 with `"verified": false` and the errors when not (the VC-API's "invalid input").
`checks` names the checks that passed; each warning and error is
`{"check", "title", "status", "message"}` (`status` "failed": the credential is at fault,
"error": it could not be checked). `verdict` adds the OB verdict (revoked, expired...).
A request that cannot be read is a problem+json (422; 400 when the body is not JSON) that
also says `"verified": false`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.deps import State
from app.problems import PROBLEM_JSON, domain_problem, validation_errors
from badges.errors import DomainError, InvalidInput
from schemas.api.verify import VcApiVerifyCredentialIn, VcApiVerifyPresentationIn
from verification.inputs import InputError
from verification.presentation import (
    ContainedCredential,
    PresentationOptions,
    PresentationVerifier,
    enveloped_jwt,
)
from verification.report import CheckResult, CheckStatus, VerificationReport


class _VcApiRoute(APIRoute):
    """Renders a request that cannot be read as problem+json that, like every VC-API
    answer, also says `"verified": false`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_refusing(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as error:
                errors = validation_errors(error.errors())
                names = ", ".join(item["field"] or "body" for item in errors[:5])
                body = {
                    "type": "about:blank",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": f"invalid or missing: {names}",
                    "errors": errors,
                }
                return _refusal(body)
            except DomainError as error:
                return _refusal(domain_problem(error))
            except HTTPException as error:
                if error.status_code != 400:
                    raise
                # The body is not JSON at all (or nests past the parser's limit).
                detail = str(error.detail)
                return _refusal(
                    {"type": "about:blank", "title": "Bad request", "status": 400, "detail": detail}
                )

        return handle_refusing


def _refusal(problem: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {**problem, "verified": False}, status_code=problem["status"], media_type=PROBLEM_JSON
    )


router = APIRouter(tags=["vc-api"], route_class=_VcApiRoute)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Verified"},
    400: {"description": "Not verified: `verified` is false and `errors` say why"},
    422: {"description": "The request could not be read (problem+json)"},
}


async def presentation_verifier(state: State) -> PresentationVerifier:
    """The credential verifier, and holder keys resolved the way it resolves issuer keys."""
    return PresentationVerifier(state.verifier, state.verifier.resolver)


Presentations = Annotated[PresentationVerifier, Depends(presentation_verifier)]


def _entry(check: CheckResult) -> dict[str, str]:
    return {
        "check": check.id,
        "title": check.title,
        "status": check.status.value,
        "message": check.message,
    }


def vc_api_result(checks: Sequence[CheckResult], verified: bool) -> dict[str, Any]:
    """The VC-API `VerificationResult` of a list of checks."""
    return {
        "verified": verified,
        "checks": [check.id for check in checks if check.status is CheckStatus.PASSED],
        "warnings": [_entry(check) for check in checks if check.status is CheckStatus.WARNING],
        "errors": [
            _entry(check)
            for check in checks
            if check.status in (CheckStatus.FAILED, CheckStatus.ERROR)
        ],
    }


def _credential_result(report: VerificationReport) -> dict[str, Any]:
    return {**vc_api_result(report.checks, report.verified), "verdict": report.verdict.value}


def _contained_result(entry: ContainedCredential) -> dict[str, Any]:
    if entry.report is not None:
        return {"index": entry.index, **_credential_result(entry.report)}
    unreadable = {"check": "parse", "title": "Credential format", "status": "failed"}
    return {
        "index": entry.index,
        "verified": False,
        "checks": [],
        "warnings": [],
        "errors": [{**unreadable, "message": entry.problem or "cannot be read"}],
        "verdict": "invalid",
    }


def _answer(result: dict[str, Any]) -> JSONResponse:
    return JSONResponse(result, status_code=200 if result["verified"] else 400)


@router.post("/credentials/verify", response_class=JSONResponse, responses=_RESPONSES)
async def verify_credential(body: VcApiVerifyCredentialIn, state: State) -> JSONResponse:
    """W3C VC-API: verify a credential (embedded proof, enveloped VC-JWT, or a VC-JWT)."""
    presented = body.verifiable_credential
    try:
        jwt = enveloped_jwt(presented) if isinstance(presented, dict) else None
        report = await state.verifier.verify(jwt if jwt is not None else presented)
    except InputError as error:
        raise InvalidInput(str(error), field=("verifiableCredential",)) from None
    return _answer(_credential_result(report))


@router.post("/presentations/verify", response_class=JSONResponse, responses=_RESPONSES)
async def verify_presentation(
    body: VcApiVerifyPresentationIn, presentations: Presentations
) -> JSONResponse:
    """W3C VC-API: verify a presentation (signed for `authentication`, or unsigned) and every
    credential in it; `options.challenge` and `options.domain` must match a signed proof's."""
    as_vp = body.verifiable_presentation is not None
    field = "verifiablePresentation" if as_vp else "presentation"
    options = PresentationOptions(body.options.challenge, body.options.domain)
    try:
        report = await presentations.verify(
            body.verifiable_presentation if as_vp else body.presentation, options
        )
    except InputError as error:
        raise InvalidInput(str(error), field=(field,)) from None
    result = vc_api_result(report.checks, report.verified)
    result["credentialResults"] = [_contained_result(entry) for entry in report.credentials]
    return _answer(result)
