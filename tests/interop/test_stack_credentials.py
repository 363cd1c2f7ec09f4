"""A completed stack becomes a credential from the agency, and progress a CLR 2.0 record;
both verify in the independent verifiers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.contexts import SPEC_DIR
from schemas.json_schemas import schema_errors
from tests.conftest import AgencyClient, Provider, node_verify

pytestmark = pytest.mark.interop

TEACHER = {"educatorId": "7654321", "state": "TX"}
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"


async def _completed_stack(provider: Provider, agency: AgencyClient) -> tuple[str, list[str]]:
    """A two-MC stack the teacher has completed: (stack id, her credentials' URLs)."""
    achievements, credentials = [], []
    for n in range(2):
        achievement = await provider.create_achievement(name=f"Coaching MC {n}")
        await agency.http.post(
            "/v1/agency/approvals",
            json={
                "achievementId": achievement["url"],
                "purpose": "advancement",
                "effectiveFrom": "2020-01-01T00:00:00Z",
            },
        )
        issued = await provider.issue(achievement["id"], recipient=TEACHER)
        achievements.append(achievement["url"])
        credentials.append(issued.json()["url"])
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={
            "code": "COACH",
            "name": "Instructional Coaching",
            "rule": {"atLeast": 2, "of": achievements},
            "purpose": "advancement",
        },
    )
    assert stack.status_code == 201, stack.text
    registered = await agency.http.post("/v1/agency/educators", json=TEACHER)
    assert registered.status_code == 201, registered.text
    return stack.json()["id"].rsplit("/", 1)[1], credentials


async def test_a_completed_stack_is_awarded_with_its_credentials_as_evidence(
    provider: Provider, agency: AgencyClient, tmp_path: Path
):
    stack_id, constituents = await _completed_stack(provider, agency)

    response = await agency.http.post(
        "/v1/agency/stack-credentials", json={"educator": TEACHER, "stackId": stack_id}
    )

    assert response.status_code == 201, response.text
    credential = response.json()["credential"]
    assert credential["issuer"]["id"].endswith(f":issuers:{agency.slug}")
    assert sorted(item["id"] for item in credential["evidence"]) == sorted(constituents)
    assert schema_errors(credential) == []
    reports = node_verify(response.json()["url"], "--verifier", "all")
    assert all(report["verified"] for report in reports), reports


async def test_an_incomplete_stack_is_not_awarded(provider: Provider, agency: AgencyClient):
    stack_id, _ = await _completed_stack(provider, agency)
    someone_else = {"educatorId": "0000000", "state": "TX"}  # registered, holding nothing
    await agency.http.post("/v1/agency/educators", json=someone_else)

    response = await agency.http.post(
        "/v1/agency/stack-credentials", json={"educator": someone_else, "stackId": stack_id}
    )

    assert response.status_code == 409
    assert "missing" in response.json()["detail"]


async def test_progress_exports_as_a_clr_that_verifies(
    provider: Provider, agency: AgencyClient, tmp_path: Path
):
    stack_id, _ = await _completed_stack(provider, agency)

    response = await agency.http.post(
        "/v1/agency/clr", json={"educator": TEACHER, "stackId": stack_id}
    )

    assert response.status_code == 201, response.text
    clr = response.json()["credential"]
    subject = clr["credentialSubject"]
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert len(subject["verifiableCredential"]) == 2
    assert {item["associationType"] for item in subject["association"]} == {"isPartOf"}
    path = tmp_path / "clr.json"
    path.write_text(json.dumps(clr))
    context_file = SPEC_DIR / "clr2" / "contexts" / "context-2.0.1.json"
    reports = node_verify(path, "--verifier", "all", "--context", f"{CLR_CONTEXT}={context_file}")
    assert all(report["verified"] for report in reports), reports
