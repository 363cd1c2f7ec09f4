"""A provider's program manager in a real headless Chromium: uploads a 200-row spreadsheet,
reads the preview, issues, and watches the progress page (which reloads itself, no script)
until all 200 are issued; one of the credentials then verifies.

With LATTICE_SCREENSHOTS=1 the pages are saved to docs/screenshots/console-batch-*.png.
Uses the browser and page fixtures of test_pages_browser (Debian's chromium, Playwright).
"""

# The fixtures are imported, so pytest sees them here; each test taking `page` "redefines" it.
# ruff: noqa: F811

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from badges.issuers.issuers import KeyVault
from storage.models import Issuer
from tests.app.console.screenshots import screenshot
from tests.app.console.staff import add_staff_member, sign_in_page
from tests.app.test_pages_browser import browser, page  # noqa: F401  # fixtures
from tests.conftest import Provider

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser


async def test_a_program_manager_issues_200_badges_from_a_csv_file(
    page: Page,
    provider: Provider,
    issuer: Issuer,
    sessions: Any,
    vault: KeyVault,
    public: httpx.AsyncClient,
    tmp_path: Path,
):
    await provider.create_achievement(name="Close Reading")
    spreadsheet = tmp_path / "spring-cohort.csv"
    spreadsheet.write_text(
        "email,name,achievement,evidence_url\n"
        + "".join(
            f"teacher{n}@example.org,Teacher {n},Close Reading,https://example.org/evidence/{n}\n"
            for n in range(200)
        ),
        encoding="utf-8-sig",  # as Excel saves "CSV UTF-8"
    )
    address = await add_staff_member(sessions, vault, issuer=issuer, role="staff")
    await sign_in_page(page, sessions, address, next_path=f"/console/issuers/{issuer.slug}")

    await page.get_by_role("link", name="Issue from a CSV file").click()
    await page.get_by_label("CSV file").set_input_files(str(spreadsheet))
    await screenshot(page, "batch-upload")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Check the file").click()

    await page.get_by_text("200 ready to issue").wait_for()
    await screenshot(page, "batch-preview")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Issue 200 badges").click()

    # The page reloads itself every 2 s until the batch is done.
    deadline = time.monotonic() + 180
    status = page.get_by_role("status")
    await screenshot(page, "batch-progress")
    while "Done:" not in await status.inner_text():
        assert time.monotonic() < deadline, await status.inner_text()
        await page.wait_for_timeout(500)
    assert "Done: 200 issued, 0 failed, of 200." in await status.inner_text()
    await screenshot(page, "batch-done")

    listed = await provider.http.get(f"/v1/issuers/{issuer.slug}/credentials", params={"limit": 1})
    newest = listed.json()["items"][0]
    report = (await public.post("/v1/verify", json={"url": newest["url"]})).json()
    assert report["verdict"] == "verified", report
    assert newest["recipientName"].startswith("Teacher ")
