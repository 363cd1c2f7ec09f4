"""Public issuer documents: the OB Profile (JSON-LD or HTML), DID document, JWK sets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response

from app.deps import Provider, RequireScopes, Session, State, issuer_of
from app.negotiation import DID_JSON, JSON_LD, JWK_SET, json_ld, preferred
from app.pages import PAGE_HEADERS, http_url, image_src, render, type_words
from app.routers.issuing.badge_images import (
    IMAGE_HEADERS,
    IMAGE_TYPES,
)
from app.routers.wallets.teacher import image_fetch
from badges.errors import NotFound
from badges.issuers.issuers import (
    did_document,
    get_issuer,
    issuer_did,
    list_issuers,
    profile_document,
    published_key,
    set_suspension,
)
from badges.issuing.achievements import list_achievements
from badges.wallets.exports import (
    ImageFetch,
    data_uri_bytes,
    safe_svg,
)
from formats.baking import PNG_SIGNATURE
from keys.jwks import jwk_set
from schemas.api.issuers import IssuerOut, IssuerSettingsIn
from storage.models import Achievement, Issuer

router = APIRouter(tags=["issuers"])
Reader = Annotated[Provider, Depends(RequireScopes())]
# Whether credentials can be suspended is part of managing their status.
StatusManager = Annotated[Provider, Depends(RequireScopes("credentials:revoke"))]


def _settings_out(public_url: str, issuer: Issuer) -> IssuerOut:
    return IssuerOut(
        slug=issuer.slug,
        name=issuer.name,
        did=issuer_did(public_url, issuer),
        suspension_enabled=issuer.suspension_enabled,
    )


@router.get("/v1/issuers/{slug}", response_model=IssuerOut, response_model_by_alias=True)
async def issuer_settings(slug: str, provider: Reader, session: Session, state: State) -> IssuerOut:
    """The issuer's settings, for its own clients."""
    issuer = await issuer_of(slug, provider, session)
    return _settings_out(state.settings.public_url, issuer)


@router.patch("/v1/issuers/{slug}", response_model=IssuerOut, response_model_by_alias=True)
async def update_issuer_settings(
    slug: str, body: IssuerSettingsIn, provider: StatusManager, session: Session, state: State
) -> IssuerOut:
    """Opt in to (or out of) suspension for the credentials issued from now on."""
    issuer = await issuer_of(slug, provider, session)
    await set_suspension(session, issuer, body.suspension_enabled)
    return _settings_out(state.settings.public_url, issuer)


@router.get(
    "/issuers/{slug}",
    response_class=Response,
    responses={200: {"content": {JSON_LD: {}, "text/html": {}}}},
)
async def issuer_profile(slug: str, request: Request, session: Session, state: State) -> Response:
    """The issuer's public OB 3.0 Profile; a browser gets a readable page with the badges
    it awards."""
    issuer = await get_issuer(session, slug)
    document = profile_document(state.settings.public_url, issuer)
    if preferred(request, [JSON_LD, "application/json", "text/html"]) == "text/html":
        base = f"{state.settings.public_url}/issuers/{slug}"
        return render(
            "issuer.html",
            headers={**PAGE_HEADERS, "Vary": "Accept"},
            profile=document,
            logo=logo_src(issuer),
            website=http_url(issuer.url),
            badges=[_awarded(row) for row in await list_achievements(session, issuer)],
            did_url=f"{base}/did.json",
            jwks_url=f"{base}/jwks.json",
        )
    return json_ld(document)


def logo_src(issuer: Issuer) -> str | None:
    """Where pages load the issuer's logo from: never another host (`issuer_logo`)."""
    if not issuer.image_url:
        return None
    if issuer.image_url.startswith("data:"):
        return image_src(issuer.image_url)
    return f"/issuers/{issuer.slug}/logo"


def _awarded(row: Achievement) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "kind": type_words(row.achievement_type),
        "image": image_src(row.image_url) or f"/achievements/{row.id}/image.svg",
        "criteria": row.criteria_narrative,
        "criteria_url": http_url(row.criteria_url),
        "tags": row.tags,
    }


@router.get(
    "/issuers/{slug}/logo",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/svg+xml": {}}},
        404: {"description": "The issuer has no logo that can be shown"},
    },
)
async def issuer_logo(slug: str, session: Session, state: State) -> Response:
    """The issuer's logo, fetched here (safely, cached) so that pages load nothing from
    elsewhere; PNG or a script-free SVG only."""
    issuer = await get_issuer(session, slug)
    kind, body = await _logo(issuer, image_fetch(state))
    return Response(
        body,
        media_type=IMAGE_TYPES[kind],
        headers={**IMAGE_HEADERS, "Cache-Control": "public, max-age=3600"},
    )


async def _logo(issuer: Issuer, fetch: ImageFetch) -> tuple[Literal["png", "svg"], bytes]:
    url = issuer.image_url or ""
    body = data_uri_bytes(url) if url.startswith("data:") else None
    if url.lower().startswith(("https://", "http://")):
        body = await fetch(url)
    if body is not None and body.startswith(PNG_SIGNATURE):
        return "png", body
    svg = safe_svg(body) if body is not None else None
    if svg is None:
        raise NotFound(f"issuer {issuer.slug!r} has no logo that can be shown")
    return "svg", svg.encode("utf-8")


@router.get(
    "/issuers/{slug}/did.json",
    response_class=Response,
    responses={200: {"content": {DID_JSON: {}}}},
)
async def issuer_did_document(slug: str, session: Session, state: State) -> Response:
    """The did:web DID document: every key the issuer ever signed with, current last."""
    issuer = await get_issuer(session, slug)
    return json_ld(did_document(state.settings.public_url, issuer), DID_JSON)


@router.get(
    "/issuers/{slug}/jwks.json",
    response_class=Response,
    responses={200: {"content": {JWK_SET: {}}}},
)
async def issuer_jwks(slug: str, session: Session, state: State) -> Response:
    """The issuer's public keys as a JWK Set (VC-JWT `kid`s resolve here too)."""
    issuer = await get_issuer(session, slug)
    did = issuer_did(state.settings.public_url, issuer)
    return json_ld(jwk_set([(did, published_key(row)) for row in issuer.keys]), JWK_SET)


@router.get(
    "/.well-known/jwks.json", response_class=Response, responses={200: {"content": {JWK_SET: {}}}}
)
async def service_jwks(session: Session, state: State) -> Response:
    """Every issuer's public keys (OB 3.0 key provenance: JWKS at the issuer's authority)."""
    pairs = [
        (issuer_did(state.settings.public_url, issuer), published_key(row))
        for issuer in await list_issuers(session)
        for row in issuer.keys
    ]
    return json_ld(jwk_set(pairs), JWK_SET)
