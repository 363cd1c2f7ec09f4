"""A CLR 2.0 record an agency exports is a credential like any other: the educator's other
views keep working after it, and it verifies as valid in Lattice and in the independent
verifiers, with its stack credentials."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.keypair import KeyPair
from keys.multikey import did_key_for, did_key_verification_method
from keys.vc_jwt import encode_vc_jwt
from schemas.contexts import SPEC_DIR
from tests.app.wallets.test_teachers import sign_in
from tests.builders import unsigned_open_badge
from tests.conftest import AgencyClient, Provider, node_verify

pytestmark = pytest.mark.interop

CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"


def _teacher() -> dict[str, str]:
    return {
        "educatorId": str(uuid.uuid4().int)[:7],
        "state": "TX",
        "email": f"teacher-{uuid.uuid4().hex[:8]}@example.org",
    }


def _id(document: dict[str, Any]) -> str:
    return str(document["id"]).rsplit("/", 1)[1]


async def _completed_stack(
    provider: Provider, agency: AgencyClient, teacher: dict[str, str]
) -> dict[str, Any]:
    """A two-MC coaching stack the teacher has completed, in a one-role lattice."""
    achievements = []
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
        issued = await provider.issue(achievement["id"], recipient={"email": teacher["email"]})
        assert issued.status_code == 201, issued.text
        achievements.append(achievement["url"])
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
    lattice = await agency.http.post(
        "/v1/agency/lattices",
        json={
            "name": "Career lattice",
            "roles": [{"key": "coach", "name": "Coach", "rule": {"stack": stack.json()["id"]}}],
        },
    )
    assert lattice.status_code == 201, lattice.text
    registered = await agency.http.post("/v1/agency/educators", json=teacher)
    assert registered.status_code == 201, registered.text
    return {"stack": stack.json(), "lattice": lattice.json()}


async def _export_clr(
    agency: AgencyClient, teacher: dict[str, str], made: dict[str, Any]
) -> dict[str, Any]:
    stack_id = made["stack"]["id"].rsplit("/", 1)[1]
    response = await agency.http.post(
        "/v1/agency/clr", json={"educator": teacher, "stackId": stack_id}
    )
    assert response.status_code == 201, response.text
    exported: dict[str, Any] = response.json()
    return exported


async def test_after_a_clr_export_every_view_of_the_educator_still_answers(
    provider: Provider, agency: AgencyClient, server: str, sessions: Any
):
    teacher = _teacher()
    made = await _completed_stack(provider, agency, teacher)
    stack_id = made["stack"]["id"].rsplit("/", 1)[1]
    lattice_id = made["lattice"]["id"].rsplit("/", 1)[1]
    await _export_clr(agency, teacher, made)

    progress = await agency.http.post("/v1/agency/progress", json={"educator": teacher})
    stack = await agency.http.post(
        "/v1/agency/evaluations", json={"educator": teacher, "stackId": stack_id}
    )
    role = await agency.http.post(
        "/v1/agency/evaluations", json={"educator": teacher, "latticeId": lattice_id}
    )
    again = await agency.http.post(
        "/v1/agency/clr", json={"educator": teacher, "stackId": stack_id}
    )
    async with httpx.AsyncClient(base_url=server, timeout=30) as browser:
        signed_in = await sign_in(browser, sessions, teacher["email"])
        assert signed_in.status_code == 303, signed_in.text
        page = await browser.get("/teacher/progress")

    for response in (progress, stack, role, again, page):
        assert response.is_success, (response.request.url, response.status_code, response.text)
    assert stack.json()["met"] is True
    assert role.json()["roles"][0]["met"] is True
    assert "Instructional Coaching" in page.text


async def test_the_exported_clr_and_stack_credential_verify_in_lattice_and_node_verifiers(
    provider: Provider, agency: AgencyClient, public: Any, tmp_path: Path
):
    teacher = _teacher()
    made = await _completed_stack(provider, agency, teacher)

    exported = await _export_clr(agency, teacher, made)
    awarded = await agency.http.post(
        "/v1/agency/stack-credentials",
        json={"educator": teacher, "stackId": _id(made["stack"])},
    )

    assert awarded.status_code == 201, awarded.text
    stack_report = (await public.post("/v1/verify", json={"url": awarded.json()["url"]})).json()
    assert stack_report["verdict"] == "verified", stack_report
    report = (await public.post("/v1/verify", json={"url": exported["url"]})).json()
    assert report["verdict"] == "verified", json.dumps(report, indent=1)
    page = await public.get(exported["url"], headers={"Accept": "text/html"})
    assert 'data-verdict="verified"' in page.text, page.text
    path = tmp_path / "clr.json"
    path.write_text(json.dumps(exported["credential"]))
    context_file = SPEC_DIR / "clr2" / "contexts" / "context-2.0.1.json"
    reports = node_verify(path, "--verifier", "all", "--context", f"{CLR_CONTEXT}={context_file}")
    assert all(item["verified"] for item in reports), reports


def _foreign_vc_jwt(achievement_id: str, email: str) -> str:
    """An OB 3.0 credential from another issuer (a did:key), as a VC-JWT naming her e-mail."""
    key = Ed25519PrivateKey.generate()
    credential = unsigned_open_badge(did_key_for(key.public_key()))
    credential["id"] = f"urn:uuid:{uuid.uuid4()}"
    credential["validFrom"] = "2025-01-01T00:00:00Z"
    subject = credential["credentialSubject"]
    subject["achievement"]["id"] = achievement_id
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": False,
            "identityHash": email,
        }
    ]
    kid = did_key_verification_method(key.public_key())
    return encode_vc_jwt(credential, KeyPair("Ed25519", key), kid=kid)


async def test_a_submitted_vc_jwt_is_carried_as_an_enveloped_credential_that_verifies(
    agency: AgencyClient, public: Any, tmp_path: Path
):
    teacher = _teacher()
    achievement = "https://provider.example.org/achievements/family-literacy"
    await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement,
            "purpose": "advancement",
            "effectiveFrom": "2020-01-01T00:00:00Z",
        },
    )
    stack = await agency.http.post(
        "/v1/agency/stacks",
        json={"code": "FAM", "name": "Family literacy", "rule": {"achievement": achievement}},
    )
    token = _foreign_vc_jwt(achievement, teacher["email"])
    submitted = await agency.http.post(
        "/v1/agency/submissions", json={"educator": teacher, "credentials": [token]}
    )
    assert submitted.json()["results"][0]["accepted"] is True, submitted.text

    exported = await _export_clr(agency, teacher, {"stack": stack.json()})

    carried = exported["credential"]["credentialSubject"]["verifiableCredential"]
    assert carried == [
        {
            "@context": "https://www.w3.org/ns/credentials/v2",
            "id": f"data:application/vc+jwt,{token}",
            "type": "EnvelopedVerifiableCredential",
        }
    ]
    report = (await public.post("/v1/verify", json={"url": exported["url"]})).json()
    assert report["verdict"] == "verified", report
    path = tmp_path / "clr.json"
    path.write_text(json.dumps(exported["credential"]))
    context_file = SPEC_DIR / "clr2" / "contexts" / "context-2.0.1.json"
    reports = node_verify(path, "--verifier", "all", "--context", f"{CLR_CONTEXT}={context_file}")
    assert all(item["verified"] for item in reports), reports
