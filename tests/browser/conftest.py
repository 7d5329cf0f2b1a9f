"""Browser tests: Playwright's sync API driving Debian's Chromium, never a browser that Playwright downloads.

Fixtures (write browser tests as plain ``def`` tests, see "asyncio" below):

- ``chromium_executable`` (session): Chromium's path, from ``$IDOCBRIDGE_CHROMIUM``, else /usr/bin/chromium,
  else ``chromium`` on PATH. Without one, the test fails when ``CI`` or ``IDOCBRIDGE_REQUIRE_BROWSER=1`` is set
  (.ci/run sets the latter and installs Debian's package) and skips elsewhere, saying how to install it.
- ``browser`` (package): one headless Chromium for the tests in this folder.
- ``context`` and ``page`` (function): a new browser context for each test, so cookies, storage and logins
  never leak from one test into the next. When a test fails with a page open, its report gets a "browser"
  section: the page's URL, a screenshot of it, and the console errors and uncaught exceptions it logged.
- ``screenshot`` (function): ``screenshot("name")`` saves the page as ``<artefacts>/screenshots/name.png``
  (the test's name when no name is given) and returns the path. ``<artefacts>`` is
  ``$IDOCBRIDGE_TEST_ARTIFACTS``, else test-artifacts/ at the project root (git-ignored).
- ``serve_app`` (function): ``serve_app(app)`` serves an ASGI app (a Starlette app) under uvicorn on a free
  port on 127.0.0.1, on a thread, and returns its base URL; it stops when the test ends.

asyncio: while Playwright's sync API is running, the thread that started it counts as running an event loop
(Playwright's dispatcher loop), so ``asyncio.run`` fails there, and Playwright refuses to start inside a
running loop (an ``async def`` test under anyio). Hence the Playwright and the browser live for this folder
(package scope), not for the session: they stop before the tests of other folders, which call asyncio.run.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import ROOT
from tests.served_app import serve_app

__all__ = ["CHROMIUM_ARGS", "artifacts_dir", "serve_app"]

# As root on these machines: no sandbox; no GPU; and no connections of Chromium's own (QUIC, component updates,
# sync, the background fetches), which the closed network would refuse, many at a time.
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
# How long an action (click, goto) or an expect(...) waits: generous, for a busy two-core CI machine.
TIMEOUT_MS = 15_000
INSTALL_HINT = (
    "install Debian's Chromium (as root: apt-get install -y chromium; .ci/run does that), "
    "or set IDOCBRIDGE_CHROMIUM to a Chromium executable"
)


def artifacts_dir() -> Path:
    """Where tests leave files for people to look at: $IDOCBRIDGE_TEST_ARTIFACTS, else test-artifacts/."""
    configured = os.environ.get("IDOCBRIDGE_TEST_ARTIFACTS")
    return Path(configured).expanduser().resolve() if configured else ROOT / "test-artifacts"


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "page"


def _browser_required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}
    return ci or os.environ.get("IDOCBRIDGE_REQUIRE_BROWSER") == "1"


def _find_chromium() -> tuple[Path | None, str]:
    """Chromium's path, or None and why not."""
    configured = os.environ.get("IDOCBRIDGE_CHROMIUM")
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path, ""
        return None, f"IDOCBRIDGE_CHROMIUM={configured} is not an executable file"
    default = Path("/usr/bin/chromium")
    if default.is_file() and os.access(default, os.X_OK):
        return default, ""
    found = shutil.which("chromium")
    if found:
        return Path(found), ""
    return None, "no Chromium: neither /usr/bin/chromium nor chromium on PATH"


def _refuse_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    pytest.fail(
        "the browser fixtures use Playwright's sync API, which cannot run inside a running asyncio loop: "
        "write browser tests as plain `def` tests (not async, no anyio or asyncio marks)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    path, why_not = _find_chromium()
    if path is None:
        message = f"browser tests need Chromium: {why_not}; {INSTALL_HINT}"
        if _browser_required():
            pytest.fail(f"{message} (required here: CI or IDOCBRIDGE_REQUIRE_BROWSER=1 is set)", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    _refuse_running_loop()
    # The expect(...) assertions wait this long before failing (Playwright's own default is 5 s).
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_executable: Path) -> Iterator[Browser]:
    """One headless Chromium; each test gets a context of its own from it (the ``context`` fixture)."""
    try:
        launched = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
    except PlaywrightError as exc:
        pytest.fail(f"Chromium ({chromium_executable}) did not start: {exc}", pytrace=False)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A new browser context (its own cookies, storage and cache) for each test."""
    fresh = browser.new_context(viewport={"width": 1024, "height": 640})
    fresh.set_default_timeout(TIMEOUT_MS)
    yield fresh
    fresh.close()


@dataclass
class _PageRecord:
    """What the page logged, reported with a test that fails."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


_PAGE = pytest.StashKey[_PageRecord]()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Page:
    """A page in the test's own context; a failing test's report shows it (see the module's docstring)."""
    opened = context.new_page()
    record = _PageRecord(opened)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url")
            record.console_errors.append(f"{message.text} ({where})" if where else message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: record.page_errors.append(f"{error.name}: {error.message}"))
    request.node.stash[_PAGE] = record
    return opened


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add what the page showed to the report of a browser test that failed (its page is still open here)."""
    report = yield
    record = item.stash.get(_PAGE, None)
    if report.when == "call" and report.failed and record is not None:
        lines = []
        try:
            lines.append(f"page URL: {record.page.url}")
            shot = artifacts_dir() / "screenshots" / "failed" / f"{_file_name(item.nodeid)}.png"
            record.page.screenshot(path=shot, full_page=True, timeout=10_000)
            lines.append(f"screenshot: {shot}")
        except PlaywrightError as exc:
            lines.append(f"no screenshot: {exc}")
        lines += [f"console error: {text}" for text in record.console_errors]
        lines += [f"uncaught exception in the page: {text}" for text in record.page_errors]
        report.sections.append(("browser", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = artifacts_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(page: Page, screenshot_dir: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``screenshot(name=None, *, target=None, full_page=True)``: save a PNG of the page (or of ``target``,
    another page) as ``<screenshot_dir>/<name>.png`` and return its path; the name defaults to the test's."""

    def save(name: str | None = None, *, target: Page | None = None, full_page: bool = True) -> Path:
        path = screenshot_dir / f"{_file_name(name or request.node.name)}.png"
        (target or page).screenshot(path=path, full_page=full_page)
        return path

    return save
