"""A state agency's admin in a real headless Chromium: signs in with the code from her
e-mail, builds the stack "any 3 MCs approved for license renewal within 5 years" in the rule
editor, reads it back in words, and opens the reports, where the charts (SVG drawn on the
server) render. No script runs anywhere.

With LATTICE_SCREENSHOTS=1 it also saves the pages to docs/screenshots/console-agency-*.png
(for the README; CI leaves it unset and writes nothing).
"""

# The fixtures are imported, so pytest sees them here; each test taking `page` "redefines" it.
# ruff: noqa: F811

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from badges.issuers.issuers import KeyVault
from tests.app.console.agency_desk import make_desk
from tests.app.console.screenshots import screenshot
from tests.app.console.staff import sign_in_page
from tests.app.test_pages_browser import browser, page  # noqa: F401  # fixtures
from tests.conftest import AgencyClient, Provider

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser


async def _main_text(page: Page) -> str:
    text: str = await page.locator("main").inner_text()
    return text


async def test_an_agency_builds_a_renewal_stack_and_reads_its_charts(
    page: Page, sessions: Any, vault: KeyVault, provider: Provider, agency: AgencyClient
):
    desk = await make_desk(sessions, vault, provider, agency)

    await sign_in_page(page, sessions, desk.admin, next_path=desk.home)
    assert await page.get_by_role("heading", level=1).inner_text() == agency.issuer.name
    assert "open vetting requests" in await _main_text(page)
    await screenshot(page, "agency-home")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Curated list", exact=True).click()
    assert "Close Reading" in await _main_text(page)
    await screenshot(page, "agency-curated")
    await page.goto(f"{desk.home}/vetting/{desk.waiting}")
    await screenshot(page, "agency-vetting-request")

    # The rule editor: any 3 MCs approved for license renewal, earned within 5 years.
    async with page.expect_navigation():
        await page.get_by_role("link", name="Stacks and lattices", exact=True).click()
    async with page.expect_navigation():
        await page.get_by_role("link", name="Build a new stack").click()
    await page.get_by_label("Name", exact=True).fill("Renewal, option 2")
    await page.get_by_label("Code", exact=True).fill("OPT2")
    await page.get_by_label("Any of the MCs approved for a purpose").check()
    await page.get_by_label("How many", exact=True).fill("3")
    await page.get_by_label("Approved for", exact=True).select_option(label="License renewal")
    await page.get_by_label("Earned within").fill("5")
    await screenshot(page, "agency-stack-form")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save the stack").click()

    assert await page.get_by_role("heading", level=1).inner_text() == "Renewal, option 2"
    words = await page.locator("#rule-words").inner_text()
    assert words == (
        "Any 3 different micro-credentials approved for License renewal, each earned within "
        "5 years."
    )
    assert not await page.locator("details pre").is_visible()  # the JSON stays folded away
    await screenshot(page, "agency-stack")
    stored = {item["code"]: item for item in (await agency.http.get("/v1/agency/stacks")).json()}
    assert stored["OPT2"]["rule"] == {"approvedFor": "license_renewal", "count": 3}
    assert stored["OPT2"]["windowDays"] == 1826

    async with page.expect_navigation():
        await page.get_by_role("link", name="Stacks and lattices", exact=True).click()
    assert "Renewal, option 2" in await _main_text(page)
    await screenshot(page, "agency-stacks")

    await page.goto(f"{desk.home}/educators/{desk.educator}")
    assert "was met, with 3 credential(s) counted" in await _main_text(page)
    await screenshot(page, "agency-educator")

    # The reports: both charts are images drawn on the server, and they load.
    async with page.expect_navigation():
        await page.get_by_role("link", name="Reports", exact=True).click()
    charts = page.locator("section.chart img")
    assert await charts.count() == 2
    for index in range(2):
        chart = charts.nth(index)
        await chart.scroll_into_view_if_needed()
        assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
    earned = await page.request.get(f"{desk.home}/reports/earned.svg")
    assert earned.headers["content-type"] == "image/svg+xml"
    assert "MCs earned per month, by provider" in await earned.text()
    assert await page.get_by_role("link", name="Download the figures as CSV").count() == 2
    assert await page.evaluate("() => document.scripts.length") == 0
    await screenshot(page, "agency-reports")
