"""A teacher's OB 3.0 app token, made by the real functions the authorization code flow runs
(tests/app/wallets/test_ob_api.py walks the flow itself over HTTP)."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

import httpx

from badges.issuers.issuers import KeyVault
from badges.wallets.ob_clients import (
    OB_SCOPES,
    CodeRequest,
    TokenLifetimes,
    find_code,
    new_client_id,
    new_secret,
    register_client,
    store_code,
    store_token,
)
from badges.wallets.teachers import (
    redeem_code,
    start_sign_in,
    teacher_for_code,
)
from storage.session import transaction


async def teacher_app_token(sessions: Any, vault: KeyVault, address: str | None = None) -> str:
    """An access token holding every OB scope, for a teacher (signed in as `address`, or a
    new one) who approved an app."""
    address = address or f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    scope = " ".join(OB_SCOPES)
    async with transaction(sessions) as session:
        issued = await start_sign_in(
            session, vault, address, client_address=None, lifetime=timedelta(minutes=5)
        )
        teacher = await teacher_for_code(
            session, await redeem_code(session, vault, address, issued.code)
        )
        metadata = {"client_name": "Backpack", "scope": scope}
        client = await register_client(session, new_client_id(), new_secret(), metadata)
        code = secrets.token_urlsafe(32)
        approved = CodeRequest(client, teacher.id, "https://app.example/cb", scope, "x", "S256")
        await store_code(session, code, approved)
        grant = await find_code(session, code)
        assert grant is not None
        token = secrets.token_urlsafe(32)
        await store_token(
            session,
            {"access_token": token, "scope": scope},
            grant_id=grant.id,
            client=client,
            teacher_id=teacher.id,
            lifetimes=TokenLifetimes(timedelta(hours=1), timedelta(hours=1)),
        )
    return token


async def push_with_app(server: str, token: str, credential: dict[str, Any]) -> httpx.Response:
    """The teacher's app pushes `credential` to her backpack (OB 3.0 API upsert)."""
    async with httpx.AsyncClient(base_url=server, timeout=60) as app:
        return await app.post(
            "/ims/ob/v3p0/credentials",
            json=credential,
            headers={"Authorization": f"Bearer {token}"},
        )
