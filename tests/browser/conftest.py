"""The browser tier: the hub's review console in a real headless Chromium driven by
Playwright. Debian's `chromium` package is the browser (.ci/run installs it); Playwright's own
browser download is never used (`playwright install` is not run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = Path(os.environ.get("POH_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)")
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=["--no-sandbox"])
    yield browser
    browser.close()
