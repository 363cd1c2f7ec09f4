"""Issuing credentials (single, batch, W3C VC-API) and serving them by URL."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Annotated, TypeGuard

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.declared import request_body
from app.deps import Provider, RequireScopes, Session, State, issuer_of
from app.negotiation import JWT, VC_LD_JSON, preferred
from app.problems import domain_problem, problem, validation_errors
from app.routers.pages import credential_page, prefers_html
from app.state import ServiceState
from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuing.achievements import (
    bare_uuid,
    own_achievement_id,
)
from badges.issuing.credential_document import Evidence
from badges.issuing.issuing import (
    Award,
    IssuedCredential,
    issue_batch,
    issue_credential,
)
from badges.issuing.recipients import Recipient
from badges.issuing.results import ResultInput
from badges.issuing.supplied import issue_supplied
from badges.wallets.claims import (
    Claim,
    ClaimContext,
    send_claims,
)
from schemas.api.credentials import AwardIn, BatchIn, BatchItemIn, VcApiIssueIn
from storage.models import Credential

router = APIRouter(tags=["credentials"])
Issuing = Annotated[Provider, Depends(RequireScopes("credentials:issue"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def own_achievement(public_url: str, value: str) -> uuid.UUID:
    """The achievement an award names, by its UUID or its IRI on this service."""
    named = bare_uuid(value) or own_achievement_id(public_url, value)
    if named is None:
        raise InvalidInput(
            "achievementId must name one of this service's achievements: its UUID or its IRI"
            f" ({public_url}/achievements/<uuid>)",
            field=("achievementId",),
        )
    return named


def to_award(body: AwardIn, idempotency_key: str | None, public_url: str) -> Award:
    recipient = body.recipient
    achievement = own_achievement(public_url, body.achievement_id)
    body = body.model_copy(update={"achievement_id": str(achievement)})  # one form, one hash
    return Award(
        achievement_id=achievement,
        recipient=Recipient(
            email=str(recipient.email) if recipient.email else None,
            educator_id=recipient.educator_id,
            educator_state=recipient.state,
            name=recipient.name,
            did=recipient.did,
        ),
        evidence=tuple(
            Evidence(
                str(item.url) if item.url else None,
                item.name,
                item.narrative,
                item.description,
                item.genre,
            )
            for item in body.evidence
        ),
        results=tuple(
            ResultInput(item.result_description, item.achieved_level, item.value, item.status)
            for item in body.results
        ),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        awarded_date=body.awarded_date,
        jwt_algorithm=body.jwt_algorithm,
        did_method=body.did_method,
        idempotency_key=idempotency_key,
        request_hash=request_hash(body) if idempotency_key else None,
    )


def request_hash(body: AwardIn) -> str:
    """The request as parsed, minus the key, identifies "the same request" on a retry (only
    a request with an `Idempotency-Key` can be retried). notifyRecipient asks for an e-mail,
    not a different credential: left out."""
    return hashlib.sha256(
        AwardIn.model_validate(body.model_dump(exclude={"idempotency_key"}))
        .model_dump_json(exclude={"notify_recipient"})
        .encode()
    ).hexdigest()


def issued_json(public_url: str, issued: IssuedCredential) -> str:
    # Spliced as text so the credential in the response is byte-identical to the stored one.
    return (
        f'{{"id":"{issued.id}","url":"{public_url}/credentials/{issued.id}",'
        f'"credential":{issued.document},"jwt":{json.dumps(issued.jwt)}}}'
    )


@router.post(
    "/v1/issuers/{slug}/credentials",
    status_code=201,
    response_class=Response,
    responses={201: {"description": "Issued"}, 200: {"description": "Replayed"}},
)
async def issue(
    slug: str,
    body: AwardIn,
    provider: Issuing,
    session: Session,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Award an achievement: returns the signed OpenBadgeCredential and its VC-JWT."""
    issuer = await issuer_of(slug, provider, session)
    issued = await issue_credential(
        session,
        state.issuing,
        issuer,
        provider.client,
        to_award(body, idempotency_key, state.settings.public_url),
    )
    if issued.created and body.notify_recipient and body.recipient.email:
        claim = Claim(str(body.recipient.email), issued.id, issued.document)
        await _commit_then_notify(session, state, issuer.name, [claim])
    url = f"{state.settings.public_url}/credentials/{issued.id}"
    headers = {"Location": url}
    if not issued.created:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        issued_json(state.settings.public_url, issued),
        media_type="application/json",
        status_code=201 if issued.created else 200,
        headers=headers,
    )


@router.post(
    "/v1/issuers/{slug}/credentials:batch",
    response_class=Response,
    # Read by hand (`_batch_items`), item by item, so that one bad award fails alone.
    openapi_extra=request_body({"application/json": BatchIn}),
)
async def issue_many(
    slug: str, request: Request, provider: Issuing, session: Session, state: State
) -> Response:
    """Award up to `LATTICE_MAX_BATCH_ITEMS` achievements; each item succeeds or fails alone."""
    issuer = await issuer_of(slug, provider, session)
    items = await _batch_items(request, state.settings.max_batch_items)
    if isinstance(items, Response):
        return items
    awards: list[Award | DomainError] = []
    for item in items:
        if isinstance(item, DomainError):
            awards.append(item)
        else:
            try:
                awards.append(to_award(item, item.idempotency_key, state.settings.public_url))
            except DomainError as error:
                awards.append(error)
    valid = [award for award in awards if isinstance(award, Award)]
    outcomes = iter(await issue_batch(session, state.issuing, issuer, provider.client, valid))
    parts = []
    claims = []
    failed = 0
    for index, (item, award) in enumerate(zip(items, awards, strict=True)):
        outcome = next(outcomes) if isinstance(award, Award) else award
        if isinstance(outcome, IssuedCredential) and _wants_claim(item, outcome):
            claims.append(Claim(str(item.recipient.email), outcome.id, outcome.document))
        if isinstance(outcome, DomainError):
            failed += 1
            parts.append(
                json.dumps(
                    {
                        "index": index,
                        "status": outcome.status_code,
                        "problem": domain_problem(outcome),
                    }
                )
            )
        else:
            status = 201 if outcome.created else 200
            parts.append(
                f'{{"index":{index},"status":{status},'
                + issued_json(state.settings.public_url, outcome)[1:]
            )
    if claims:
        await _commit_then_notify(session, state, issuer.name, claims)
    body = f'{{"succeeded":{len(awards) - failed},"failed":{failed},"results":[{",".join(parts)}]}}'
    return Response(body, media_type="application/json")


