"""The Open Badges 3.0 REST API (OB 3.0 §6) for a teacher's apps: discovery, her
credentials (`getCredentials`, `upsertCredential`) and her profile (`getProfile`,
`putProfile`). Errors are `Imsx_StatusInfo` (`app.imsx`).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC
from functools import lru_cache
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from app.deps import TEACHER_APP_OAUTH, SecurityRequirement, Session, State
from app.imsx import ImsxError
from app.settings import Settings
from badges.wallets import backpack
from badges.wallets.ob_clients import (
    CREDENTIAL_READ,
    CREDENTIAL_UPSERT,
    PROFILE_READ,
    PROFILE_UPDATE,
    TeacherGrant,
    authenticate_bearer,
)
from badges.wallets.ob_profiles import (
    profile_of,
    published_email,
    put_profile,
)
from schemas.api.base import ApiDatetime
from schemas.contexts import SPEC_DIR
from verification import InputError, Verdict, read_presented

BASE: Final = "/ims/ob/v3p0"
router = APIRouter(prefix=BASE, tags=["open-badges-api"])
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
# A credential that verifies, or did and has since expired, can be held; anything else
# (tampered, revoked, unverifiable) is refused and nothing is stored.
_KEPT_VERDICTS: Final = (Verdict.VERIFIED, Verdict.EXPIRED)
_JSON_TYPES: Final = ("application/json", "application/vc+ld+json", "application/ld+json")


@lru_cache(maxsize=4)
def _openapi() -> dict[str, Any]:
    path = SPEC_DIR / "ob3" / "openapi" / "ob_v3p0_openapi3.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def service_description(settings: Settings) -> dict[str, Any]:
    """The bundled OpenAPI file, profiled as this service's SDD (OB 3.0 §7.1)."""
    return _description(
        settings.public_url,
        settings.terms_of_service_url or settings.public_url,
        settings.privacy_policy_url or settings.public_url,
    )


@lru_cache(maxsize=4)
def _description(public: str, terms: str, privacy: str) -> dict[str, Any]:
    document = copy.deepcopy(_openapi())
    document["servers"] = [{"url": public + BASE, "description": "Lattice"}]
    info = document["info"]
    info["termsOfService"] = terms
    info["x-imssf-privacyPolicyUrl"] = privacy
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    scheme["x-imssf-registrationUrl"] = f"{public}/oauth/register"
    flow = scheme["flows"]["authorizationCode"]
    flow["authorizationUrl"] = f"{public}/oauth/authorize"
    flow["tokenUrl"] = f"{public}/oauth/token"
    flow["refreshUrl"] = f"{public}/oauth/token"
    return document


@router.get("/discovery", summary="Service Description Document (getServiceDescription)")
async def discovery(state: State) -> JSONResponse:
    """The OB 3.0 Service Description Document: where to register, authorize and get tokens."""
    return JSONResponse(
        service_description(state.settings), headers={"Cache-Control": "public, max-age=3600"}
    )


