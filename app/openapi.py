"""The OpenAPI document, told truthfully: who may call each operation and how it fails.

FastAPI describes parameters, bodies and successes. This adds, for every operation at
once (never by hand per route):
- the OAuth 2.0 security schemes, and on each operation the scheme and scopes its
  dependencies demand (`app.deps.SecurityRequirement`, carried by `RequireScopes`,
  `RequireAgency` and the OB 3.0 API's `RequireScope`, or declared by a route that checks
  its token itself with `app.declared.Declares`);
- the schemas of bodies that routes read by hand and declare with
  `app.declared.request_body`, moved into the components;
- its error responses, in the form this service really sends them: RFC 9457 problem+json
  (`app.problems`), `Imsx_StatusInfo` under the OB 3.0 API's `/ims/` (`app.imsx`), and the
  RFC 6749 error object of the OAuth and OpenID4VCI endpoints. FastAPI's own 422
  (`HTTPValidationError`) describes a body this service never sends, so it is replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.declared import DECLARED_SCHEMAS, OID4VCI_BEARER
from app.deps import PROVIDER_OAUTH, TEACHER_APP_OAUTH, SecurityRequirement
from app.imsx import IMS_PREFIX
from app.problems import PROBLEM_JSON
from app.routers.wallets.ob_oauth import SCOPE_TEXT
from badges.issuers.clients import ALL_SCOPES
from badges.wallets.ob_clients import OB_SCOPES

# What each provider or agency scope lets a client do (the consent it stands for).
PROVIDER_SCOPE_TEXT: Final = {
    "achievements:write": "Define and revise the issuer's achievements",
    "credentials:issue": "Issue credentials as the issuer",
    "credentials:revoke": "Revoke, suspend and reinstate the issuer's credentials",
    "credentials:read": "Read the status history of the issuer's credentials",
    "webhooks:manage": "Subscribe to the issuer's events and read their deliveries",
    "stacks:write": "Agencies: define stacks and career lattices",
    "registry:write": "Agencies: register educators, vet achievements, take submissions",
    "reports:read": "Agencies: evaluate educators and read holders, progress and reports",
}
# Endpoints that answer most errors as RFC 6749 §5.2 `{"error": ...}` objects.
_OAUTH_TAGS: Final = frozenset({"oauth", "oid4vci"})
_OAUTH_ERRORS: Final = frozenset({400, 401, 403})
_WRITES: Final = frozenset({"post", "put", "patch", "delete"})
_DESCRIPTIONS: Final = {
    400: "The request cannot be read",
    401: "No valid access token (`WWW-Authenticate` says why)",
    403: "The token lacks a scope, or acts for someone else",
    404: "Nothing here by that name",
    409: "The request clashes with what is stored",
    413: "The body is over this endpoint's size limit",
    422: "A value breaks a rule (each field at fault is named)",
}
_FASTAPI_422: Final = "#/components/schemas/HTTPValidationError"
_FASTAPI_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")
_SCHEMAS: Final[dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "detail"],
                    "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    },
    "Imsx_StatusInfo": {
        "type": "object",
        "description": "The OB 3.0 API's error object (OB 3.0 §6.2).",
        "required": ["imsx_codeMajor", "imsx_severity"],
        "properties": {
            "imsx_codeMajor": {"type": "string", "enum": ["success", "processing", "failure"]},
            "imsx_severity": {"type": "string", "enum": ["status", "warning", "error"]},
            "imsx_description": {"type": "string"},
            "imsx_codeMinor": {"type": "object"},
        },
    },
    "OAuthError": {
        "type": "object",
        "description": "An OAuth 2.0 error response (RFC 6749 §5.2).",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "error_description": {"type": "string"},
        },
    },
}


def install(app: FastAPI, public_url: str) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            app.openapi_schema = complete(document, app.routes, public_url)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], routes: Iterable[Any], public_url: str) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components["securitySchemes"] = security_schemes(public_url)
    components.setdefault("schemas", {}).update(_SCHEMAS)
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        requirements = requirements_of(route.dependant)
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _describe(operation, route, method.lower(), requirements)
    _move_declared_schemas(document, components["schemas"])
    _drop_unused(components["schemas"], document)
    return document


def _move_declared_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Into the components: the schemas of the models that routes' declared bodies name."""
    for item in document["paths"].values():
        for operation in item.values():
            declared = operation.pop(DECLARED_SCHEMAS, {}) if isinstance(operation, dict) else {}
            for name, schema in declared.items():
                if schemas.setdefault(name, schema) != schema:
                    raise ValueError(f"two different schemas are both named {name}")


