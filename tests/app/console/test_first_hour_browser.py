"""A newcomer's first hour, in a real headless Chromium and nothing else: on a brand-new
service (nobody has an account), she opens the setup link the service printed, creates
"Springfield PD" and becomes its admin, signs in with the code from her e-mail, creates an
achievement, issues a badge, opens its public page and verifies it on /verify by its URL;
then she revokes it with a reason, and /verify says revoked.

With LATTICE_SCREENSHOTS=1 it also saves the pages to docs/screenshots/first-hour-*.png
(for the README; CI leaves it unset and writes nothing).
"""

# The fixtures are imported, so pytest sees them here.
# ruff: noqa: F811

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from app.settings import Settings
from tests.app.console.fresh import (  # noqa: F401  # fixtures
    fresh_server,
    fresh_sessions,
    fresh_settings,
    setup_link,
)
from tests.app.console.staff import mailed_code
from tests.app.test_pages_browser import TIMEOUT_MS, browser  # noqa: F401  # fixtures

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parents[3] / "docs" / "screenshots"
CHIEF = "chief@springfield.example"
TEACHER = "edna.krabappel@springfield.example"


@pytest.fixture
async def newcomer(browser: Browser, fresh_server: str) -> AsyncIterator[Page]:
    """A browser tab on the brand-new service; it loads nothing from anywhere else."""
    context = await browser.new_context(base_url=fresh_server)
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    yield opened
    await context.close()
    assert all(url.startswith((fresh_server, "data:")) for url in requested), requested


async def _shot(page: Page, name: str) -> None:
    """Save the page as docs/screenshots/first-hour-<name>.png, when asked to."""
    if os.environ.get("LATTICE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.set_viewport_size({"width": 1200, "height": 800})
        await page.screenshot(path=str(SCREENSHOTS / f"first-hour-{name}.png"), full_page=True)


async def _click(page: Page, role: Literal["button", "link"], name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role(role, name=name, exact=True).click()


async def _verify_by_url(page: Page, url: str) -> str:
    """Paste the badge's URL into /verify, as an employer would; the verdict heading."""
    await page.goto("/verify")
    await page.get_by_label("Badge URL").fill(url)
    await _click(page, "button", "Verify")
    return await page.locator("#result-heading").inner_text()


async def test_from_a_new_service_to_a_verified_then_revoked_badge_in_the_browser(
    newcomer: Page, fresh_sessions: Any, fresh_settings: Settings
):
    page = newcomer
    # What `lattice serve` printed at start-up; the sign-in page says to look for it.
    link = await setup_link(fresh_sessions, fresh_settings)
    await page.goto("/console/sign-in")
    assert (
        "printed a one-time setup link on its log" in await page.locator("#first-run").inner_text()
    )
    await _shot(page, "sign-in")

    # Set up: the organisation and its admin.
    await page.goto(link)
    await page.get_by_label("Organisation name").fill("Springfield PD")
    await page.get_by_label("Your e-mail address").fill(CHIEF)
    await _shot(page, "setup")
    await _click(page, "button", "Create the organisation")
    assert "Springfield PD is set up" in await page.get_by_role("status").inner_text()
    await _shot(page, "code")
    await page.get_by_label("Sign-in code").fill(await mailed_code(fresh_sessions, CHIEF))
    await _click(page, "button", "Sign in")
    assert page.url.endswith("/console/issuers/springfield-pd")
    await _shot(page, "provider")

    # An achievement.
    await _click(page, "link", "Achievements")
    await _click(page, "link", "Create an achievement")
    await page.get_by_label("Name", exact=True).fill("Community Policing Fundamentals")
    await page.get_by_label("Description", exact=True).fill(
        "Builds trust through problem-solving partnerships with residents."
    )
    await page.get_by_label("Criteria: what the educator must do").fill(
        "Complete the 12-hour course and a neighbourhood project."
    )
    await _click(page, "button", "Create the achievement")
    assert "Achievement created." in await page.locator("main").inner_text()

    # Issue it, with a claim link for the recipient.
    await _click(page, "link", "Issue a badge")
    await page.get_by_label("Achievement").select_option(label="Community Policing Fundamentals")
    await page.get_by_label("Recipient's e-mail address").fill(TEACHER)
    await page.get_by_label("Recipient's name (optional)").fill("Edna Krabappel")
    await page.get_by_label("E-mail the recipient a link to claim it").check()
    await _shot(page, "issue")
    await _click(page, "button", "Issue the badge")
    assert (
        "The recipient was e-mailed a link to claim it." in await page.locator("main").inner_text()
    )
    console_page = page.url

    # Its public page, then /verify by its URL.
    public_url = await page.locator("dd a[href*='/credentials/']").inner_text()
    async with page.expect_navigation():
        await page.get_by_role("link", name=public_url).click()
    assert "Community Policing Fundamentals" in await page.locator("main").inner_text()
    await _shot(page, "public")
    assert "Verified" in await _verify_by_url(page, public_url)
    await _shot(page, "verified")

    # Revoke it in the console, with a reason; /verify now says revoked.
    await page.goto(console_page)
    await page.get_by_label("Reason for revoking").fill("Course completion was recorded in error")
    await _click(page, "button", "Revoke")
    main = await page.locator("main").inner_text()
    assert "Revoked. Verifiers now see it as revoked." in main
    assert "Course completion was recorded in error" in main
    await _shot(page, "revoked")
    assert (await _verify_by_url(page, public_url)).strip().endswith("Revoked")
    await _shot(page, "verify-revoked")
