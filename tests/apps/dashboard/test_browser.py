"""The real dashboard in a real browser: served on 127.0.0.1, driven by the system Chromium through Playwright.

Each page's screenshot is kept under `test-artifacts/dashboard/` (git-ignored) for a human to look at.
"""

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from apps.dashboard.launch import start_apps
from tests.apps.dashboard.conftest import FixturePlant

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"
PAGES = {
    "Capacity": "Capacity",
    "Traceability": "Traceability",
    "Station floor": "Station floor",
    "Quality": "Quality and anomalies",
}
SETTLED = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-testid="stSpinner"]')
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def dashboard_url(fixture_plant: FixturePlant) -> Iterator[str]:
    port = free_port()
    server = start_apps(fixture_plant.data_dir, port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_planner_signs_in_opens_every_page_and_traces_a_card(dashboard_url: str, fixture_plant: FixturePlant) -> None:
    assert CHROMIUM.exists(), "the browser tests use Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def settle(page: Page) -> None:
        page.wait_for_timeout(500)
        page.wait_for_function(SETTLED, timeout=60_000)
        page.wait_for_timeout(1_000)  # charts draw after the script run ends

    def no_exception_anywhere(page: Page, where: str) -> None:
        boxes = page.locator('[data-testid="stException"]')
        assert boxes.count() == 0, f"{where}: {boxes.first.inner_text()}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.goto(dashboard_url)
            expect(page.get_by_role("heading", name="cardtrace")).to_be_visible(timeout=60_000)
            page.get_by_label("Access token", exact=True).fill("ct_wrong")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("This token was not issued by this plant.")).to_be_visible(timeout=30_000)
            page.get_by_label("Access token", exact=True).fill(fixture_plant.planner_token)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Capacity")).to_be_visible(timeout=60_000)

            for link, title in PAGES.items():
                page.get_by_test_id("stSidebarNav").get_by_text(link, exact=True).click()
                expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=60_000)
                settle(page)
                no_exception_anywhere(page, link)
                page.screenshot(path=ARTIFACTS / f"{link.lower().replace(' ', '_')}.png", full_page=True)

            page.get_by_test_id("stSidebarNav").get_by_text("Traceability", exact=True).click()
            search = page.get_by_role("textbox", name="Search")
            search.fill("J1001-S001-05")
            search.press("Enter")
            expect(page.get_by_role("heading", name="Card unit J1001-S001-05")).to_be_visible(timeout=60_000)
            expect(page.get_by_role("button", name="Replaced by: J1001-S001-05-R1")).to_be_visible()
            settle(page)
            no_exception_anywhere(page, "card J1001-S001-05")
            page.screenshot(path=ARTIFACTS / "traceability_card.png", full_page=True)

            search.fill("not a barcode")
            search.press("Enter")
            expect(page.get_by_text("is not a cardtrace id")).to_be_visible(timeout=30_000)
            no_exception_anywhere(page, "a bad search")
        finally:
            browser.close()