def api_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every API route, with its full path: newer FastAPI releases keep included routers nested
    (`iter_route_contexts` walks them as get_openapi does); older ones flatten them."""
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in walk(list(routes)) if walk else routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def security_schemes(public_url: str) -> dict[str, Any]:
    return {
        PROVIDER_OAUTH: {
            "type": "oauth2",
            "description": "Providers' and agencies' machine clients (client credentials, "
            "HTTP Basic with the client's id and secret). Agency scopes only for a state "
            "agency's clients.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": f"{public_url}/oauth/token",
                    "scopes": {scope: PROVIDER_SCOPE_TEXT[scope] for scope in ALL_SCOPES},
                }
            },
        },
        TEACHER_APP_OAUTH: {
            "type": "oauth2",
            "description": "A teacher's OB 3.0 apps (authorization code with PKCE; apps "
            "register at /oauth/register).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{public_url}/oauth/authorize",
                    "tokenUrl": f"{public_url}/oauth/token",
                    "refreshUrl": f"{public_url}/oauth/token",
                    "scopes": {scope: SCOPE_TEXT[scope] for scope in OB_SCOPES},
                }
            },
        },
        OID4VCI_BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A wallet's OpenID4VCI access token, from POST /oid4vci/token "
            "(pre-authorized code flow), good for the credential of one offer.",
        },
    }


def requirements_of(dependant: Dependant) -> dict[str, list[str]]:
    """Scheme -> scopes that the route's dependencies (at any depth) all demand."""
    found: dict[str, set[str]] = {}
    for requirement in _walk(dependant):
        found.setdefault(requirement.scheme, set()).update(requirement.scopes)
    return {scheme: sorted(scopes) for scheme, scopes in found.items()}


def _walk(dependant: Dependant) -> Iterable[SecurityRequirement]:
    for dependency in dependant.dependencies:
        requirement = getattr(dependency.call, "security", None)
        if isinstance(requirement, SecurityRequirement):
            yield requirement
        yield from _walk(dependency)


def _describe(
    operation: dict[str, Any], route: Any, method: str, requirements: dict[str, list[str]]
) -> None:
    if requirements:
        operation["security"] = [requirements]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    fastapi_422 = _FASTAPI_422 in str(responses.get("422", ""))
    if fastapi_422:
        del responses["422"]
    for status in error_statuses(operation, route, method, bool(requirements), fastapi_422):
        responses.setdefault(str(status), {"description": _DESCRIPTIONS[status]})
    for code, response in responses.items():
        if code.startswith("4"):  # a route's own error responses get their body too
            response.setdefault("content", _content(route, int(code)))


def error_statuses(
    operation: dict[str, Any], route: Any, method: str, secured: bool, validated: bool
) -> list[int]:
    """The errors an operation can answer, from what it takes and who may call it."""
    parameters = operation.get("parameters", ())
    has_body = method in _WRITES  # read even when undeclared (a raw JSON or form body)
    in_query = any(item.get("in") == "query" for item in parameters)
    statuses: set[int] = set()
    if validated or parameters or has_body:
        # Unreadable or invalid input: 422, except that the OB 3.0 API says 400 (app.imsx).
        statuses.add(400 if route.path_format.startswith(IMS_PREFIX) else 422)
    if has_body:
        # A body that is not JSON, one over the size limit (app.limits.BodySizeLimit, on
        # every path), one nested too deeply (app.limits.NestingLimit) or invalid.
        statuses |= {400, 413, 422} if not route.path_format.startswith(IMS_PREFIX) else {413}
    if any(item.get("in") == "path" for item in parameters):
        statuses.add(404)
    if secured:
        statuses |= {401, 403}
        if has_body or in_query:
            statuses.add(409)  # a replayed key with another body, a cursor of another query
    if has_body and _OAUTH_TAGS & set(route.tags or ()):
        statuses |= {400, 401}  # invalid_request, invalid_client, invalid_token...
    return sorted(statuses)


def _content(route: Any, status: int) -> dict[str, Any]:
    if route.path_format.startswith(IMS_PREFIX):
        return {"application/json": {"schema": _ref("Imsx_StatusInfo")}}
    if status in _OAUTH_ERRORS and _OAUTH_TAGS & set(route.tags or ()):
        return {"application/json": {"schema": _ref("OAuthError")}}
    return {PROBLEM_JSON: {"schema": _ref("Problem")}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _drop_unused(schemas: dict[str, Any], document: dict[str, Any]) -> None:
    paths = str(document["paths"])
    for name in _FASTAPI_SCHEMAS:
        if f"#/components/schemas/{name}" not in paths:
            schemas.pop(name, None)
