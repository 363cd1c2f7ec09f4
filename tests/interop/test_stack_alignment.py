"""Stack and lattice membership travels inside the badge, in terms every verifier accepts."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.json_schemas import schema_errors
from tests.conftest import AgencyClient, Provider, node_verify

pytestmark = pytest.mark.interop


async def test_a_badge_names_its_stacks_and_lattice_roles_and_still_verifies(
    provider: Provider, agency: AgencyClient, public: Any
):
    achievement = await provider.create_achievement(name="Phonics Instruction")
    await agency.http.post(
        "/v1/agency/approvals",
        json={
            "achievementId": achievement["url"],
            "purpose": "endorsement",
            "effectiveFrom": "2020-01-01T00:00:00Z",
        },
    )
    stack = (
        await agency.http.post(
            "/v1/agency/stacks",
            json={
                "code": "LIT-1",
                "name": "Early Literacy",
                "rule": {"atLeast": 1, "of": [achievement["url"]]},
            },
        )
    ).json()
    lattice = (
        await agency.http.post(
            "/v1/agency/lattices",
            json={
                "name": "Texas career lattice",
                "roles": [
                    {
                        "key": "reading-coach",
                        "name": "Reading Coach",
                        "rule": {"stack": stack["id"]},
                    }
                ],
            },
        )
    ).json()

    issued = (await provider.issue(achievement["id"])).json()

    alignments = issued["credential"]["credentialSubject"]["achievement"]["alignment"]
    by_type = {item["targetType"]: item for item in alignments}
    assert by_type["ext:MicroCredentialStack"]["targetUrl"] == stack["id"]
    assert by_type["ext:MicroCredentialStack"]["targetCode"] == "LIT-1"
    assert by_type["ext:CareerLatticeRole"]["targetUrl"] == lattice["roles"][0]["id"]
    assert (await public.get(by_type["ext:MicroCredentialStack"]["targetUrl"])).status_code == 200
    assert schema_errors(issued["credential"]) == []
    display = (await public.post("/v1/verify", json={"url": issued["url"]})).json()["display"]
    assert display["stacks"] == [{"name": "Early Literacy", "url": stack["id"]}]
    assert display["latticeRoles"][0]["name"] == "Reading Coach"
    reports = node_verify(issued["url"], "--verifier", "all")
    assert all(report["verified"] for report in reports), reports


async def test_a_badge_names_every_level_it_counts_toward_and_still_verifies(
    provider: Provider, agency: AgencyClient, public: Any
):
    """An MC in stack A, nested in stack B, which a lattice role names: all three levels."""
    achievement = await provider.create_achievement(name="Phonemic Awareness")
    await agency.http.post(
        "/v1/agency/approvals",
        json={"achievementId": achievement["url"], "purpose": "endorsement"},
    )
    inner = (
        await agency.http.post(
            "/v1/agency/stacks",
            json={
                "code": "LIT-A",
                "name": "Foundations",
                "rule": {"achievement": achievement["url"]},
            },
        )
    ).json()
    outer = (
        await agency.http.post(
            "/v1/agency/stacks",
            json={"code": "LIT-B", "name": "Reading Endorsement", "rule": {"stack": inner["id"]}},
        )
    ).json()
    lattice = (
        await agency.http.post(
            "/v1/agency/lattices",
            json={
                "name": "Literacy lattice",
                "roles": [
                    {
                        "key": "specialist",
                        "name": "Reading Specialist",
                        "rule": {"stack": outer["id"]},
                    }
                ],
            },
        )
    ).json()

    issued = (await provider.issue(achievement["id"])).json()

    alignments = issued["credential"]["credentialSubject"]["achievement"]["alignment"]
    targets = {(item["targetType"], item["targetUrl"]): item for item in alignments}
    assert set(targets) == {
        ("ext:MicroCredentialStack", inner["id"]),
        ("ext:MicroCredentialStack", outer["id"]),
        ("ext:CareerLatticeRole", lattice["roles"][0]["id"]),
    }
    outer_alignment = targets[("ext:MicroCredentialStack", outer["id"])]
    assert "through Foundations" in outer_alignment["targetDescription"]
    role_alignment = targets[("ext:CareerLatticeRole", lattice["roles"][0]["id"])]
    assert "through Foundations, then Reading Endorsement" in role_alignment["targetDescription"]
    assert schema_errors(issued["credential"]) == []
    display = (await public.post("/v1/verify", json={"url": issued["url"]})).json()["display"]
    assert [item["url"] for item in display["stacks"]] == [inner["id"], outer["id"]]
    assert [item["name"] for item in display["latticeRoles"]] == ["Reading Specialist"]
    reports = node_verify(issued["url"], "--verifier", "all")
    assert all(report["verified"] for report in reports), reports