class RequireScope:
    """A teacher's bearer token from `POST /oauth/token` holding `scope`."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.security = SecurityRequirement(TEACHER_APP_OAUTH, (scope,))  # for app.openapi

    async def __call__(self, request: Request, session: Session) -> TeacherGrant:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ImsxError(
                401,
                "a bearer access token is required",
                headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        grant = await authenticate_bearer(session, token.strip())
        if grant is None:
            raise ImsxError(
                401,
                "the access token is unknown, expired or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if self.scope not in grant.scopes:
            raise ImsxError(
                403,
                f"the access token lacks the scope {self.scope}",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope}"'
                },
            )
        return grant


Reader = Annotated[TeacherGrant, Depends(RequireScope(CREDENTIAL_READ))]
Upserter = Annotated[TeacherGrant, Depends(RequireScope(CREDENTIAL_UPSERT))]
ProfileReader = Annotated[TeacherGrant, Depends(RequireScope(PROFILE_READ))]
ProfileWriter = Annotated[TeacherGrant, Depends(RequireScope(PROFILE_UPDATE))]


def paging_links(url: str, total: int, limit: int, offset: int, extra: dict[str, str]) -> str:
    """RFC 8288 `Link`: first and last always, next and prev when there are such pages."""

    def link(rel: str, at: int) -> str:
        return f'<{url}?{urlencode({**extra, "limit": limit, "offset": at})}>; rel="{rel}"'

    last = max(0, (total - 1) // limit * limit)
    links = [link("first", 0), link("last", last)]
    if offset + limit < total:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, min(offset - limit, last))))
    return ", ".join(links)


@router.get("/credentials", summary="Her credentials (getCredentials)")
async def get_credentials(
    who: Reader,
    session: Session,
    state: State,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    since: Annotated[ApiDatetime | None, Query()] = None,
) -> JSONResponse:
    """Her credentials, newest first: those issued here and those her apps upserted."""
    size = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    found = await backpack.page(session, who.teacher, limit=size, offset=offset, since=since)
    body: dict[str, list[Any]] = {"credential": [], "compactJwsString": []}
    for item in found.items:
        if item.format == "jwt_vc":
            body["compactJwsString"].append(item.content)
        else:
            body["credential"].append(json.loads(item.content))
    extra = {"since": since.isoformat()} if since else {}
    url = f"{state.settings.public_url}{BASE}/credentials"
    return JSONResponse(
        body,
        headers={
            "X-Total-Count": str(found.total),
            "Link": paging_links(url, found.total, size, offset, extra),
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/credentials",
    summary="Add or replace one of her credentials (upsertCredential)",
    responses={200: {"description": "replaced"}, 201: {"description": "created"}},
)
async def upsert_credential(
    request: Request, who: Upserter, session: Session, state: State
) -> Response:
    """Verify a credential (JSON or a compact JWS as text/plain) and keep it in her account,
    matched by issuer id and credential id (OB 3.0 §10). A newer `validFrom` replaces."""
    raw = await request.body()
    try:
        presented = read_presented(raw)
    except InputError as error:
        raise ImsxError(400, f"not a credential: {error}") from None
    if presented.container not in ("json", "jwt"):
        raise ImsxError(400, "send the credential as JSON or as a compact JWS (text/plain)")
    report = await state.verifier.verify(presented)
    credential = report.credential
    if report.verdict not in _KEPT_VERDICTS or credential is None or report.format is None:
        reason = report.reason or report.verdict.value
        raise ImsxError(400, f"the credential did not verify ({report.verdict.value}): {reason}")
    if not report.is_achievement_credential:
        raise ImsxError(400, "not an Open Badge: its type names no OpenBadgeCredential")
    if await backpack.issued_here(session, who.teacher, state.settings.public_url, credential):
        # Issued here to her: it is in her account already.
        return _echo(request, presented.jwt, presented.credential or credential, 200)
    naming = backpack.naming_key(
        state.vault,
        who.teacher,
        credential,
        [email] if (email := await published_email(session, who.teacher)) else [],
    )
    content = presented.jwt or raw.decode("utf-8").strip()
    stored = await backpack.upsert(
        session,
        who.teacher,
        backpack.Incoming(content, report.format, credential, report.verdict.value),
        client_id=who.client_id,
        naming=naming,
    )
    if stored.outcome == "kept":
        return Response(status_code=304)  # the one she holds is newer
    echoed = presented.credential or credential
    return _echo(request, presented.jwt, echoed, 201 if stored.outcome == "created" else 200)


def _echo(request: Request, jwt: str | None, credential: dict[str, Any], status: int) -> Response:
    """The credential back in the representation it came in."""
    if jwt is not None:
        return PlainTextResponse(jwt, status_code=status)
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    media_type = sent if sent in _JSON_TYPES else "application/json"
    return JSONResponse(credential, status_code=status, media_type=media_type)


@router.get("/profile", summary="Her profile (getProfile)")
async def get_profile(who: ProfileReader, session: Session) -> JSONResponse:
    """Her OB 3.0 Profile."""
    return JSONResponse(await profile_of(session, who.teacher))


@router.put("/profile", summary="Replace her profile (putProfile)")
async def update_profile(
    request: Request, who: ProfileWriter, session: Session, state: State
) -> JSONResponse:
    """Replace her Profile; its `email`, if any, must be one of her verified addresses."""
    try:
        document = json.loads(await request.body())
    except ValueError:
        raise ImsxError(400, "the body must be a JSON Profile") from None
    if not isinstance(document, dict):
        raise ImsxError(400, "the body must be a JSON Profile")
    return JSONResponse(await put_profile(session, state.vault, who.teacher, document))
