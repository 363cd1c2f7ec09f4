"""Every operation of the OpenAPI document, fuzzed (schemathesis), answers no 5xx.

The service runs for real (uvicorn on loopback, on the suite's database) and the fuzzer holds
real tokens: a provider's, a state agency's, a teacher's OB 3.0 app's and a wallet's
OpenID4VCI access token for a real offer, each sent to the operations whose security
requirement names its scheme and scopes, so authenticated operations are exercised past
their 401. Path parameters that name stored things (issuer slug, achievement, credential,
stack, lattice, role, wallet exchange) point at real ones, so requests reach the code behind
the lookups. Bodies that routes read by hand are declared in the document
(`app.declared.request_body`), so the fuzzer sends them too. Each operation gets valid and
invalid inputs (schemathesis' positive and negative generation), a few examples each, within
a time budget.

Nothing the fuzzer invents is ever contacted: this server's verifier reads only an empty
trust folder (`trust_dir_only`: no DID, status list or credential is fetched), and no
webhook receiver is registered (POST /v1/webhooks is left out: every delivery worker of
the suite would post to it).

`LATTICE_FUZZ_EXAMPLES` (default 10) raises the examples per operation and mode, and
`LATTICE_FUZZ_SECONDS` (default 45) the budget, for a longer run outside the suite, e.g.
`LATTICE_FUZZ_EXAMPLES=40 LATTICE_FUZZ_SECONDS=900 pytest tests/app/test_fuzz_openapi.py -s`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app.declared import OID4VCI_BEARER
from app.deps import PROVIDER_OAUTH, TEACHER_APP_OAUTH
from app.settings import Settings
from badges.issuers.clients import PROVIDER_SCOPES
from badges.issuers.issuers import KeyVault
from tests.app.wallets.teacher_apps import teacher_app_token
from tests.app.wallets.wallet_holder import (
    signed_in_teacher,
    wallet_page,
)
from tests.conftest import AgencyClient, Provider, serve
from tests.processes import free_port

EXAMPLES = int(os.environ.get("LATTICE_FUZZ_EXAMPLES", "10"))
# The suite's budget: the whole test stays under a minute (about 25 s of fuzzing on SQLite).
SECONDS = float(os.environ.get("LATTICE_FUZZ_SECONDS", "45"))
# The suite's run is the same every time (a failure reproduces); a longer run explores.
DERANDOMIZE = "LATTICE_FUZZ_EXAMPLES" not in os.environ
LEFT_OUT = {"POST /v1/webhooks"}  # see above


@pytest.fixture(scope="module")
def offline_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on a port of its own, reaching nothing past this machine."""
    port = free_port()
    offline = settings.model_copy(
        update={
            "port": port,
            "public_url": f"http://127.0.0.1:{port}",
            "trust_dir": tmp_path_factory.mktemp("trust"),
            "trust_dir_only": True,
        }
    )
    yield from serve(offline)


