"""A teacher signs in with an e-mailed code and sees her own badges, and only hers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from storage.models import SignInCode
from tests.app.mailbox import last_mail
from tests.conftest import Provider


def _email() -> str:
    return f"teacher-{uuid.uuid4().hex[:8]}@example.org"


async def _browser(server: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server, timeout=30)


async def _csrf(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/teacher/sign-in")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, sessions: Any, address: str) -> httpx.Response:
    csrf = await _csrf(browser)
    asked = await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf})
    assert asked.status_code == 200, asked.text
    code = re.search(r"code is (\d{6})", await last_mail(sessions, address))
    assert code
    return await browser.post(
        "/teacher/sign-in/code", data={"email": address, "code": code.group(1), "csrf": csrf}
    )


async def test_a_teacher_signs_in_with_the_emailed_code_and_sees_her_badges(
    provider: Provider, server: str, sessions: Any
):
    address = _email()
    achievement = await provider.create_achievement(name="Culturally Responsive Teaching")
    issued = (await provider.issue(achievement["id"], recipient={"email": address})).json()
    browser = await _browser(server)

    signed_in = await sign_in(browser, sessions, address)
    listing = await browser.get("/teacher")

    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/teacher"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Culturally Responsive Teaching" in listing.text
    download = await browser.get(f"/teacher/badges/{issued['id']}/download.json")
    assert download.json() == issued["credential"]
    await browser.aclose()


async def test_another_teachers_badge_is_not_found(provider: Provider, server: str, sessions: Any):
    achievement = await provider.create_achievement()
    theirs = (await provider.issue(achievement["id"], recipient={"email": _email()})).json()
    browser = await _browser(server)
    await sign_in(browser, sessions, _email())

    response = await browser.get(f"/teacher/badges/{theirs['id']}")
    download = await browser.get(f"/teacher/badges/{theirs['id']}/download.json")

    assert (response.status_code, download.status_code) == (404, 404)
    await browser.aclose()


async def test_a_code_works_once_and_not_after_it_expires(server: str, sessions: Any):
    address = _email()
    browser = await _browser(server)
    csrf = await _csrf(browser)
    await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf})
    code = re.search(r"code is (\d{6})", await last_mail(sessions, address))
    assert code
    form = {"email": address, "code": code.group(1), "csrf": csrf}

    first = await browser.post("/teacher/sign-in/code", data=form)
    reused = await browser.post("/teacher/sign-in/code", data=form)
    await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf})
    fresh = re.search(r"code is (\d{6})", await last_mail(sessions, address))
    assert fresh
    async with sessions() as session, session.begin():
        await session.execute(
            update(SignInCode).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    expired = await browser.post("/teacher/sign-in/code", data=form | {"code": fresh.group(1)})

    assert first.status_code == 303
    assert (reused.status_code, expired.status_code) == (400, 400)
    assert "expired or already used" in expired.text
    await browser.aclose()


async def test_the_emailed_link_signs_her_in_once(server: str, sessions: Any):
    address = _email()
    browser = await _browser(server)
    await browser.post("/teacher/sign-in", data={"email": address, "csrf": await _csrf(browser)})
    link = re.search(r"(/teacher/sign-in/link\?token=[\w-]+)", await last_mail(sessions, address))
    assert link

    followed = await browser.get(link.group(1))
    again = await browser.get(link.group(1))

    assert followed.status_code == 303
    assert again.status_code == 400
    await browser.aclose()


async def test_sign_in_codes_are_rate_limited(server: str):
    address = _email()
    browser = await _browser(server)
    csrf = await _csrf(browser)
    statuses = [
        (await browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf})).status_code
        for _ in range(6)
    ]

    assert statuses == [200] * 5 + [429]
    await browser.aclose()


async def test_forms_without_the_csrf_token_are_refused(server: str):
    browser = await _browser(server)
    await browser.get("/teacher/sign-in")

    response = await browser.post("/teacher/sign-in", data={"email": _email(), "csrf": "forged"})

    assert response.status_code == 422
    await browser.aclose()


async def test_an_educator_id_counts_once_a_badge_ties_it_to_her_address(
    provider: Provider, server: str, sessions: Any
):
    address = _email()
    license_number = str(uuid.uuid4().int)[:8]
    achievement = await provider.create_achievement(name="Math Discourse")
    await provider.issue(
        achievement["id"], recipient={"email": address, "educatorId": license_number, "state": "TX"}
    )
    only_license = await provider.create_achievement(name="Number Talks")
    await provider.issue(
        only_license["id"], recipient={"educatorId": license_number, "state": "TX"}
    )
    browser = await _browser(server)
    await sign_in(browser, sessions, address)
    before = await browser.get("/teacher")
    account = await browser.get("/teacher/account")
    csrf = re.search(r'name="csrf" value="([^"]+)"', account.text)
    assert csrf

    await browser.post(
        "/teacher/account/educator-id",
        data={"educator_id": license_number, "us_state": "TX", "csrf": csrf.group(1)},
    )
    after = await browser.get("/teacher")

    assert "Number Talks" not in before.text
    assert "Number Talks" in after.text
    await browser.aclose()


async def test_pages_need_a_session(server: str):
    async with httpx.AsyncClient(base_url=server) as browser:
        response = await browser.get("/teacher")

    assert response.status_code == 303
    assert response.headers["location"] == "/teacher/sign-in?next=/teacher"
