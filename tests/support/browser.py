"""Debian's Chromium driven by Playwright, headless, for the browser tests.

Playwright never downloads a browser here: `executable_path` is Debian's
`/usr/bin/chromium` (scripts/setup installs it). Screenshots go to
`var/test-artifacts/screenshots/` (or `$CONTACTGW_ARTIFACTS/screenshots/`), one PNG
per page a test looked at, so a person can look at them after the run.

    async with chromium() as browser:
        page = await new_page(browser)
        await ui_login(page, gw.api_url, token)
        await page.goto(f"{gw.api_url}/ui/calls")
        await shot(page, "qa-calls")
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
# Without the background-networking flags Chromium keeps dialling Google's hosts, which
# this closed network refuses; the audio flags let <audio> play with no sound card.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]
LAPTOP = {"width": 1366, "height": 768}
TV = {"width": 1920, "height": 1080}


def artifacts_dir() -> Path:
    root = Path(os.environ.get("CONTACTGW_ARTIFACTS", REPO / "var" / "test-artifacts"))
    path = root / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/setup installs the chromium package)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, viewport: dict[str, int] | None = None) -> Page:
    """A page in a fresh context (its own cookies: one user per context)."""
    context = await browser.new_context(viewport=viewport or LAPTOP)  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


async def shot(page: Page, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def ui_login(page: Page, base_url: str, token: str) -> None:
    """Log in through the UI's own form (`/ui/login`: the token field, then submit)."""
    await page.goto(f"{base_url}/ui/login")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/ui/login" not in url)
