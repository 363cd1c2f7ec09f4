"""Bad input gets a 4xx that names the field, never a 500 (what a hostile tester found).

Dates the service cannot compute with, numbers sent as dates, absurd stack windows, rules
and bodies nested thousands deep: each is refused at the edge as RFC 9457 problem+json
(`Imsx_StatusInfo` under the OB 3.0 API's /ims/), and a value stored before the edge knew
better does not break the evaluations that read it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import update

from app import imsx, problems
from app.limits import MAX_BODY_DEPTH, too_deep_member
from app.problems import TOO_DEEP
from badges.issuers.issuers import KeyVault
from badges.policy.stack_rules import MAX_RULE_DEPTH
from schemas.api.base import MAX_WINDOW_DAYS
from storage.models import Stack
from storage.session import transaction
from tests.app.wallets.teacher_apps import teacher_app_token
from tests.conftest import AgencyClient, Provider

TEACHER = {"educatorId": "7654321", "state": "TX"}
# The first and last moments of the calendar (Python's years 1 and 9999), and just outside
# the years this API takes (1900 to 9000).
OFF_THE_CALENDAR = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "1899-12-31T23:59:59Z",
    "9001-01-01T00:00:00Z",
]
# pydantic reads numbers (and strings of digits) as seconds since 1970: none is a date here.
NOT_DATES: list[Any] = [-240, 1_700_000_000, "1700000000", 1.5, True, "2026-01-31", "soon"]


def assert_refused(response: httpx.Response, field: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert field in [error["field"] for error in problem.get("errors", [])], problem
    return problem


def assert_imsx_refused(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["imsx_codeMajor"] == "failure"
    minor = body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == "invalid_data"
    for word in words:
        assert word in body["imsx_description"], body


# --- dates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatePlace:
    """Where a request carries a date: the field as the problem names it, and how to send."""

    field: str
    send: Callable[[Provider, AgencyClient, Any], Awaitable[httpx.Response]]

    def __str__(self) -> str:
        return self.field


def _in_award(field: str) -> DatePlace:
    async def send(provider: Provider, _agency: AgencyClient, value: Any) -> httpx.Response:
        return await provider.issue(str(uuid.uuid4()), **{field: value})

    return DatePlace(field, send)


def _in_approval(field: str) -> DatePlace:
    async def send(_provider: Provider, agency: AgencyClient, value: Any) -> httpx.Response:
        body = {"achievementId": "https://example.org/mc/1", "purpose": "renewal", field: value}
        return await agency.http.post("/v1/agency/approvals", json=body)

    return DatePlace(field, send)


def _in_body(path: str, **body: Any) -> DatePlace:
    async def send(_provider: Provider, agency: AgencyClient, value: Any) -> httpx.Response:
        return await agency.http.post(path, json=body | {"at": value})

    return DatePlace("at", send)


def _in_query(path: str, field: str, as_provider: bool = False) -> DatePlace:
    async def send(provider: Provider, agency: AgencyClient, value: Any) -> httpx.Response:
        client = provider.http if as_provider else agency.http
        return await client.get(path, params={field: value, "achievementId": "urn:x:1"})

    return DatePlace(field, send)


DATE_PLACES = {
    "award validFrom": _in_award("validFrom"),
    "award validUntil": _in_award("validUntil"),
    "award awardedDate": _in_award("awardedDate"),
    "approval effectiveFrom": _in_approval("effectiveFrom"),
    "approval effectiveUntil": _in_approval("effectiveUntil"),
    "evaluation at": _in_body("/v1/agency/evaluations", educator=TEACHER, stackId="s"),
    "progress at": _in_body("/v1/agency/progress", educator=TEACHER),
    "credential status at": _in_query(f"/v1/credentials/{uuid.uuid4()}/status", "at", True),
    "stack holders at": _in_query(f"/v1/agency/stacks/{uuid.uuid4()}/holders", "at"),
    "achievement holders at": _in_query("/v1/agency/holders", "at"),
    "expiring at": _in_query("/v1/agency/expiring", "at"),
    "earned report from": _in_query("/v1/agency/reports/earned", "from"),
    "completed report to": _in_query("/v1/agency/reports/completed", "to"),
}


@pytest.mark.parametrize("place", DATE_PLACES.values(), ids=DATE_PLACES.keys())
async def test_a_date_off_the_calendar_or_not_a_date_is_refused_naming_it(
    provider: Provider, agency: AgencyClient, place: DatePlace
):
    for value in [*OFF_THE_CALENDAR, *NOT_DATES]:
        response = await place.send(provider, agency, value)

        problem = assert_refused(response, place.field)
        said = [error["detail"] for error in problem["errors"] if error["field"] == place.field]
        assert "years 1900 to 9000" in said[0] or "ISO 8601" in said[0], (value, said)


async def test_the_first_and_last_days_of_the_calendar_still_compute(
    provider: Provider, agency: AgencyClient
):
    achievement = await provider.create_achievement()
    await agency.http.post("/v1/agency/educators", json=TEACHER)
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={"code": "E", "name": "Edges", "rule": {"achievement": achievement["url"]}},
    )
    stack_id = stack.json()["id"].rsplit("/", 1)[1]
    # The widest window, from the calendar's first and last instants, in the widest zones.
    window = {"windowDays": MAX_WINDOW_DAYS}
    windowed = await agency.http.put(
        f"/v1/agency/stacks/{stack_id}",
        json={"code": "E", "name": "Edges", "rule": {"achievement": achievement["url"]}} | window,
    )
    assert windowed.status_code == 201, windowed.text
    stack_id = windowed.json()["id"].rsplit("/", 1)[1]
    first, last = "1900-01-01T00:00:00+14:00", "9000-12-31T23:59:59-14:00"
    issued = await provider.issue(
        achievement["id"], recipient=TEACHER, validFrom=first, validUntil=last, awardedDate=first
    )
    assert issued.status_code == 201, issued.text

    for at in (first, last):
        evaluation = await agency.http.post(
            "/v1/agency/evaluations", json={"educator": TEACHER, "stackId": stack_id, "at": at}
        )
        progress = await agency.http.post(
            "/v1/agency/progress", json={"educator": TEACHER, "at": at}
        )
        status = await provider.http.get(
            f"/v1/credentials/{issued.json()['id']}/status", params={"at": at}
        )
        holders = await agency.http.get(
            "/v1/agency/holders", params={"at": at, "achievementId": achievement["url"]}
        )

        assert evaluation.status_code == 200, evaluation.text
        assert progress.status_code == 200, progress.text
        assert status.status_code == 200, status.text
        assert holders.status_code == 200, holders.text


# --- stack windows -------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -1, MAX_WINDOW_DAYS + 1, 10**12, 1.5, "a year"])
async def test_a_window_of_no_days_or_over_a_century_is_refused(agency: AgencyClient, days: Any):
    body = {"code": "W", "name": "Window", "rule": {"achievement": "urn:x:1"}}

    response = await agency.http.post("/v1/agency/stacks", json=body | {"windowDays": days})

    assert_refused(response, "windowDays")


async def test_an_absurd_window_stored_before_the_bound_still_evaluates(
    provider: Provider, agency: AgencyClient, sessions: Any
):
    achievement = await provider.create_achievement()
    await agency.http.post("/v1/agency/educators", json=TEACHER)
    created = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "OLD",
            "name": "Saved before the bound",
            "rule": {"achievement": achievement["url"]},
            "windowDays": 365,
        },
    )
    stack_id = created.json()["id"].rsplit("/", 1)[1]
    # As a stack saved before windowDays was bounded could hold (the largest INTEGER).
    async with transaction(sessions) as session:
        await session.execute(
            update(Stack).where(Stack.id == uuid.UUID(stack_id)).values(window_days=2**31 - 1)
        )
    issued = await provider.issue(
        achievement["id"], recipient=TEACHER, validFrom="1990-06-01T00:00:00Z"
    )
    assert issued.status_code == 201, issued.text

    evaluation = await agency.http.post(
        "/v1/agency/evaluations", json={"educator": TEACHER, "stackId": stack_id}
    )
    progress = await agency.http.post("/v1/agency/progress", json={"educator": TEACHER})

    assert evaluation.status_code == 200, evaluation.text
    assert evaluation.json()["met"] is True  # 36 years ago is inside any window that wide
    assert progress.status_code == 200, progress.text


# --- stack rules ---------------------------------------------------------------------------


def _nested_rule(levels: int, achievement: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"achievement": achievement}
    for _ in range(levels - 1):
        rule = {"all": [rule]}
    return rule


async def test_a_rule_nested_deeper_than_any_policy_is_refused(
    provider: Provider, agency: AgencyClient
):
    achievement = (await provider.create_achievement())["url"]

    def stack(levels: int) -> dict[str, Any]:
        return {"code": "N", "name": "Nested", "rule": _nested_rule(levels, achievement)}

    deepest = await agency.http.post("/v1/agency/stacks", json=stack(MAX_RULE_DEPTH))
    too_deep = await agency.http.post("/v1/agency/stacks", json=stack(MAX_RULE_DEPTH + 1))
    far_too_deep = await agency.http.post("/v1/agency/stacks", json=stack(300))
    role = {"key": "lead", "name": "Lead", "rule": _nested_rule(MAX_RULE_DEPTH + 1, "urn:x:1")}
    lattice = await agency.http.post(
        "/v1/agency/lattices", json={"name": "Lattice", "roles": [role]}
    )

    assert deepest.status_code == 201, deepest.text
    problem = too_deep.json()
    assert too_deep.status_code == 422, too_deep.text
    assert problem["errors"][0]["field"].startswith("rule.all[0]")
    assert f"more than {MAX_RULE_DEPTH} levels" in problem["detail"]
    assert_refused(far_too_deep, "rule")  # the body guard, before the rule is even parsed
    assert lattice.status_code == 422, lattice.text
    assert lattice.json()["errors"][0]["field"].startswith("roles[0].rule.all[0]")


# --- bodies nested thousands deep ----------------------------------------------------------


def _nest(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


DEEP = b'{"a": ' + _nest(10_000) + b"}"


@dataclass(frozen=True)
class BodyPlace:
    method: str
    path: str
    who: str  # whose token: provider, teacher or nobody


BODY_PLACES = {
    "batch issuing": BodyPlace("POST", "/v1/issuers/{slug}/credentials:batch", "provider"),
    "single issuing": BodyPlace("POST", "/v1/issuers/{slug}/credentials", "provider"),
    "VC-API issuing": BodyPlace("POST", "/credentials/issue", "provider"),
    "app registration": BodyPlace("POST", "/oauth/register", "nobody"),
    "wallet exchange": BodyPlace("POST", f"/exchanges/{uuid.uuid4()}", "nobody"),
    "OID4VCI credential": BodyPlace("POST", "/oid4vci/credential", "nobody"),
    "verification": BodyPlace("POST", "/v1/verify", "nobody"),
    "stack": BodyPlace("POST", "/v1/agency/stacks", "agency"),
}


@pytest.mark.parametrize("place", BODY_PLACES.values(), ids=BODY_PLACES.keys())
async def test_a_body_nested_ten_thousand_deep_is_refused_naming_the_member(
    provider: Provider, agency: AgencyClient, public: httpx.AsyncClient, place: BodyPlace
):
    client = {"provider": provider.http, "agency": agency.http}.get(place.who, public)

    response = await client.request(
        place.method,
        place.path.format(slug=provider.slug),
        content=DEEP,
        headers={"Content-Type": "application/json"},
    )

    problem = assert_refused(response, "a")
    assert "more than 64 levels deep" in problem["detail"]


async def test_the_ob_api_refuses_a_deep_body_as_imsx_status_info(
    server: str, sessions: Any, vault: KeyVault
):
    token = await teacher_app_token(sessions, vault)
    async with httpx.AsyncClient(base_url=server, timeout=60) as app:
        for method, path in (("PUT", "/ims/ob/v3p0/profile"), ("POST", "/ims/ob/v3p0/credentials")):
            response = await app.request(
                method,
                path,
                content=DEEP,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )

            assert_imsx_refused(response, "a: ", "64 levels")


async def test_a_deep_body_in_any_content_type_but_forms_and_files_is_refused(
    public: httpx.AsyncClient,
):
    for content_type in ("text/plain", "application/ld+json", None):
        headers = {"Content-Type": content_type} if content_type else {}

        response = await public.post("/oauth/register", content=DEEP, headers=headers)

        assert_refused(response, "a")


async def test_a_deep_payload_inside_a_jwt_is_no_server_error(public: httpx.AsyncClient):
    # The body is shallow; the nesting is in the VC-JWT's payload, out of the body guard's
    # sight: the verifier must still answer, as it does for any unreadable credential.
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part(b'{"alg": "EdDSA", "typ": "JWT"}')
    payload = part(b'{"vc": ' + _nest(50_000) + b"}")

    response = await public.post("/v1/verify", json={"jwt": f"{header}.{payload}.c2ln"})

    assert response.status_code < 500, response.text
    assert response.json()["verified"] is False


def _walking_app() -> FastAPI:
    """A route that walks its input recursively, as JSON-LD processing does, with the
    service's error rendering and without the body guard in front of it."""
    app = FastAPI()
    problems.install(app)
    imsx.install(app)

    def depth(value: Any) -> int:
        return 1 + max(map(depth, value), default=0) if isinstance(value, list) else 0

    @app.post("/walk")
    @app.post("/ims/walk")
    async def walk(request: Request) -> dict[str, int]:
        return {"depth": depth(json.loads(await request.body()))}

    return app