async def _commit_then_notify(
    session: AsyncSession, state: ServiceState, issuer_name: str, claims: list[Claim]
) -> None:
    """Commit the issued credentials, then e-mail the claim links in a transaction of its own.

    The credentials' transaction (on SQLite, the database's one write lock) is not held
    through the mail server's round trip; a claim is best effort (rate-limited or undelivered
    mail is logged, not raised), so it never needed to roll the credentials back."""
    await session.commit()
    await send_claims(session, claim_context(state), issuer_name, claims)


def _wants_claim(
    item: BatchItemIn | DomainError, outcome: IssuedCredential
) -> TypeGuard[BatchItemIn]:
    return (
        isinstance(item, BatchItemIn)
        and outcome.created
        and item.notify_recipient
        and item.recipient.email is not None
    )


def claim_context(state: ServiceState) -> ClaimContext:
    return ClaimContext(
        vault=state.vault,
        mailer=state.mailer,
        public_url=state.settings.public_url,
        lifetime=timedelta(days=state.settings.claim_link_days),
    )


async def _batch_items(request: Request, limit: int) -> list[BatchItemIn | DomainError] | Response:
    """Items parsed one by one, so one malformed award fails alone, not the whole batch."""
    try:
        raw = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return problem(400, "Invalid request", "the body is not JSON")
    raw_items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(raw_items, list) or set(raw) != {"items"}:
        return problem(
            422,
            "Invalid request",
            'the body must be {"items": [award, ...]}',
            errors=[{"field": "items", "detail": "a list of awards is required"}],
        )
    if not raw_items:
        return problem(
            422,
            "Invalid request",
            "items must hold at least one award",
            errors=[{"field": "items", "detail": "empty"}],
        )
    if len(raw_items) > limit:
        return problem(
            413,
            "Content too large",
            f"a batch holds at most {limit} items",
            errors=[{"field": "items", "detail": f"{len(raw_items)} > {limit}"}],
        )
    parsed: list[BatchItemIn | DomainError] = []
    for item in raw_items:
        try:
            parsed.append(BatchItemIn.model_validate(item))
        except ValidationError as error:
            details = validation_errors(error.errors())
            first = details[0] if details else {"field": "", "detail": "invalid"}
            parsed.append(
                _ItemInvalid(f"{first['field'] or 'item'}: {first['detail']}", first["field"])
            )
    return parsed


class _ItemInvalid(DomainError):
    status_code = 422
    title = "Invalid input"

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail, field=(field,) if field else None)


@router.post("/credentials/issue", status_code=201, tags=["vc-api"])
async def vc_api_issue(
    body: VcApiIssueIn, provider: Issuing, session: Session, state: State
) -> Response:
    """W3C VC-API: sign the issuer's own credential (VCDM 2.0 or 1.1) with eddsa-rdfc-2022."""
    issued = await issue_supplied(
        state.issuing, session, provider.issuer, provider.client, body.credential, body.options
    )
    return Response(
        f'{{"verifiableCredential":{issued.document}}}',
        status_code=201,
        media_type="application/json",
    )


@router.get(
    "/credentials/{credential_ref}",
    response_class=Response,
    responses={200: {"content": {VC_LD_JSON: {}, JWT: {}, "text/html": {}}}},
)
async def read(credential_ref: str, request: Request, session: Session, state: State) -> Response:
    """The credential exactly as issued; `Accept: application/jwt` or `.jwt` for its VC-JWT;
    a browser (`Accept: text/html`) gets a page that verifies it."""
    wants_jwt = credential_ref.endswith(".jwt")
    if not wants_jwt and not credential_ref.endswith(".json") and prefers_html(request):
        return await credential_page(credential_ref, session, state)
    identifier = credential_ref.removesuffix(".jwt").removesuffix(".json")
    try:
        credential_id = uuid.UUID(identifier)
    except ValueError:
        raise NotFound(f"no credential {identifier!r}") from None
    row = await session.get(Credential, credential_id)
    if row is None:
        raise NotFound(f"no credential {credential_id}")
    if not credential_ref.endswith(".json") and not wants_jwt:
        wants_jwt = preferred(
            request, [VC_LD_JSON, "application/ld+json", "application/json", JWT, "text/plain"]
        ) in (JWT, "text/plain")
    headers = {"Access-Control-Allow-Origin": "*", "Vary": "Accept"}
    if wants_jwt:
        if row.jwt is None:
            return problem(
                406, "Not acceptable", "this credential has no VC-JWT form", headers=headers
            )
        return Response(row.jwt, media_type=JWT, headers=headers)
    return Response(row.document, media_type=VC_LD_JSON, headers=headers)
