"""A provider's program manager in a real headless Chromium: signs in with the code from
her e-mail, creates an achievement, issues a badge, finds it by searching, revokes it with a
reason, and the public credential page then says revoked. No script runs anywhere.

With LATTICE_SCREENSHOTS=1 it also saves each console page to docs/screenshots/console-*.png
(for the README; CI leaves it unset and writes nothing).
"""

# The fixtures are imported, so pytest sees them here; each test taking `page` "redefines" it.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from badges.issuers.issuers import KeyVault
from storage.models import Issuer
from tests.app.console.screenshots import screenshot
from tests.app.console.staff import add_staff_member, sign_in_page
from tests.app.test_pages_browser import browser, page  # noqa: F401  # fixtures

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser


async def _no_script(page: Page) -> int:
    count: int = await page.evaluate("() => document.scripts.length")
    return count


async def test_a_provider_issues_finds_and_revokes_a_badge_in_the_browser(
    page: Page, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer, role="admin")
    recipient = f"ana-{uuid.uuid4().hex[:6]}@example.org"
    base = f"/console/issuers/{issuer.slug}"

    await page.goto("/console/sign-in")
    await screenshot(page, "sign-in")
    await sign_in_page(page, sessions, address)
    assert await page.get_by_role("heading", level=1).inner_text() == "Console"
    await screenshot(page, "home")
    async with page.expect_navigation():
        await page.get_by_role("link", name=issuer.name, exact=True).first.click()
    await screenshot(page, "issuer")

    # An achievement, with the generated art.
    await page.goto(f"{base}/achievements/new")
    await page.get_by_label("Name", exact=True).fill("Formative Assessment in Math")
    await page.get_by_label("Description", exact=True).fill(
        "Uses quick checks to adjust instruction."
    )
    await page.get_by_label("Criteria: what the educator must do").fill(
        "Three lesson plans with exit tickets and a reflection."
    )
    await page.get_by_label("Tags").fill("math, assessment")
    await screenshot(page, "achievement-form")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the achievement").click()
    assert "Achievement created." in await page.locator("main").inner_text()
    await page.goto(f"{base}/achievements")
    picture = page.locator("td img").first
    assert await picture.evaluate("img => img.complete && img.naturalWidth > 0")
    await screenshot(page, "achievements")

    # Issue it to a teacher.
    await page.goto(f"{base}/issue")
    await page.get_by_label("Achievement").select_option(label="Formative Assessment in Math")
    await page.get_by_label("Recipient's e-mail address").fill(recipient)
    await page.get_by_label("Recipient's name (optional)").fill("Ana Ruiz")
    await page.get_by_label("Evidence URL").fill("https://example.org/portfolio/ana")
    await screenshot(page, "issue")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Issue the badge").click()
    assert "Issued." in await page.locator("main").inner_text()
    credential_id = page.url.split("/credentials/")[1].split("?")[0]

    # Find it by the recipient's address.
    await page.goto(f"{base}/credentials")
    await page.get_by_label("Search").fill(recipient)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Search").click()
    rows = page.locator("tbody tr")
    assert await rows.count() == 1
    assert "Ana Ruiz" in await rows.first.inner_text()
    await screenshot(page, "issued")
    async with page.expect_navigation():
        await rows.first.get_by_role("link").click()

    # Revoke it, with a reason.
    await page.get_by_label("Reason for revoking").fill("Awarded to the wrong educator")
    await screenshot(page, "credential")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Revoke").click()
    main = await page.locator("main").inner_text()
    assert "Revoked. Verifiers now see it as revoked." in main
    assert "Awarded to the wrong educator" in main
    await screenshot(page, "credential-revoked")
    assert await _no_script(page) == 0

    # What an employer sees.
    await page.goto(f"/credentials/{credential_id}")
    assert "Revoked" in await page.locator("#result-heading").inner_text()


async def test_an_admin_sees_api_clients_and_webhooks(
    page: Page, sessions: Any, vault: KeyVault, issuer: Issuer
):
    address = await add_staff_member(sessions, vault, issuer=issuer, role="admin")
    base = f"/console/issuers/{issuer.slug}"
    await sign_in_page(page, sessions, address, next_path=f"{base}/clients")

    await page.get_by_label("Who uses it").fill("District LMS")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the client").click()
    secret = await page.locator("#shown-secret").inner_text()
    await screenshot(page, "clients")
    await page.goto(f"{base}/webhooks")
    await page.get_by_label("Receiver URL").fill("https://hooks.example.org/lattice")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Add the webhook").click()
    await screenshot(page, "webhooks")

    assert len(secret) > 30
    assert await page.locator("#shown-secret").inner_text() != secret
    assert await _no_script(page) == 0
