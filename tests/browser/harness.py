"""Fixtures of the browser journeys: headless Debian Chromium driven by Playwright, with axe-core.

The journeys run in their own pytest process started by test_browser.py with `--noconftest`,
because eventlet's monkey patch (applied by tests/conftest.py) stalls Playwright's waits after a
navigation. `scripts/ensure-browser.sh` installs Chromium, Playwright and axe-core; without
them every journey is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE_PATH = Path(os.environ.get("SAMEN_DATA_DIR", ROOT / "var")) / "browser/node_modules/axe-core/axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe_source() -> str:
    # SAMEN_DATA_DIR points at a temporary directory inside the test session, so look in the
    # repository's var/ as well, where `make test` runs ensure-browser.sh.
    for path in (AXE_PATH, ROOT / "var/browser/node_modules/axe-core/axe.min.js"):
        if path.exists():
            return path.read_text()
    pytest.skip("axe-core is not installed; run scripts/ensure-browser.sh")


class RunningPlatform:
    """The platform started by test_browser.py, reached through its gateway URL."""

    def __init__(self, url: str):
        self.url = url

    def session(self, account_number: str, password: str = "Welkom-bij-Samen-2026") -> requests.Session:
        response = requests.post(f"{self.url}/api/v1/auth/login",
                                 json={"account_number": account_number, "password": password}, timeout=15)
        assert response.status_code == 200, response.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session


@pytest.fixture(scope="session")
def platform() -> RunningPlatform:
    url = os.environ.get("SAMEN_PORTAL_URL")
    if not url:
        pytest.skip("SAMEN_PORTAL_URL is not set; run tests/browser/test_browser.py")
    return RunningPlatform(url)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which("chromium") and not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed; run scripts/ensure-browser.sh")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright_api.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return _axe_source()


class Tab:
    """One browser page that records console messages about the Content-Security-Policy."""

    def __init__(self, page, base_url: str, axe_source: str):
        self.page = page
        self.base_url = base_url
        self.axe_source = axe_source
        self.csp_errors: list[str] = []
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_errors.append(message.text)

    def open(self, path: str):
        response = self.page.goto(self.base_url + path)
        return response

    def login(self, account_number: str, password: str = "Welkom-bij-Samen-2026") -> None:
        self.open("/login")
        self.page.fill("#account_number", account_number)
        self.page.fill("#password", password)
        self.page.click("form.stacked button[type=submit]")
        self.page.wait_for_load_state()

    def check(self, name: str) -> None:
        """Assert zero axe violations and no CSP errors on the page, then save a screenshot."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.page.evaluate(self.axe_source)
        result = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        violations = [
            f"{item['id']}: {item['help']} ({len(item['nodes'])}x, e.g. {item['nodes'][0]['html'][:120]})"
            for item in result["violations"]
        ]
        assert violations == [], f"axe violations on {name}: {violations}"
        assert self.csp_errors == [], f"CSP errors on {name}: {self.csp_errors}"


@pytest.fixture
def tab_factory(browser, platform, axe_source):
    contexts = []

    def make(viewport: dict | None = None, locale: str = "nl-NL") -> Tab:
        context = browser.new_context(
            viewport=viewport or {"width": 1200, "height": 900}, locale=locale, accept_downloads=True,
        )
        contexts.append(context)
        return Tab(context.new_page(), platform.url, axe_source)

    yield make
    for context in contexts:
        context.close()
