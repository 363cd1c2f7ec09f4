"""Bad issuance input: a clear 4xx problem+json naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Credential, CredentialEvent
from tests.conftest import Provider, make_provider

PROBLEM = "application/problem+json"


async def _credential_count(sessions: Any) -> tuple[int, int]:
    async with sessions() as session:
        credentials = await session.scalar(select(func.count()).select_from(Credential))
        events = await session.scalar(select(func.count()).select_from(CredentialEvent))
    return credentials, events


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"achievementId": "6f1c7a52-0000-4000-8000-000000000000"}, 422, "achievementId"),
        ({"achievementId": "not-a-uuid"}, 422, "achievementId"),
        ({"recipient": {"email": "jane@@example"}}, 422, "recipient.email"),
        ({"recipient": {}}, 422, "recipient"),
        ({"recipient": {"educatorId": "123"}}, 422, "recipient.state"),
        ({"recipient": {"email": "a@example.org", "did": "not a did"}}, 422, "recipient.did"),
        (
            {"validFrom": "2030-01-01T00:00:00Z", "validUntil": "2029-01-01T00:00:00Z"},
            422,
            "validUntil",
        ),
        ({"validUntil": "2030-01-01T00:00:00"}, 422, "validUntil"),
        ({"favouriteColour": "blue"}, 422, "favouriteColour"),
        ({"evidence": [{"url": "not a url"}]}, 422, "evidence[0].url"),
        ({"results": [{"resultDescription": "no-such-row"}]}, 422, "results[0].resultDescription"),
        (
            {"results": [{"resultDescription": "lesson-plan", "achievedLevel": "expert"}]},
            422,
            "results[0].achievedLevel",
        ),
        ({"jwtAlgorithm": "HS256"}, 422, "jwtAlgorithm"),
        ({"didMethod": "key", "jwtAlgorithm": "RS256"}, 422, "jwtAlgorithm"),
    ],
)
async def test_invalid_awards_are_refused_naming_the_field(
    provider: Provider, sessions: Any, change: dict[str, Any], status: int, field: str
):
    achievement = await provider.create_achievement()
    before = await _credential_count(sessions)

    response = await provider.issue(achievement["id"], **change)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]]
    assert await _credential_count(sessions) == before


async def test_another_issuers_achievement_cannot_be_awarded(
    provider: Provider, server: str, sessions: Any, issuer: Any, vault: Any
):
    from badges.issuers.issuers import (
        IssuerDetails,
        create_issuer,
    )
    from storage.session import transaction

    async with transaction(sessions) as session:
        other_issuer = await create_issuer(
            session, vault, IssuerDetails("other-" + issuer.slug, "BloomBoard")
        )
    other = await make_provider(server, sessions, other_issuer)
    theirs = await other.create_achievement()
    before = await _credential_count(sessions)

    response = await provider.issue(theirs["id"])
    into_their_issuer = await provider.http.post(
        f"/v1/issuers/{other.slug}/credentials",
        json={"achievementId": theirs["id"], "recipient": {"email": "a@example.org"}},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "achievementId"
    assert into_their_issuer.status_code == 403
    assert await _credential_count(sessions) == before
    await other.http.aclose()


async def test_issuing_needs_the_credentials_issue_scope(server: str, sessions: Any, issuer: Any):
    reader = await make_provider(server, sessions, issuer, scopes=("achievements:write",))
    achievement = await reader.create_achievement()

    response = await reader.issue(achievement["id"])

    assert response.status_code == 403
    assert "credentials:issue" in response.json()["detail"]
    assert "insufficient_scope" in response.headers["www-authenticate"]
    await reader.http.aclose()


async def test_issuing_without_a_token_is_unauthorized(public: Any, provider: Provider):
    achievement = await provider.create_achievement()

    response = await public.post(
        f"/v1/issuers/{provider.slug}/credentials",
        json={"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}},
    )
    forged = await public.post(
        f"/v1/issuers/{provider.slug}/credentials",
        headers={"Authorization": "Bearer forged"},
        json={"achievementId": achievement["id"], "recipient": {"email": "a@example.org"}},
    )

    assert (response.status_code, forged.status_code) == (401, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_oversized_body_is_refused_before_it_is_read(
    provider: Provider, settings: Any, sessions: Any
):
    achievement = await provider.create_achievement()
    before = await _credential_count(sessions)
    narrative = "x" * (settings.max_body_bytes + 1)

    response = await provider.issue(achievement["id"], evidence=[{"narrative": narrative}])

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await _credential_count(sessions) == before


async def test_malformed_json_is_a_client_error(provider: Provider):
    response = await provider.http.post(
        f"/v1/issuers/{provider.slug}/credentials",
        content=b'{"achievementId": ',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_an_archived_achievement_is_no_longer_awarded(provider: Provider):
    achievement = await provider.create_achievement()
    archived = await provider.http.delete(
        f"/v1/issuers/{provider.slug}/achievements/{achievement['id']}"
    )

    response = await provider.issue(achievement["id"])

    assert archived.json()["archived"] is True
    assert response.status_code == 422
    assert "archived" in response.json()["detail"]
