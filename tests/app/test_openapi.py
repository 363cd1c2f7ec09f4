"""The OpenAPI document tells the truth: who may call each operation, and how it fails."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.declared import DECLARED_SCHEMAS, OID4VCI_BEARER
from app.deps import PROVIDER_OAUTH, TEACHER_APP_OAUTH
from badges.issuers.clients import (
    AGENCY_SCOPES,
    ALL_SCOPES,
    PROVIDER_SCOPES,
)
from badges.wallets.ob_clients import OB_SCOPES
from badges.wallets.oid4vci import (
    PRE_AUTHORIZED_GRANT,
    issuer_metadata,
)

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def document(public: httpx.AsyncClient) -> dict[str, Any]:
    response = await public.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _error_schema(operation: dict[str, Any], status: str) -> tuple[str, str]:
    (media_type, content), *_ = operation["responses"][status]["content"].items()
    return media_type, content["schema"]["$ref"].rsplit("/", 1)[1]


async def test_both_oauth_flows_are_declared_with_every_scope(
    document: dict[str, Any], settings: Any
):
    schemes = document["components"]["securitySchemes"]

    machines = schemes[PROVIDER_OAUTH]["flows"]["clientCredentials"]
    apps = schemes[TEACHER_APP_OAUTH]["flows"]["authorizationCode"]

    assert machines["tokenUrl"] == f"{settings.public_url}/oauth/token"
    assert set(machines["scopes"]) == set(ALL_SCOPES)
    assert apps["authorizationUrl"] == f"{settings.public_url}/oauth/authorize"
    assert set(apps["scopes"]) == set(OB_SCOPES)
    assert all(text for text in [*machines["scopes"].values(), *apps["scopes"].values()])


@pytest.mark.parametrize(
    ("operation", "scheme", "scopes"),
    [
        ("POST /v1/issuers/{slug}/credentials", PROVIDER_OAUTH, ["credentials:issue"]),
        ("POST /v1/credentials/{credential_id}/revoke", PROVIDER_OAUTH, ["credentials:revoke"]),
        ("GET /v1/credentials/{credential_id}/status", PROVIDER_OAUTH, ["credentials:read"]),
        ("GET /v1/issuers/{slug}/achievements", PROVIDER_OAUTH, []),
        ("POST /v1/agency/stacks", PROVIDER_OAUTH, ["stacks:write"]),
        ("POST /v1/agency/clr", PROVIDER_OAUTH, ["credentials:issue", "reports:read"]),
        ("GET /v1/agency/holders", PROVIDER_OAUTH, ["reports:read"]),
        ("GET /ims/ob/v3p0/credentials", TEACHER_APP_OAUTH, [OB_SCOPES[0]]),
        ("PUT /ims/ob/v3p0/profile", TEACHER_APP_OAUTH, [OB_SCOPES[3]]),
    ],
)
async def test_each_operation_names_the_scheme_and_scopes_its_route_demands(
    document: dict[str, Any], operation: str, scheme: str, scopes: list[str]
):
    assert _operations(document)[operation]["security"] == [{scheme: scopes}]


async def test_public_operations_ask_for_no_token(document: dict[str, Any]):
    operations = _operations(document)

    for public in (
        "GET /issuers/{slug}",
        "GET /credentials/{credential_ref}",
        "POST /v1/verify",
        "POST /credentials/verify",
        "GET /ims/ob/v3p0/discovery",
        "GET /healthz",
    ):
        assert "security" not in operations[public], public


async def test_every_secured_operation_documents_401_and_403_and_its_scopes_exist(
    document: dict[str, Any],
):
    known = {
        PROVIDER_OAUTH: {*PROVIDER_SCOPES, *AGENCY_SCOPES},
        TEACHER_APP_OAUTH: set(OB_SCOPES),
        OID4VCI_BEARER: set(),  # a bearer token without scopes
    }
    secured = {
        name: operation
        for name, operation in _operations(document).items()
        if operation.get("security")
    }

    assert len(secured) > 40
    for name, operation in secured.items():
        for requirement in operation["security"]:
            for scheme, scopes in requirement.items():
                assert set(scopes) <= known[scheme], name
        assert {"401", "403"} <= set(operation["responses"]), name


async def test_errors_are_documented_as_the_service_sends_them(document: dict[str, Any]):
    operations = _operations(document)

    for name, operation in operations.items():
        for status in operation["responses"]:
            if not status.startswith("4"):
                continue
            media_type, schema = _error_schema(operation, status)
            if name.split(" ")[1].startswith("/ims/"):
                assert (media_type, schema) == ("application/json", "Imsx_StatusInfo"), name
                assert status != "422", name  # the OB 3.0 API says 400 for bad data
            elif schema != "OAuthError":
                assert (media_type, schema) == ("application/problem+json", "Problem"), name
    issue = operations["POST /v1/issuers/{slug}/credentials"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(issue)
    assert _error_schema(operations["POST /oauth/token"], "401")[1] == "OAuthError"
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_dates_and_windows_are_documented_with_their_bounds(document: dict[str, Any]):
    schemas = document["components"]["schemas"]

    valid_from = schemas["AwardIn"]["properties"]["validFrom"]["anyOf"][0]
    window = schemas["StackIn"]["properties"]["windowDays"]["anyOf"][0]

    assert valid_from["format"] == "date-time"
    assert valid_from["pattern"] == r"^(19\d{2}|[2-8]\d{3}|9000)-"
    assert (window["minimum"], window["maximum"]) == (1, 36_525)


@pytest.mark.parametrize(
    ("operation", "media_types", "required"),
    [
        ("POST /v1/issuers/{slug}/credentials:batch", ["application/json"], True),
        ("POST /v1/verify", ["application/json", "multipart/form-data"], True),
        ("POST /oauth/register", ["application/json"], True),
        ("POST /oauth/token", ["application/x-www-form-urlencoded"], True),
        ("POST /oauth/revoke", ["application/x-www-form-urlencoded"], True),
        ("POST /exchanges/{exchange_id}", ["application/json"], False),
        ("POST /oid4vci/token", ["application/x-www-form-urlencoded"], True),
        ("POST /oid4vci/credential", ["application/json"], True),
    ],
)
async def test_bodies_read_by_hand_are_declared_with_their_schema(
    document: dict[str, Any], operation: str, media_types: list[str], required: bool
):
    body = _operations(document)[operation]["requestBody"]
    schemas = document["components"]["schemas"]

    assert sorted(body["content"]) == media_types
    assert body["required"] is required
    for content in body["content"].values():
        name = content["schema"]["$ref"].removeprefix("#/components/schemas/")
        assert schemas[name]["type"] == "object", name
        # Every schema it refers to is in the document too.
        for ref in _refs(schemas[name]):
            assert ref.removeprefix("#/components/schemas/") in schemas, ref


def _refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["$ref"]] if "$ref" in schema else []
        return own + [ref for value in schema.values() for ref in _refs(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _refs(value)]
    return []


async def test_the_batch_and_the_verifier_document_the_models_they_validate_with(
    document: dict[str, Any],
):
    schemas = document["components"]["schemas"]
    batch = _operations(document)["POST /v1/issuers/{slug}/credentials:batch"]
    verify = _operations(document)["POST /v1/verify"]["requestBody"]["content"]

    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BatchIn"
    )
    assert schemas["BatchIn"]["properties"]["items"]["items"]["$ref"].endswith("/BatchItemIn")
    assert verify["application/json"]["schema"]["$ref"].endswith("/VerifyIn")
    upload = schemas[verify["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary", "title": "File"}
    assert upload["required"] == ["file"]
    assert DECLARED_SCHEMAS not in json.dumps(document)  # moved into the components


async def test_the_credential_endpoint_declares_the_wallets_access_token(
    document: dict[str, Any],
):
    operation = _operations(document)["POST /oid4vci/credential"]
    scheme = document["components"]["securitySchemes"][OID4VCI_BEARER]

    assert operation["security"] == [{OID4VCI_BEARER: []}]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert _error_schema(operation, "401") == ("application/json", "OAuthError")
    assert "security" not in _operations(document)["POST /oid4vci/token"]


async def test_the_documented_oid4vci_values_are_those_the_endpoints_take(
    document: dict[str, Any], settings: Any
):
    schemas = document["components"]["schemas"]
    configuration = schemas["CredentialRequestIn"]["properties"]["credential_configuration_id"]
    grant = schemas["PreAuthorizedTokenForm"]["properties"]["grant_type"]

    offered = issuer_metadata(settings.public_url)["credential_configurations_supported"]
    assert sorted(configuration["enum"]) == sorted(offered)
    assert grant["const"] == PRE_AUTHORIZED_GRANT
    assert "pre-authorized_code" in schemas["PreAuthorizedTokenForm"]["required"]
