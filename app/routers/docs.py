"""`/docs`: the interactive API documentation (Swagger UI), served whole by this service.

FastAPI's own `/docs` loads Swagger UI from a CDN, so it is blank on a network that reaches
only this service. Here its files come from the `swagger-ui-bundle-v2` package (Swagger UI
5, which reads OpenAPI 3.1), served under `/docs/assets/`, and the page loads nothing from
anywhere else.
"""

from __future__ import annotations

from functools import cache
from typing import Final, Literal

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(tags=["docs"], include_in_schema=False)

ASSETS: Final = "/docs/assets"
OAUTH2_REDIRECT: Final = "/docs/oauth2-redirect"
# The only files the page uses: nothing else of the package is served.
Asset = Literal["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]
_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    """Swagger UI for this service's OpenAPI document."""
    openapi_url = request.app.openapi_url or "/openapi.json"
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title="Lattice API documentation",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        # The validator badge would send the document to a public validator.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> Response:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(f"{ASSETS}/{{name}}")
async def swagger_ui_asset(name: Asset) -> Response:
    """One of Swagger UI's files, from the installed package; cached for a day."""
    return Response(
        _asset(name),
        media_type=_TYPES[name[name.rindex(".") :]],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@cache
def _asset(name: str) -> bytes:
    body: bytes = (swagger_ui_path / name).read_bytes()
    return body
