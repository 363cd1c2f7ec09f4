"""`POST /v1/verify`: the public verifier, for a credential object, a JWT, a URL or a file."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.declared import request_body
from app.deps import State
from app.problems import domain_problem, problem, validation_errors
from badges.errors import DomainError, InvalidInput
from badges.issuing.receipts import (
    REJECTED,
    ReceiptEntry,
    issue_receipt,
    presented_digest,
    receipt_entry,
)
from schemas.api.hand_read import VerifyUploadIn
from schemas.api.verify import RecipientQueryIn, VerifyBatchIn, VerifyIn
from verification.context import RecipientQuery
from verification.fetch import FetchError
from verification.inputs import InputError, Presented, read_presented
from verification.local import StoredCredential
from verification.report import VerificationReport

router = APIRouter(tags=["verify"])
logger = logging.getLogger(__name__)
MAX_BATCH_ITEMS: Final = 500
# Items verified at once in one batch: enough to overlap fetches, few enough to share the CPU.
BATCH_CONCURRENCY: Final = 16


def _recipient(query: RecipientQueryIn | None) -> RecipientQuery | None:
    if query is None:
        return None
    return RecipientQuery(
        email=str(query.email) if query.email else None,
        educator_id=query.educator_id,
        state=query.state,
        did=query.did,
    )


def _stored(stored: StoredCredential | None, url: str, wants_jwt: bool) -> Presented:
    if stored is None:
        raise InvalidInput(f"{url} names no credential of this service", field=("url",))
    return read_presented(stored.jwt if wants_jwt and stored.jwt else stored.document)


async def own_credential(state: State, url: str) -> Presented | None:
    """This service's own credential URL, read from the store rather than fetched."""
    reference = state.own_credentials.reference(url)
    if reference is None:
        return None
    stored = await state.own_credentials.get(reference.credential_id)
    return _stored(stored, url, reference.wants_jwt)


