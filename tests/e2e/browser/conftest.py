"""A real headless Chromium (Debian's, driven by Playwright's Python API) against the e2e stack
of tests/e2e/conftest.py, signed in as the demo merchant.

`make test` installs Chromium first (Makefile target `browser-deps`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import run
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_merchant
from tests.e2e.helpers import PluginDb

CHROMIUM = "/usr/bin/chromium"
# The machine has no internet: without these flags Chromium stalls on network lookups.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium(stack: run.Stack) -> Iterator[object]:
    # Depends on `stack` so it closes first: the stack's teardown checks that no process it
    # started (Chromium's included) is left running.
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is missing: run `make browser-deps` as root (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def demo_merchant(stack: run.Stack, plugin_db: PluginDb) -> int:
    """The demo merchant owning the connected sandbox store (as run.py sets it up)."""
    assert stack.store_id is not None
    return ensure_demo_merchant(
        MerchantRepository(plugin_db.db), DEMO_EMAIL, DEMO_PASSWORD, stack.store_id
    )


@pytest.fixture
def page(chromium: object, stack: run.Stack, demo_merchant: int) -> Iterator[object]:
    """A fresh browser context and page (phone-sized), signed in as the demo merchant."""
    context = chromium.new_context(viewport={"width": 412, "height": 915})  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations of bulk changes etc.
    page.goto(f"{stack.web_url}/signin")
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{stack.web_url}/stores")
    yield page
    context.close()


def screenshot(page: object, name: str) -> None:
    """Save a full-page screenshot to test-output/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
