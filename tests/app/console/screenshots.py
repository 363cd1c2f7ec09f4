"""The console's pages saved for the README as docs/screenshots/console-<name>.png, when
LATTICE_SCREENSHOTS=1 (CI leaves it unset and nothing is written)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

SCREENSHOTS = Path(__file__).parents[3] / "docs" / "screenshots"


async def screenshot(page: Page, name: str) -> None:
    """Save the whole page as console-<name>.png, 1200 pixels wide, when asked to."""
    if os.environ.get("LATTICE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.set_viewport_size({"width": 1200, "height": 800})
        await page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