async def test_recursion_that_input_drives_too_deep_is_a_4xx_not_a_500():
    transport = httpx.ASGITransport(app=_walking_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        shallow = await http.post("/walk", content=_nest(10))
        deep = await http.post("/walk", content=_nest(5_000))
        deep_ob = await http.post("/ims/walk", content=_nest(5_000))

    assert shallow.json() == {"depth": 10}
    assert deep.status_code == 422, deep.text
    assert deep.headers["content-type"] == "application/problem+json"
    assert deep.json()["detail"] == TOO_DEEP
    assert_imsx_refused(deep_ob, TOO_DEEP)


# --- the nesting scanner -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "member"),
    [
        (b'{"a": 1, "b": [1, {"c": "x"}]}', None),
        (b'{"a": ' + _nest(MAX_BODY_DEPTH - 1) + b"}", None),  # exactly at the limit
        (b'{"a": ' + _nest(MAX_BODY_DEPTH) + b"}", ("a",)),
        (b'{"x": 1, "credential": {"k": ' + _nest(100) + b"}}", ("credential",)),
        (b'[1, "two", ' + _nest(100) + b"]", (2,)),
        (b"[" * 10_000, (0,)),  # unclosed: the parser would still recurse into it
        (b'{"a": "' + b"[" * 500 + b'"}', None),  # brackets inside a string are text
        (b'{"a\\"b": "\\\\", "c": ' + _nest(100) + b"}", ("c",)),  # escaped quotes
        (b'{"k\\u00e9y": ' + _nest(100) + b"}", ("k\u00e9y",)),
        (b"", None),
        (b"not json at all", None),
    ],
)
def test_the_scanner_finds_the_member_that_nests_too_deep(
    body: bytes, member: tuple[str | int, ...] | None
):
    assert too_deep_member(body) == member


