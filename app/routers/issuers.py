"""Public issuer documents: the OB Profile (JSON-LD or HTML), DID document, JWK sets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.deps import Provider, RequireScopes, Session, State, issuer_of
from app.negotiation import DID_JSON, JSON_LD, JWK_SET, json_ld, preferred
from app.pages import render
from badges.issuers import (
    did_document,
    get_issuer,
    issuer_did,
    list_issuers,
    profile_document,
    published_key,
    set_suspension,
)
from keys.jwks import jwk_set
from schemas.api.issuers import IssuerOut, IssuerSettingsIn
from storage.models import Issuer

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
    """The issuer's public OB 3.0 Profile; a browser gets a readable page."""
    issuer = await get_issuer(session, slug)
    document = profile_document(state.settings.public_url, issuer)
    if preferred(request, [JSON_LD, "application/json", "text/html"]) == "text/html":
        base = f"{state.settings.public_url}/issuers/{slug}"
        return render(
            "issuer.html",
            profile=document,
            did_url=f"{base}/did.json",
            jwks_url=f"{base}/jwks.json",
        )
    return json_ld(document)


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
