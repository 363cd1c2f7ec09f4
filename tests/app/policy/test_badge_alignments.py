"""The stacks a badge names are the agency's stacks when it is issued: the per-process
snapshot of stacks and lattices (`badges.policy.badge_alignments`) is read again after
every change, however many badges were issued from it before."""

from __future__ import annotations

from typing import Any

from tests.conftest import AgencyClient, Provider


def _stacks_named(issued: dict[str, Any]) -> list[tuple[str, str]]:
    achievement = issued["credential"]["credentialSubject"]["achievement"]
    return [
        (item["targetCode"], item["targetName"])
        for item in achievement.get("alignment", [])
        if item["targetType"] == "ext:MicroCredentialStack"
    ]


async def test_a_stack_added_or_revised_reaches_the_next_badge(
    provider: Provider, agency: AgencyClient
):
    achievement = await provider.create_achievement(name="Questioning Strategies")
    await agency.http.post(
        "/v1/agency/approvals",
        json={"achievementId": achievement["url"], "purpose": "endorsement"},
    )
    assert _stacks_named((await provider.issue(achievement["id"])).json()) == []

    rule = {"atLeast": 1, "of": [achievement["url"]]}
    created = await agency.http.post(
        "/v1/agency/stacks", json={"code": "Q-1", "name": "Questioning", "rule": rule}
    )
    assert created.status_code == 201, created.text
    assert _stacks_named((await provider.issue(achievement["id"])).json()) == [
        ("Q-1", "Questioning")
    ]

    revised = await agency.http.put(
        f"/v1/agency/stacks/{created.json()['id'].rsplit('/', 1)[1]}",
        json={"code": "Q-2", "name": "Questioning, revised", "rule": rule},
    )
    assert revised.status_code == 201, revised.text
    assert _stacks_named((await provider.issue(achievement["id"])).json()) == [
        ("Q-2", "Questioning, revised")
    ]