def test_the_limit_is_the_vc_api_issuers_for_a_credential():
    from badges.issuing.data_model import MAX_DEPTH

    body = json.dumps({"credential": json.loads(b"{" + b'"k":{' * 63 + b"}" * 64)}).encode()

    assert MAX_BODY_DEPTH == MAX_DEPTH + 1
    assert too_deep_member(body) is None  # a credential of 64 levels is the issuer's to judge


# --- found by the fuzzer once bodies read by hand were declared -----------------------------

APP_METADATA: dict[str, Any] = {
    "client_name": "Backpack",
    "client_uri": "https://backpack.example/",
    "logo_uri": "https://backpack.example/logo.png",
    "tos_uri": "https://backpack.example/terms",
    "policy_uri": "https://backpack.example/privacy",
    "software_id": "backpack",
    "software_version": "1.0",
    "redirect_uris": ["https://backpack.example/callback"],
    "scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
}


@pytest.mark.parametrize(
    ("member", "value", "error"),
    [
        ("scope", -1.4e-45, "invalid_client_metadata"),
        ("grant_types", [{}, None], "invalid_client_metadata"),
        ("response_types", [7], "invalid_client_metadata"),
        ("client_uri", 42, "invalid_client_metadata"),
        ("redirect_uris", [42], "invalid_redirect_uri"),
        ("redirect_uris", {"https://backpack.example/callback": 1}, "invalid_redirect_uri"),
    ],
)
async def test_app_metadata_of_the_wrong_type_is_refused_naming_the_member(
    public: httpx.AsyncClient, member: str, value: Any, error: str
):
    response = await public.post("/oauth/register", json={**APP_METADATA, member: value})

    # RFC 7591 §3.2.2: the error response of the registration endpoint.
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert member in response.json()["error_description"]


async def test_app_metadata_of_the_right_types_still_registers(public: httpx.AsyncClient):
    response = await public.post(
        "/oauth/register", json={**APP_METADATA, "software_statement_note": ["extension"]}
    )

    assert response.status_code == 201, response.text
