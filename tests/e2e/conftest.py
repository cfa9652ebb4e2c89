"""Browser tests: Playwright for Python driving Debian's Chromium.

`playwright install` cannot download here, so the system Chromium is launched directly. Without
it the browser tests are skipped with a visible reason, except under CI=true, where a missing
browser fails the run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API keeps an event loop around; the ORM calls made by the tests themselves
# (creating users and patients) are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def pytest_report_header(config):
    if chromium_available():
        return f"browser tests: Chromium at {CHROMIUM}"
    if os.environ.get("CI") == "true":
        return "browser tests: NO CHROMIUM, and CI=true: they will FAIL"
    return "browser tests: SKIPPED, no Chromium (apt-get install chromium)"


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: browser tests are required under CI=true")
        pytest.skip(f"browser tests skipped: {message}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _webauthn_origin(request, settings):
    """WebAuthn binds keys to the origin the browser sees: the live server's."""
    if "live_server" in request.fixturenames:
        live_server = request.getfixturevalue("live_server")
        settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
        settings.OTP_WEBAUTHN_RP_ID = "localhost"


def password_step(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Nom d'utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def login(page, live_server, username: str, password: str) -> None:
    """A complete login: the password, then the code of the account's TOTP application
    (enrolled here if the account has none), as its user would type it."""
    from tests.accounts.otp import enrol_totp, totp_code
    from usmp.accounts.models import User

    device = enrol_totp(User.objects.get(username=username))
    password_step(page, live_server, username, password)
    page.wait_for_url("**/accounts/login/second-factor/**")
    page.get_by_label("Code").fill(totp_code(device))
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(f"{live_server.url}/")