async def _presented(
    request: Request, state: State
) -> tuple[Presented | str, RecipientQuery | None]:
    """What to verify (a Presented, or a foreign URL to fetch) and the optional recipient."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("upload the badge as the form field `file`", field=("file",))
        data = await upload.read()
        email = form.get("email")
        recipient = RecipientQuery(email=str(email)) if isinstance(email, str) and email else None
        return _read(data, "file"), recipient
    try:
        body = VerifyIn.model_validate_json(await request.body())
    except ValidationError as error:
        raise _invalid(error, "body") from None
    recipient = _recipient(body.recipient)
    if body.credential is not None:
        return _read(body.credential, "credential"), recipient
    if body.jwt is not None:
        return _read(body.jwt, "jwt"), recipient
    url = str(body.url)
    own = await own_credential(state, url)
    return (own or url), recipient


def _invalid(error: ValidationError, whole: str) -> InvalidInput:
    """The first validation error, naming its field (or `whole` when it is the whole input)."""
    first = validation_errors(error.errors())[0]
    return InvalidInput(
        f"{first['field'] or whole}: {first['detail']}",
        field=(first["field"],) if first["field"] else None,
    )


def _read(data: bytes | str | dict[str, Any], field: str) -> Presented:
    try:
        return read_presented(data)
    except InputError as error:
        raise InvalidInput(str(error), field=(field,)) from None


async def run_verification(request: Request, state: State) -> VerificationReport:
    presented, recipient = await _presented(request, state)
    return await verify_presented(state, presented, recipient)


async def verify_presented(
    state: State, presented: Presented | str, recipient: RecipientQuery | None = None
) -> VerificationReport:
    """Verify a read credential, or fetch a foreign URL first (InvalidInput if it fails).

    Shared by the JSON API and the HTML pages, so both give the same answer.
    """
    if isinstance(presented, str):
        try:
            return await state.verifier.verify_url(presented, recipient=recipient)
        except FetchError as error:
            raise InvalidInput(f"could not fetch the credential: {error}", field=("url",)) from None
        except InputError as error:
            raise InvalidInput(
                f"{presented} did not return a credential: {error}", field=("url",)
            ) from None
    return await state.verifier.verify(presented, recipient=recipient)


@router.post(
    "/v1/verify",
    summary="Verify an Open Badges 3.0 credential",
    response_class=JSONResponse,
    # Read by hand (`_presented`): the content type decides between the two.
    openapi_extra=request_body(
        {"application/json": VerifyIn, "multipart/form-data": VerifyUploadIn}
    ),
)
async def verify(request: Request, state: State) -> JSONResponse:
    """Verify a credential from any OB 3.0 issuer: JSON `{"credential"|"jwt"|"url"}` with an
    optional `recipient`, or a multipart `file` (.json, .jwt, baked .png or .svg).

    The answer is a report: the verdict, every check with a sentence, and display data.
    """
    report = await run_verification(request, state)
    return _json_response(report.to_json())


@router.post(
    "/v1/verify:batch",
    summary="Verify up to 500 credentials",
    response_class=JSONResponse,
    responses={413: {"description": "More than 500 items (problem+json naming `items`)"}},
)
async def verify_batch(body: VerifyBatchIn, state: State) -> JSONResponse:
    """Verify up to 500 credentials, each item `{"credential"|"jwt"|"url", "recipient"?}` as
    for `POST /v1/verify`: each gets its own report, or its own problem if it cannot be read.

    With `"receipt": true` the answer also holds a receipt: a credential signed by the
    service recording what was verified, when, and each verdict.
    """
    if len(body.items) > MAX_BATCH_ITEMS:
        return problem(
            413,
            "Content too large",
            f"a batch holds at most {MAX_BATCH_ITEMS} items",
            errors=[{"field": "items", "detail": f"{len(body.items)} > {MAX_BATCH_ITEMS}"}],
        )
    items = [_batch_item(raw) for raw in body.items]
    stored = await _stored_credentials(state, items)
    bound = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(index: int, item: VerifyIn | DomainError) -> VerificationReport | DomainError:
        if isinstance(item, DomainError):
            return item
        async with bound:
            try:
                presented = _item_presented(item, state, stored)
                return await verify_presented(state, presented, _recipient(item.recipient))
            except DomainError as error:
                return error
            except Exception:
                logger.exception("verifying batch item %d failed", index)
                return _ItemFailed("the verifier failed on this item (logged)")

    outcomes = await asyncio.gather(*(one(index, item) for index, item in enumerate(items)))
    verified_at = datetime.now(UTC)
    verdicts = Counter(_verdict(outcome) for outcome in outcomes)
    answer: dict[str, Any] = {
        "summary": {"total": len(outcomes), "verdicts": dict(verdicts)},
        "results": [_batch_result(index, outcome) for index, outcome in enumerate(outcomes)],
    }
    if body.receipt:
        entries = [
            _receipt_entry(*triple) for triple in zip(body.items, items, outcomes, strict=True)
        ]
        answer["receipt"] = await issue_receipt(state.sessions, state.issuing, entries, verified_at)
    return _json_response(answer)


def _json_response(answer: dict[str, Any]) -> JSONResponse:
    # The report is plain JSON data already, so it skips FastAPI's jsonable_encoder walk.
    try:
        return JSONResponse(answer)
    except ValueError:
        # A fetched credential held NaN or Infinity, which JSON cannot carry: send null.
        return JSONResponse(_finite(answer))


class _ItemFailed(DomainError):
    status_code = 500
    title = "Internal error"


def _batch_item(raw: Any) -> VerifyIn | DomainError:
    try:
        return VerifyIn.model_validate(raw)
    except ValidationError as error:
        return _invalid(error, "item")


async def _stored_credentials(
    state: State, items: Sequence[VerifyIn | DomainError]
) -> dict[uuid.UUID, StoredCredential]:
    """This service's credentials named by URL in `items`, read in one query."""
    wanted = set()
    for item in items:
        if isinstance(item, VerifyIn) and item.url is not None:
            reference = state.own_credentials.reference(str(item.url))
            if reference is not None:
                wanted.add(reference.credential_id)
    return await state.own_credentials.get_many(wanted) if wanted else {}


def _item_presented(
    item: VerifyIn, state: State, stored: dict[uuid.UUID, StoredCredential]
) -> Presented | str:
    if item.credential is not None:
        return _read(item.credential, "credential")
    if item.jwt is not None:
        return _read(item.jwt, "jwt")
    url = str(item.url)
    reference = state.own_credentials.reference(url)
    if reference is None:
        return url
    try:
        return _stored(stored.get(reference.credential_id), url, reference.wants_jwt)
    except InputError as error:
        raise InvalidInput(str(error), field=("url",)) from None


def _verdict(outcome: VerificationReport | DomainError) -> str:
    return outcome.verdict.value if isinstance(outcome, VerificationReport) else REJECTED


def _batch_result(index: int, outcome: VerificationReport | DomainError) -> dict[str, Any]:
    if isinstance(outcome, VerificationReport):
        return {"index": index, "status": 200, "report": outcome.to_json()}
    return {"index": index, "status": outcome.status_code, "problem": domain_problem(outcome)}


def _receipt_entry(
    raw: Any, item: VerifyIn | DomainError, outcome: VerificationReport | DomainError
) -> ReceiptEntry:
    """What the receipt says of one item: its id (or URL, or digest) and its verdict."""
    credential = outcome.credential if isinstance(outcome, VerificationReport) else None
    credential_id = credential.get("id") if credential else None
    verdict = _verdict(outcome)
    if isinstance(item, VerifyIn) and item.url is not None:
        return receipt_entry(verdict, credential_id=credential_id, url=str(item.url), digest=None)
    if isinstance(item, VerifyIn):
        shown: Any = item.jwt if item.jwt is not None else item.credential
    else:
        shown = raw
    return receipt_entry(verdict, credential_id=credential_id, digest=presented_digest(shown))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