@dataclass
class Tally:
    """What the fuzzer sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ungenerated: list[str] = field(default_factory=list)


async def _stored_things(server: str, tokens: dict[str, str], slug: str) -> dict[str, str]:
    """Real path parameter values: an achievement, a credential, a stack, a lattice role,
    made through `server` (so that their URLs and DIDs are its own). The credential's
    recipient is returned as `recipient`."""

    async def post(who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        async with httpx.AsyncClient(base_url=server, headers=headers, timeout=60) as http:
            response = await http.post(path, json=body)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    achievement = await post(
        "provider",
        f"/v1/issuers/{slug}/achievements",
        {
            "name": "Fuzzing",
            "description": "Made for the fuzzer.",
            "criteria": {"narrative": "None."},
        },
    )
    recipient = f"fuzz-{uuid.uuid4().hex[:8]}@example.org"
    issued = await post(
        "provider",
        f"/v1/issuers/{slug}/credentials",
        {"achievementId": achievement["id"], "recipient": {"email": recipient}},
    )
    rule = {"achievement": achievement["url"]}
    stack = await post("agency", "/v1/agency/stacks", {"code": "F", "name": "F", "rule": rule})
    role = {"key": "lead", "name": "Lead", "rule": {"stack": stack["id"]}}
    lattice = await post("agency", "/v1/agency/lattices", {"name": "L", "roles": [role]})
    return {
        "slug": slug,
        "achievement_id": achievement["id"],
        "credential_id": issued["id"],
        "credential_ref": issued["id"],
        "stack_id": stack["id"].rsplit("/", 1)[1],
        "lattice_id": lattice["id"].rsplit("/", 1)[1],
        "key": "lead",
        "recipient": recipient,
    }


async def _wallet_offer(
    server: str, sessions: Any, vault: KeyVault, recipient: str, credential_id: str
) -> tuple[str, str]:
    """The recipient's "Add to a wallet app" links for her badge: a VC-API exchange (its id)
    and an OpenID4VCI offer, whose pre-authorized code is redeemed (its access token)."""
    browser = await signed_in_teacher(server, sessions, vault, recipient)
    try:
        page = await wallet_page(browser, credential_id)
    finally:
        await browser.aclose()
    exchange_url = parse_qs(urlsplit(page.lcw).query)["vc_request_url"][0]
    offer = json.loads(parse_qs(urlsplit(page.offer).query)["credential_offer"][0])
    [grant] = offer["grants"].values()
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        response = await http.post(
            "/oid4vci/token",
            data={"grant_type": next(iter(offer["grants"])), **grant},
        )
    assert response.status_code == 200, response.text
    return exchange_url.rsplit("/", 1)[1], str(response.json()["access_token"])


def _token_for(operation: Any, tokens: dict[str, str]) -> dict[str, str]:
    """The bearer token whose scheme and scopes the operation's security requirement names."""
    for requirement in operation.definition.raw.get("security", ()):
        if OID4VCI_BEARER in requirement:
            return {"Authorization": f"Bearer {tokens['wallet']}"}
        if TEACHER_APP_OAUTH in requirement:
            return {"Authorization": f"Bearer {tokens['teacher']}"}
        if PROVIDER_OAUTH in requirement:
            agency_only = set(requirement[PROVIDER_OAUTH]) - set(PROVIDER_SCOPES)
            holder = "agency" if agency_only else "provider"
            return {"Authorization": f"Bearer {tokens[holder]}"}
    return {}


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    send: Callable[[Any], httpx.Response | Any],
    tally: Tally,
    things: dict[str, str],
) -> None:
    names = {parameter.name for parameter in operation.path_parameters}
    strategy = operation.as_strategy(
        generation_mode=mode,
        path_parameters={name: value for name, value in things.items() if name in names},
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = send(case)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors.append(
                f"{response.status_code} {case.as_curl_command()}\n{response.text[:500]}"
            )

    run()


def _run_all(server: str, tokens: dict[str, str], things: dict[str, str]) -> Tally:
    document = httpx.get(f"{server}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in LEFT_OUT:
            continue
        headers = _token_for(operation, tokens)

        def send(case: Any, headers: dict[str, str] = headers) -> Any:
            return case.call(base_url=server, headers=headers, timeout=60)

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                tally.skipped.append(f"{operation.label} ({mode.value})")
                continue
            try:
                _fuzz(operation, mode, send, tally, things)
            except Unsatisfiable:  # no invalid input exists (e.g. no parameters at all)
                tally.ungenerated.append(f"{operation.label} ({mode.value})")
    return tally


async def test_no_operation_answers_a_server_error(
    offline_server: str,
    provider: Provider,
    agency: AgencyClient,
    sessions: Any,
    vault: KeyVault,
):
    tokens = {
        "provider": provider.http.headers["Authorization"].split(" ", 1)[1],
        "agency": agency.http.headers["Authorization"].split(" ", 1)[1],
        "teacher": await teacher_app_token(sessions, vault),
    }
    things = await _stored_things(offline_server, tokens, provider.slug)
    things["exchange_id"], tokens["wallet"] = await _wallet_offer(
        offline_server, sessions, vault, things.pop("recipient"), things["credential_id"]
    )
    started = time.monotonic()

    tally = await asyncio.to_thread(_run_all, offline_server, tokens, things)

    seconds = time.monotonic() - started
    print(
        f"\nfuzzed: {tally.requests} requests in {seconds:.0f} s, statuses "
        f"{dict(sorted(tally.statuses.items()))}, {len(tally.server_errors)} server errors, "
        f"{len(tally.skipped)} operation runs left for lack of time, "
        f"{len(tally.ungenerated)} with no invalid input to make"
    )
    assert tally.requests > 0
    authenticated = sum(n for status, n in tally.statuses.items() if status not in (401, 403))
    assert authenticated > tally.requests // 2, "most requests must pass authentication"
    assert not tally.server_errors, "\n\n".join(tally.server_errors[:10])
