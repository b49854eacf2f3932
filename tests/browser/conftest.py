"""Browser tests: pytest-playwright driving Debian's chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so the system chromium is launched instead.
Without it the tests skip locally and fail on CI (the CI variable is set). A failing test leaves
a screenshot in test-results/.
"""

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pluggy
import pytest
from playwright.sync_api import Page

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
# are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser tests")
        print(f"skipping the browser tests: {message}")
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def _browser_defaults(request: pytest.FixtureRequest, page: Page, settings) -> Iterator[None]:
    """Eager Celery on our app, generous timeouts, and a screenshot when the test fails."""
    page.set_default_timeout(15_000)
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        try:
            page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # the page may be gone with the failure
            print(f"no screenshot for {request.node.nodeid}: {exc}")
