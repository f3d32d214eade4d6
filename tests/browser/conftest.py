"""Real-browser tests: headless Debian Chromium driven by Selenium.

Nothing here downloads a browser. The system's ``chromium`` and
``chromedriver`` are used (``CHROMIUM_PATH`` / ``CHROMEDRIVER_PATH`` override
where they are looked for). Without them the tests skip and say how to get
them; with ``REQUIRE_SERVICES=1`` (CI) they fail instead, so CI never passes
on a browser that silently did not run.

Fixtures for other test modules:

- ``browser``: a Selenium WebDriver with a fresh profile per test, viewport
  1280×800; pair it with pytest-django's ``live_server``.
- ``browser_viewport(driver, width, height, mobile=False)``: resize the
  *viewport* (not the window), e.g. 360×740 for a phone.
- ``screenshot(name, width=None, height=None)``: save a PNG under
  ``tests/artifacts/`` (git-ignored), optionally at a viewport size first;
  returns the path.
- ``wait_for(driver, css, timeout=10)``: wait until an element is present.
- ``csp_violations(driver)``: the Content-Security-Policy violations the
  console reported since the last call (the browser log is kept at level ALL).

Every test collected under ``tests/browser/`` gets the ``browser`` marker, and
a local-memory cache of its own: each test is a till signing in from
127.0.0.1, and a dozen of them within one calendar minute would meet the
sign-in limit (10 per minute per client IP) that one till never does.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts"
INSTALL_HINT = "apt-get install chromium chromium-driver"

CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _find(executable_env: str, candidates: tuple[str, ...]) -> str | None:
    configured = os.environ.get(executable_env)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in candidates:
        found = shutil.which(candidate) if "/" not in candidate else candidate
        if found and os.access(found, os.X_OK):
            return found
    return None


def _unavailable(reason: str):
    message = f"{reason}; install them with `{INSTALL_HINT}` to run the browser tests"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings, request):
    """A fresh local-memory cache per test (the live server's thread shares the setting), so that the rate
    limits count this test's requests only; the limits themselves are tested in tests/api and test_rate_limits."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture(scope="session")
def chromium_executables():
    """(chromium, chromedriver) paths, or skip/fail with the install hint."""
    chromium = _find("CHROMIUM_PATH", ("/usr/bin/chromium", "chromium", "chromium-browser"))
    chromedriver = _find("CHROMEDRIVER_PATH", ("/usr/bin/chromedriver", "chromedriver"))
    if chromium is None or chromedriver is None:
        missing = [name for name, path in (("chromium", chromium), ("chromedriver", chromedriver)) if path is None]
        _unavailable(f"{' and '.join(missing)} not found")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("the selenium package is not installed (pip install -r requirements-dev.txt)")
    return chromium, chromedriver


@pytest.fixture
def browser(chromium_executables, tmp_path_factory):
    """A headless Chromium with a fresh profile, closed after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_executables
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path_factory.getbasetemp())
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,800")
    # Every console message, so tests can read CSP violations with driver.get_log("browser").
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    except Exception as error:  # a broken install is reported like a missing one
        _unavailable(f"Chromium could not start ({error.__class__.__name__}: {str(error).splitlines()[0]})")
    driver.set_page_load_timeout(30)
    browser_viewport(driver, 1280, 800)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def browser_viewport(driver, width: int, height: int, *, mobile: bool | None = None) -> None:
    """Make the page's viewport exactly width×height CSS pixels (a phone when narrow)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": width < 600 if mobile is None else mobile,
        },
    )


@pytest.fixture
def screenshot(browser, request):
    """``screenshot(name, width=None, height=None)`` → path of the PNG in tests/artifacts/."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)

    def take(name: str, width: int | None = None, height: int | None = None) -> Path:
        if width and height:
            browser_viewport(browser, width, height)
        path = ARTIFACTS_DIR / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take


def wait_for(driver, css: str, timeout: float = 10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def csp_violations(driver) -> list[str]:
    """Console messages about the Content-Security-Policy since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
