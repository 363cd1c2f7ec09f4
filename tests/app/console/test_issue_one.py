"""Issuing one badge from the console can e-mail the recipient a claim link, as the API's
`notifyRecipient` does; unticked, nobody is mailed."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from storage.models import Issuer, OutboxEmail
from tests.app.console.staff import csrf_in
from tests.conftest import Provider


async def _mails_to(sessions: Any, address: str) -> list[OutboxEmail]:
    async with sessions() as session:
        return list(
            await session.scalars(select(OutboxEmail).where(OutboxEmail.recipient == address))
        )


async def _issue(
    console: httpx.AsyncClient, issuer: Issuer, achievement: str, email: str, **extra: str
) -> httpx.Response:
    path = f"/console/issuers/{issuer.slug}/issue"
    token = csrf_in((await console.get(path)).text)
    data = {"csrf": token, "achievement": achievement, "email": email} | extra
    return await console.post(path, data=data)


async def test_ticking_the_box_mails_the_recipient_a_claim_link_to_her_badge(
    console: httpx.AsyncClient, provider: Provider, issuer: Issuer, sessions: Any, server: str
):
    achievement = await provider.create_achievement(name="Formative Assessment in Math")
    recipient = f"ana-{uuid.uuid4().hex[:8]}@example.org"

    issued = await _issue(console, issuer, achievement["id"], recipient, notify="1")
    shown = await console.get(issued.headers["location"])
    mails = await _mails_to(sessions, recipient)

    credential_id = re.search(r"/credentials/([0-9a-f-]{36})", issued.headers["location"])
    assert issued.status_code == 303 and credential_id
    assert "Issued. The recipient was e-mailed a link to claim it." in shown.text
    assert [mail.subject for mail in mails] == [
        "Digital Promise awarded you “Formative Assessment in Math”"
    ]
    link = re.search(r"(http://\S+/teacher/sign-in/link\?token=\S+)", mails[0].body)
    assert link
    async with httpx.AsyncClient(timeout=60) as teacher:
        claimed = await teacher.get(link[1])
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/teacher/badges/{credential_id[1]}"


async def test_unticked_nobody_is_mailed(
    console: httpx.AsyncClient, provider: Provider, issuer: Issuer, sessions: Any
):
    achievement = await provider.create_achievement()
    recipient = f"ben-{uuid.uuid4().hex[:8]}@example.org"

    issued = await _issue(console, issuer, achievement["id"], recipient)
    shown = await console.get(issued.headers["location"])

    assert issued.status_code == 303
    assert "Issued." in shown.text and "e-mailed" not in shown.text
    assert await _mails_to(sessions, recipient) == []


async def test_a_form_error_keeps_the_box_ticked_and_mails_nobody(
    console: httpx.AsyncClient, provider: Provider, issuer: Issuer, sessions: Any
):
    achievement = await provider.create_achievement()
    recipient = f"cal-{uuid.uuid4().hex[:8]}@example.org"

    answer = await _issue(
        console, issuer, achievement["id"], recipient, notify="1", evidence_url="ftp://x"
    )

    assert answer.status_code == 422
    assert 'id="evidence_url-error">the evidence URL must start with https://' in answer.text
    assert 'id="notify" name="notify" type="checkbox" value="1" checked' in answer.text
    assert await _mails_to(sessions, recipient) == []
