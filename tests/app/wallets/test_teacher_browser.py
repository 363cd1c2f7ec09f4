"""A teacher in a real headless Chromium: signs in with the code from her e-mail (the outbox
table), finds her badge, downloads the baked PNG, and the file verifies, here and in the
independent verifiers. Her pages load nothing from any other host and run no script.

Uses the browser and page fixtures of test_pages_browser (Debian's chromium, Playwright).
"""

# The fixtures are imported, so pytest sees them here; each test taking `page` "redefines" it.
# ruff: noqa: F811

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from formats.baking import unbake_png
from tests.app.mailbox import mailed_code
from tests.app.test_pages_browser import browser, page  # noqa: F401  # fixtures
from tests.conftest import Provider, node_verify

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser


async def _sign_in(page: Page, sessions: Any, address: str) -> None:
    """As she would: the e-mail form, then the code from her mail."""
    await page.goto("/teacher")
    await page.get_by_label("Your e-mail address").fill(address)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send me a code").click()
    await page.get_by_label("Sign-in code").fill(await mailed_code(sessions, address))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()


async def _award(provider: Provider, address: str, name: str) -> dict[str, Any]:
    achievement = await provider.create_achievement(name=name)
    response = await provider.issue(achievement["id"], recipient={"email": address})
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


@pytest.mark.interop
async def test_she_signs_in_finds_her_badge_and_the_baked_png_verifies(
    page: Page, provider: Provider, sessions: Any, public: Any, tmp_path: Path
):
    address = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    issued = await _award(provider, address, "Culturally Responsive Teaching")

    await _sign_in(page, sessions, address)
    assert await page.get_by_role("heading", level=1).inner_text() == "My badges"
    async with page.expect_navigation():
        await page.get_by_role("link", name="Culturally Responsive Teaching").click()
    picture = page.get_by_role("img", name="Badge image of Culturally Responsive Teaching")
    loaded = await picture.evaluate("image => image.complete && image.naturalWidth > 0")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Baked badge image (.png)").click()
    download = await download_info.value
    await download.save_as(tmp_path / download.suggested_filename)
    baked = (tmp_path / download.suggested_filename).read_bytes()

    assert await page.get_by_role("heading", level=1).inner_text() == (
        "Culturally Responsive Teaching"
    )
    assert loaded, "the default badge image did not load"
    assert download.suggested_filename == f"badge-{issued['id']}.png"
    verified = await public.post("/v1/verify", files={"file": ("badge.png", baked, "image/png")})
    assert verified.json()["verdict"] == "verified", verified.text
    extracted = tmp_path / "badge.json"
    extracted.write_text(unbake_png(baked), encoding="utf-8")
    assert json.loads(extracted.read_text()) == issued["credential"]
    reports = node_verify(extracted, "--verifier", "all")
    assert {report["verifier"] for report in reports} == {"core", "vc"}
    assert all(report["verified"] is True for report in reports), reports


async def test_the_badge_page_shares_and_reads_well_without_script(
    page: Page, provider: Provider, sessions: Any, server: str
):
    address = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    issued = await _award(provider, address, "Number Talks")
    await _sign_in(page, sessions, address)

    await page.goto(f"/teacher/badges/{issued['id']}")
    linkedin = await page.get_by_role("link", name="Add to LinkedIn profile").get_attribute("href")
    share = page.get_by_label("Verification link")
    facts = await page.evaluate(
        """() => ({
        scripts: document.scripts.length,
        levels: [...document.querySelectorAll('h1,h2,h3,h4')].map(h => +h.tagName[1]),
        unlabelled: [...document.querySelectorAll('input:not([type=hidden]),textarea,select')]
            .filter(e => e.labels.length === 0).map(e => e.id),
        imagesWithoutAlt: [...document.querySelectorAll('img')]
            .filter(i => !i.hasAttribute('alt')).length,
      })"""
    )

    assert linkedin is not None and linkedin.startswith(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Number%20Talks"
    )
    assert await share.input_value() == f"{server}/credentials/{issued['id']}"
    assert await share.get_attribute("readonly") is not None
    assert facts["scripts"] == 0 and facts["unlabelled"] == [] and facts["imagesWithoutAlt"] == 0
    assert facts["levels"][0] == 1 and facts["levels"].count(1) == 1
    assert all(b - a <= 1 for a, b in zip(facts["levels"], facts["levels"][1:], strict=False))
    async with page.expect_navigation():
        await page.get_by_role("link", name="Open the public verification page").click()
    assert "Verified" in await page.locator("#result-heading").inner_text()
