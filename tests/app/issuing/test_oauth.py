"""Provider authentication: OAuth 2.0 client credentials with client_secret_basic."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Provider


async def test_a_client_gets_a_short_lived_bearer_token(provider: Provider, public: Any, settings):
    response = await public.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(provider.client_id, provider.client_secret),
    )

    token = response.json()
    assert response.status_code == 200
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == settings.token_ttl_seconds
    assert set(token["scope"].split()) == {
        "achievements:write",
        "credentials:issue",
        "credentials:revoke",
        "credentials:read",
        "webhooks:manage",
    }
    assert response.headers["cache-control"] == "no-store"


async def test_a_token_can_be_narrowed_to_fewer_scopes(provider: Provider, public: Any):
    response = await public.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "credentials:read"},
        auth=(provider.client_id, provider.client_secret),
    )
    narrow = httpx.AsyncClient(
        base_url=str(public.base_url),
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )

    achievement = await narrow.post(f"/v1/issuers/{provider.slug}/achievements", json={})

    assert response.json()["scope"] == "credentials:read"
    assert achievement.status_code == 403
    await narrow.aclose()


async def test_a_wrong_secret_is_invalid_client(provider: Provider, public: Any):
    response = await public.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(provider.client_id, "wrong"),
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_secrets_in_the_form_body_are_not_accepted(provider: Provider, public: Any):
    response = await public.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        },
    )

    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


async def test_other_grant_types_are_refused(provider: Provider, public: Any):
    response = await public.post(
        "/oauth/token",
        data={"grant_type": "password"},
        auth=(provider.client_id, provider.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_an_unknown_scope_is_invalid_scope(provider: Provider, public: Any):
    response = await public.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(provider.client_id, provider.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_the_secret_is_stored_hashed(provider: Provider, sessions: Any):
    from badges.issuers.clients import find_client

    async with sessions() as session:
        client = await find_client(session, provider.client_id)

    assert client is not None
    assert provider.client_secret not in client.secret_hash
