"""Console staff for tests: an account made by the real domain function, and signing in
as a person would (the form, then the code from the outbox), in a browser or over HTTP."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from badges.issuers.issuers import KeyVault
from badges.issuers.staff import Address, add_staff
from badges.wallets.teachers import email_key, masked
from storage.models import Agency, Issuer
from storage.session import transaction
from tests.app.mailbox import mailed_code

if TYPE_CHECKING:
    from playwright.async_api import Page


async def add_staff_member(
    sessions: Any,
    vault: KeyVault,
    *,
    issuer: Issuer | None = None,
    agency: Agency | None = None,
    role: str = "staff",
    email: str | None = None,
) -> str:
    """A staff account (new address unless `email`) at the issuer or agency; its address."""
    address = email or f"staff-{uuid.uuid4().hex[:8]}@example.org"
    async with transaction(sessions) as session:
        await add_staff(
            session,
            Address(email_key(vault, address), masked(address)),
            issuer=issuer,
            agency=agency,
            role=role,
        )
    return address


async def sign_in_page(
    page: Page, sessions: Any, address: str, next_path: str = "/console"
) -> None:
    """Sign `page` in as a person would: the e-mail form, then the code from the mail.
    The page ends on `next_path`."""
    await page.goto(f"/console/sign-in?next={quote(next_path)}")
    await page.get_by_label("Work e-mail address").fill(address)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_label("Sign-in code").fill(await mailed_code(sessions, address))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()


def csrf_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def code_for(http: httpx.AsyncClient, sessions: Any, address: str) -> tuple[str, str]:
    """Ask the sign-in form of `http` to mail `address` a code: the form's CSRF token and
    the code mailed."""
    token = csrf_in((await http.get("/console/sign-in")).text)
    sent = await http.post("/console/sign-in", data={"email": address, "csrf": token})
    assert sent.status_code == 200, sent.text
    return token, await mailed_code(sessions, address)


@asynccontextmanager
async def signed_in_client(
    server: str, sessions: Any, address: str
) -> AsyncIterator[httpx.AsyncClient]:
    """`async with signed_in_client(...) as http`: an HTTP client signed in to the console
    as `address`. A form's token: `csrf_in((await http.get(page)).text)`."""
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        token, code = await code_for(http, sessions, address)
        done = await http.post(
            "/console/sign-in/code", data={"email": address, "code": code, "csrf": token}
        )
        assert done.status_code == 303, done.text
        yield http
