"""Achievements: the micro-credential definitions providers manage and verifiers read."""

from __future__ import annotations

from typing import Any

from tests.conftest import Provider


async def test_an_achievement_is_published_as_ob_3_json(provider: Provider, public: Any):
    created = await provider.create_achievement(
        image={"url": "https://example.org/badge.png", "caption": "Close reading badge"},
        tags=["literacy", "ela"],
        alignment=[
            {
                "targetName": "CCSS.ELA-LITERACY.RL.4.1",
                "targetFramework": "CCSS",
                "targetUrl": "https://www.thecorestandards.org/ELA-Literacy/RL/4/1/",
                "targetCode": "RL.4.1",
                "targetType": "CFItem",
            }
        ],
        version="2026.1",
    )

    served = await public.get(created["url"])

    document = served.json()
    assert served.headers["content-type"].startswith("application/ld+json")
    assert document["id"] == created["url"]
    assert document["type"] == ["Achievement"]
    assert document["achievementType"] == "MicroCredential"
    assert document["criteria"]["narrative"].startswith("Submit a lesson plan")
    assert document["image"] == {
        "id": "https://example.org/badge.png",
        "type": "Image",
        "caption": "Close reading badge",
    }
    assert document["alignment"][0]["targetCode"] == "RL.4.1"
    levels = document["resultDescription"][0]["rubricCriterionLevel"]
    assert [level["name"] for level in levels] == ["Developing", "Proficient"]
    assert document["resultDescription"][0]["requiredLevel"] == levels[1]["id"]


async def test_an_unissued_achievement_is_edited_in_place(provider: Provider):
    created = await provider.create_achievement()

    response = await provider.http.put(
        f"/v1/issuers/{provider.slug}/achievements/{created['id']}",
        json={"name": "Renamed", "description": "d", "criteria": {"narrative": "n"}},
    )

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["achievement"]["name"] == "Renamed"


async def test_editing_an_issued_achievement_makes_a_new_revision(provider: Provider, public: Any):
    created = await provider.create_achievement()
    issued = (await provider.issue(created["id"])).json()

    response = await provider.http.put(
        f"/v1/issuers/{provider.slug}/achievements/{created['id']}",
        json={"name": "Close Reading (2027)", "description": "d", "criteria": {"narrative": "n"}},
    )

    revision = response.json()
    assert response.status_code == 201
    assert revision["id"] != created["id"]
    assert (revision["lineageId"], revision["revision"]) == (created["id"], 2)
    old = (await public.get(created["url"])).json()
    assert old["name"] == issued["credential"]["credentialSubject"]["achievement"]["name"]
    listed = (await provider.http.get(f"/v1/issuers/{provider.slug}/achievements")).json()
    assert [item["id"] for item in listed] == [revision["id"]]
    stale = await provider.issue(created["id"])
    assert stale.status_code == 422


async def test_invalid_definitions_name_the_field(provider: Provider):
    url = f"/v1/issuers/{provider.slug}/achievements"
    cases = [
        ({"name": "x", "description": "d", "criteria": {}}, "criteria"),
        (
            {
                "name": "x",
                "description": "d",
                "criteria": {"narrative": "n"},
                "achievementType": "Cupcake",
            },
            "achievementType",
        ),
        ({"name": "", "description": "d", "criteria": {"narrative": "n"}}, "name"),
        (
            {
                "name": "x",
                "description": "d",
                "criteria": {"narrative": "n"},
                "resultDescription": [
                    {"key": "a", "name": "A", "rubricCriterionLevel": [], "requiredLevel": "b"}
                ],
            },
            "resultDescription[0]",
        ),
    ]
    for body, field in cases:
        response = await provider.http.post(url, json=body)
        assert response.status_code == 422, body
        fields = [error["field"] for error in response.json()["errors"]]
        assert any(item.startswith(field) for item in fields), (fields, field)


async def test_a_provider_cannot_see_another_issuers_achievements(provider: Provider):
    response = await provider.http.get("/v1/issuers/someone-else/achievements")

    assert response.status_code in (403, 404)
