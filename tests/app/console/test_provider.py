"""A provider's console over HTTP: achievements (revisions, images), issuing one badge,
finding it, changing its status; staff versus admins."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from badges.issuers.issuers import KeyVault
from storage.models import Achievement, Issuer
from tests.app.console.staff import add_staff_member, csrf_in, signed_in_client
from tests.builders import tiny_png


def _base(issuer: Issuer) -> str:
    return f"/console/issuers/{issuer.slug}"


async def _create(console: httpx.AsyncClient, issuer: Issuer, **fields: Any) -> str:
    """Create an achievement through the form; its id."""
    token = csrf_in((await console.get(f"{_base(issuer)}/achievements/new")).text)
    data = {
        "csrf": token,
        "name": "Number Talks",
        "description": "Leads short daily number talks.",
        "criteria_narrative": "A video of a number talk and a reflection.",
        "achievement_type": "MicroCredential",
        "tags": "math, elementary",
        "image_choice": "generated",
    } | fields
    created = await console.post(f"{_base(issuer)}/achievements/new", data=data)
    assert created.status_code == 303, created.text
    found = re.search(r"/achievements/([0-9a-f-]{36})", created.headers["location"])
    assert found
    return found.group(1)


async def _issue(console: httpx.AsyncClient, issuer: Issuer, achievement: str, email: str) -> str:
    token = csrf_in((await console.get(f"{_base(issuer)}/issue")).text)
    issued = await console.post(
        f"{_base(issuer)}/issue",
        data={"csrf": token, "achievement": achievement, "email": email, "name": "Ada Byron"},
    )
    assert issued.status_code == 303, issued.text
    found = re.search(r"/credentials/([0-9a-f-]{36})", issued.headers["location"])
    assert found
    return found.group(1)


async def test_an_achievement_is_created_and_an_edit_after_issuing_is_a_new_revision(
    console: httpx.AsyncClient, issuer: Issuer, sessions: Any
):
    first = await _create(console, issuer)
    await _issue(console, issuer, first, "ada@example.org")
    page = await console.get(f"{_base(issuer)}/achievements/{first}")
    edited = await console.post(
        f"{_base(issuer)}/achievements/{first}",
        data={
            "csrf": csrf_in(page.text),
            "name": "Number Talks II",
            "description": "Leads short daily number talks.",
            "criteria_narrative": "A video.",
            "achievement_type": "MicroCredential",
            "image_choice": "generated",
        },
    )
    second = re.search(r"/achievements/([0-9a-f-]{36})\?saved=revision", edited.headers["location"])
    listing = await console.get(f"{_base(issuer)}/achievements")

    assert edited.status_code == 303 and second and second.group(1) != first
    async with sessions() as session:
        rows = list(
            await session.scalars(select(Achievement).where(Achievement.issuer_id == issuer.id))
        )
    assert sorted((r.revision, r.name, r.is_current) for r in rows) == [
        (1, "Number Talks", False),
        (2, "Number Talks II", True),
    ]
    assert "Number Talks II" in listing.text and ">Number Talks<" not in listing.text


async def test_a_form_error_is_shown_beside_the_field(console: httpx.AsyncClient, issuer: Issuer):
    token = csrf_in((await console.get(f"{_base(issuer)}/achievements/new")).text)
    refused = await console.post(
        f"{_base(issuer)}/achievements/new",
        data={"csrf": token, "name": "X", "description": "Y", "image_choice": "generated"},
    )

    assert refused.status_code == 422
    assert 'id="criteria-error"' in refused.text and "criteria needs a narrative" in refused.text


async def test_an_uploaded_png_becomes_the_badge_image_and_anything_else_is_refused(
    console: httpx.AsyncClient, issuer: Issuer, public: httpx.AsyncClient, sessions: Any
):
    form = await console.get(f"{_base(issuer)}/achievements/new")
    data = {
        "csrf": csrf_in(form.text),
        "name": "Pictured",
        "description": "Has its own image.",
        "criteria_narrative": "Upload it.",
        "image_choice": "upload",
    }
    refused = await console.post(
        f"{_base(issuer)}/achievements/new",
        data=data,
        files={"image": ("badge.png", b"GIF89a not a png", "image/png")},
    )
    created = await console.post(
        f"{_base(issuer)}/achievements/new",
        data=data,
        files={"image": ("badge.png", tiny_png(), "image/png")},
    )
    async with sessions() as session:
        row = await session.scalar(
            select(Achievement).where(
                Achievement.issuer_id == issuer.id, Achievement.name == "Pictured"
            )
        )
    assert row is not None and row.image_url is not None
    served = await public.get(row.image_url)

    assert refused.status_code == 422 and "must be a PNG file" in refused.text
    assert created.status_code == 303
    assert served.status_code == 200 and served.content == tiny_png()
    assert served.headers["content-type"] == "image/png"


async def test_issue_find_and_revoke(
    console: httpx.AsyncClient, issuer: Issuer, public: httpx.AsyncClient
):
    achievement = await _create(console, issuer)
    address = f"t-{uuid.uuid4().hex[:6]}@example.org"
    credential = await _issue(console, issuer, achievement, address)

    by_email = await console.get(f"{_base(issuer)}/credentials", params={"q": address})
    by_name = await console.get(f"{_base(issuer)}/credentials", params={"q": "byron"})
    nothing = await console.get(f"{_base(issuer)}/credentials", params={"q": "nobody@example.org"})
    detail = await console.get(f"{_base(issuer)}/credentials/{credential}")
    no_reason = await console.post(
        f"{_base(issuer)}/credentials/{credential}/revoke", data={"csrf": csrf_in(detail.text)}
    )
    revoked = await console.post(
        f"{_base(issuer)}/credentials/{credential}/revoke",
        data={"csrf": csrf_in(detail.text), "reason": "Issued in error"},
    )
    after = await console.get(revoked.headers["location"])
    status = await public.get(f"/v1/credentials/{credential}/status")

    assert credential in by_email.text and credential in by_name.text
    assert credential not in nothing.text
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    assert revoked.status_code == 303
    assert "Revoked" in after.text and "Issued in error" in after.text
    assert status.status_code in (200, 401)


async def test_staff_issue_but_only_admins_manage_clients_and_webhooks(
    server: str, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer)
    async with signed_in_client(server, sessions, address) as http:
        overview = await http.get(_base(issuer))
        issue = await http.get(f"{_base(issuer)}/issue")
        clients = await http.get(f"{_base(issuer)}/clients")
        webhooks = await http.get(f"{_base(issuer)}/webhooks")

    assert overview.status_code == 200 and issue.status_code == 200
    assert "API clients" not in overview.text
    assert clients.status_code == 403 and webhooks.status_code == 403


async def test_another_issuers_credential_and_achievement_are_not_found(
    console: httpx.AsyncClient, issuer: Issuer
):
    credential = await console.get(f"{_base(issuer)}/credentials/{uuid.uuid4()}")
    achievement = await console.get(f"{_base(issuer)}/achievements/{uuid.uuid4()}")

    assert credential.status_code == 404 and achievement.status_code == 404


async def test_an_admin_creates_rotates_and_revokes_an_api_client(
    console: httpx.AsyncClient, issuer: Issuer, server: str
):
    from tests.conftest import token_for

    page = await console.get(f"{_base(issuer)}/clients")
    created = await console.post(
        f"{_base(issuer)}/clients",
        data={"csrf": csrf_in(page.text), "name": "LMS", "scope": ["credentials:read"]},
    )
    client_id = re.search(r"<code>(lc_[^<]+)</code>", created.text)
    secret = re.search(r'<output id="shown-secret" class="secret">([^<]+)</output>', created.text)
    assert created.status_code == 200 and client_id and secret
    token = await token_for(server, client_id.group(1), secret.group(1))
    rotated = await console.post(
        f"{_base(issuer)}/clients/{client_id.group(1)}/rotate", data={"csrf": csrf_in(page.text)}
    )
    new_secret = re.search(r'class="secret">([^<]+)</output>', rotated.text)
    revoked = await console.post(
        f"{_base(issuer)}/clients/{client_id.group(1)}/revoke", data={"csrf": csrf_in(page.text)}
    )
    listing = await console.get(revoked.headers["location"])
    async with httpx.AsyncClient(base_url=server) as http:
        old = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id.group(1), secret.group(1)),
        )

    assert token and new_secret and new_secret.group(1) != secret.group(1)
    assert old.status_code == 401
    assert revoked.status_code == 303 and "Revoked" in listing.text
    assert "credentials:read" in listing.text
    assert secret.group(1) not in listing.text


async def test_another_issuers_client_cannot_be_revoked_from_here(
    console: httpx.AsyncClient, issuer: Issuer, provider: Any
):
    page = await console.get(f"{_base(issuer)}/clients")
    other = await console.post(
        f"{_base(issuer)}/clients/lc_not-ours/revoke", data={"csrf": csrf_in(page.text)}
    )

    assert other.status_code == 404


async def test_an_admin_adds_a_webhook_sees_its_secret_once_and_its_deliveries(
    console: httpx.AsyncClient, issuer: Issuer
):
    page = await console.get(f"{_base(issuer)}/webhooks")
    bad = await console.post(
        f"{_base(issuer)}/webhooks", data={"csrf": csrf_in(page.text), "url": "ftp://x"}
    )
    added = await console.post(
        f"{_base(issuer)}/webhooks",
        data={
            "csrf": csrf_in(page.text),
            "url": "https://hooks.example.org/lattice",
            "event": ["credential.revoked"],
        },
    )
    hook = re.search(r"/webhooks/([0-9a-f-]{36})\"", added.text)
    assert hook
    deliveries = await console.get(f"{_base(issuer)}/webhooks/{hook.group(1)}")
    later = await console.get(f"{_base(issuer)}/webhooks")
    deleted = await console.post(
        f"{_base(issuer)}/webhooks/{hook.group(1)}/delete", data={"csrf": csrf_in(page.text)}
    )

    assert bad.status_code == 422 and "url must be" in bad.text
    assert added.status_code == 200 and "whsec_" in added.text
    assert "whsec_" not in later.text and "credential.revoked" in later.text
    assert deliveries.status_code == 200 and "Nothing sent yet" in deliveries.text
    assert deleted.status_code == 303


async def test_a_form_without_the_sessions_token_issues_nothing(
    console: httpx.AsyncClient, issuer: Issuer
):
    achievement = await _create(console, issuer)
    forged = await console.post(
        f"{_base(issuer)}/issue",
        data={"csrf": "forged", "achievement": achievement, "email": "x@example.org"},
    )
    listing = await console.get(f"{_base(issuer)}/credentials")

    assert forged.status_code == 403
    assert "Nothing issued yet" in listing.text
