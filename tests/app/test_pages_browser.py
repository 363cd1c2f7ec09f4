"""The verifier's pages in a real headless Chromium (Debian's package, driven by Playwright):
an employer pastes, links or uploads a badge and reads the verdict.

A missing browser or Playwright fails these tests, saying how to install it (`scripts/test`
installs both); they never skip. LATTICE_TEST_CHROMIUM names the executable.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from formats.baking import bake_png
from tests.builders import tiny_png
from tests.conftest import Provider

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser
TIMEOUT_MS = 20_000


def _unavailable(reason: str) -> NoReturn:
    pytest.fail(f"{reason} (or run scripts/test, which installs it)", pytrace=False)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = (
        os.environ.get("LATTICE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[dev]'")
    if not os.access(executable, os.X_OK):
        _unavailable(
            f"no Chromium at {executable}: apt-get install chromium (or run scripts/test as root)",
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, server: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=server)
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    yield opened
    await context.close()
    # Every page is self-contained: nothing is loaded from any host but the service.
    assert all(url.startswith((server, "data:")) for url in requested), requested


async def _issued(provider: Provider, **fields: Any) -> dict[str, Any]:
    achievement = await provider.create_achievement()
    response = await provider.issue(achievement["id"], **fields)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def _submit(
    page: Page, *, url: str = "", text: str = "", file: tuple[str, str, bytes] | None = None
) -> str:
    """Fill the form as a person would (by the labels), submit it, return the verdict heading."""
    await page.goto("/verify")
    if url:
        await page.get_by_label("Badge URL").fill(url)
    if text:
        await page.get_by_label("Badge JSON or VC-JWT").fill(text)
    if file:
        name, media_type, content = file
        await page.get_by_label("Badge file").set_input_files(
            files=[{"name": name, "mimeType": media_type, "buffer": content}]
        )
    async with page.expect_navigation():
        await page.get_by_role("button", name="Verify", exact=True).click()
    return await page.locator("#result-heading").inner_text()


async def _check_row(page: Page, title: str) -> str:
    """What the page says about one check (its item in the list of checks)."""
    heading = page.get_by_role("heading", level=3, name=title, exact=True)
    return await page.locator("ol.checks > li").filter(has=heading).inner_text()


async def test_a_badge_url_is_verified_and_shown(page: Page, provider: Provider):
    issued = await _issued(provider, recipient={"email": "t@example.org", "name": "Ana Ruiz"})

    verdict = await _submit(page, url=issued["url"])

    assert "Verified" in verdict
    badge = issued["credential"]["credentialSubject"]["achievement"]["name"]
    assert await page.get_by_role("heading", level=2, name=badge).is_visible()
    body = await page.locator("main").inner_text()
    assert "Digital Promise" in body and "Ana Ruiz" in body
    assert "Passed" in await _check_row(page, "Signature")
    assert await page.get_by_role("img", name="No badge image was provided").is_visible()


async def test_a_revoked_badge_says_revoked(page: Page, provider: Provider):
    issued = await _issued(provider)
    revoked = await provider.http.post(
        f"/v1/credentials/{issued['id']}/revoke", json={"reason": "awarded in error"}
    )
    assert revoked.status_code < 300, revoked.text

    verdict = await _submit(page, url=issued["url"])

    assert verdict.strip().endswith("Revoked")
    assert "Failed" in await _check_row(page, "Revocation and suspension")


async def test_an_expired_badge_says_expired(page: Page, provider: Provider):
    issued = await _issued(
        provider, validFrom="2020-01-01T00:00:00Z", validUntil="2021-01-01T00:00:00Z"
    )

    verdict = await _submit(page, url=issued["url"])

    assert verdict.strip().endswith("Expired")
    assert "1 January 2021" in await page.locator("main").inner_text()


async def test_a_tampered_json_pasted_is_invalid_naming_the_signature(
    page: Page, provider: Provider
):
    credential = copy.deepcopy((await _issued(provider))["credential"])
    credential["credentialSubject"]["achievement"]["name"] = "Something grander"

    verdict = await _submit(page, text=json.dumps(credential))

    assert "Invalid" in verdict and "Signature" in verdict
    assert "Failed" in await _check_row(page, "Signature")


async def test_a_baked_png_upload_is_verified(page: Page, provider: Provider):
    issued = await _issued(provider)
    baked = bake_png(tiny_png(), issued["jwt"])

    verdict = await _submit(page, file=("badge.png", "image/png", baked))

    assert "Verified" in verdict


async def test_bad_input_shows_the_error_beside_the_field(page: Page):
    await _submit_expecting_error(page, "not a badge")

    alert = page.get_by_role("alert")
    assert "not a badge we can read" in await alert.inner_text()
    field = page.get_by_label("Badge JSON or VC-JWT")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.input_value() == "not a badge"


async def _submit_expecting_error(page: Page, text: str) -> None:
    await page.goto("/verify")
    await page.get_by_label("Badge JSON or VC-JWT").fill(text)
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Verify", exact=True).click()
    response = await navigation.value
    assert response is not None and response.status == 422


async def test_the_credential_page_verifies_live_and_offers_downloads(
    page: Page, provider: Provider, tmp_path: Path
):
    issued = await _issued(provider)

    await page.goto(issued["url"])

    badge = issued["credential"]["credentialSubject"]["achievement"]["name"]
    assert await page.get_by_role("heading", level=1).inner_text() == badge
    assert "Verified" in await page.locator("#result-heading").inner_text()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Credential as JSON-LD").click()
    download = await download_info.value
    await download.save_as(tmp_path / "badge.json")
    assert json.loads((tmp_path / "badge.json").read_text()) == issued["credential"]
    jwt_link = page.get_by_role("link", name="Credential as VC-JWT")
    assert await jwt_link.get_attribute("href") == f"/credentials/{issued['id']}.jwt"


async def test_the_pages_are_keyboard_and_screen_reader_friendly(page: Page, provider: Provider):
    issued = await _issued(provider)
    await _submit(page, url=issued["url"])

    facts = await page.evaluate(
        """() => ({
        lang: document.documentElement.lang,
        landmarks: ['header', 'main', 'footer', 'nav'].filter(s => document.querySelector(s)),
        levels: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]),
        unlabelled: [...document.querySelectorAll('input,textarea,select')]
            .filter(e => e.labels.length === 0).map(e => e.name),
        imagesWithoutText: [...document.querySelectorAll('img')].filter(i => !i.alt).length,
      })"""
    )
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    outline = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
    )

    assert facts["lang"] == "en"
    assert facts["landmarks"] == ["header", "main", "footer", "nav"]
    assert facts["levels"][0] == 1 and facts["levels"].count(1) == 1
    assert all(b - a <= 1 for a, b in zip(facts["levels"], facts["levels"][1:], strict=False))
    assert facts["unlabelled"] == [] and facts["imagesWithoutText"] == 0
    assert outline[1] != "none" and outline[2] != "0px", outline
