"""The console in a real headless Chromium, against an operation log of real sandbox runs.

The log (``_console_support.fill_log``) holds a success, a partial run with rejects, a
failure that chains to a report, and a run still in progress in another process. Each test
drives the pages as a person would and saves a screenshot of its page under
``docs/images/`` (the README and docs/console.md show them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from _browser import chromium
from _console_support import (
    BROKEN_NAME,
    HTML_NAME,
    PLANTED_RECORD_SECRET,
    SCRIPT,
    FilledLog,
    coupa_profiles,
    fill_log,
)
from coupa_connector.console import ConsoleServer, ConsoleSettings
from coupa_connector.sandbox import Sandbox

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.slow

DOC_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
# The committed screenshots are renewed on request only, so a test run leaves the checkout
# as it was; otherwise each page is still shot, into a temporary folder, and checked.
RENEW_IMAGES = os.environ.get("COUPA_RENEW_SCREENSHOTS") == "1"
WIDTH, HEIGHT = 1280, 800


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledLog]:
    with Sandbox() as sandbox, fill_log(tmp_path_factory.mktemp("console"), sandbox) as facts:
        yield facts


@pytest.fixture(scope="module")
def console(filled: FilledLog) -> Iterator[ConsoleServer]:
    # The console reads Coupa (the monitored run's integration run) through a profile.
    settings = ConsoleSettings(log_db=filled.log_db, ops_dir=filled.ops_dir, port=0)
    with coupa_profiles(filled), ConsoleServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def browser(
    console: ConsoleServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebDriver]:
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        _viewport(driver, WIDTH, HEIGHT)
        driver.set_page_load_timeout(30)
        driver.get(console.url)  # sets the token cookie, then drops the token from the URL
        yield driver
    finally:
        driver.quit()


def _viewport(driver: WebDriver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DOC_IMAGES if RENEW_IMAGES else tmp_path_factory.mktemp("screenshots")


Shot = Callable[[str], None]


@pytest.fixture(scope="module")
def shot(browser: WebDriver, images: Path) -> Shot:
    """Saves a screenshot of the browser's page as ``console-NAME.png``."""

    def take(name: str) -> None:
        images.mkdir(parents=True, exist_ok=True)
        path = images / f"console-{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot of {name}"
        assert path.stat().st_size > 5_000

    return take


def _wait(driver: WebDriver, condition: Any, timeout: float = 20) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A job page replaces its status element while it polls; an element found just before the
    # swap is stale, which means "look again", not a failure.
    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
    )
    return wait.until(condition)


def _by_css(driver: WebDriver, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def _all_css(driver: WebDriver, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _open(driver: WebDriver, console: ConsoleServer, path: str) -> None:
    driver.get(console.base_url + path)


def _statuses(driver: WebDriver) -> dict[int, str]:
    return {
        int(row.get_attribute("data-run")): row.get_attribute("data-status")
        for row in _all_css(driver, "table.runs tbody tr")
    }


# --------------------------------------------------------------------------- runs


def test_the_runs_list_shows_every_kind_of_run_and_filters(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, console, "/")
    assert "token=" not in browser.current_url
    statuses = _statuses(browser)
    assert statuses[filled.success] == "success"
    assert statuses[filled.partial] == "partial"
    assert statuses[filled.failed] == "failed"
    assert statuses[filled.running] == "running"
    chained = _by_css(browser, f'tr[data-run="{filled.chained}"]')
    assert f"after run {filled.failed}" in chained.text
    shot("runs")

    Select(browser.find_element(By.NAME, "status")).select_by_value("partial")
    _by_css(browser, "form.filters button[type=submit]").click()
    _wait(browser, lambda d: "status=partial" in d.current_url)
    # The monitored run and the download rejected a record each: partial too.
    assert set(_statuses(browser)) == {filled.partial, filled.monitored, filled.downloaded}

    Select(browser.find_element(By.NAME, "status")).select_by_value("")
    box = browser.find_element(By.NAME, "q")
    box.clear()
    box.send_keys("401")
    box.submit()  # Enter in the box: the keyboard way
    _wait(browser, lambda d: "q=401" in d.current_url)
    assert set(_statuses(browser)) == {filled.failed}


def test_the_list_refreshes_itself_while_a_run_is_in_progress(
    browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    _open(browser, console, "/")
    row = f'tr[data-run="{filled.running}"] td:nth-child(6)'
    before = int(_by_css(browser, row).text.replace(",", ""))
    browser.execute_script("window.notReloaded = true;")
    _wait(browser, lambda d: int(_by_css(d, row).text.replace(",", "")) > before, timeout=30)
    # The page itself was not reloaded: only the table was fetched again.
    assert browser.execute_script("return window.notReloaded === true;")


def test_a_run_shows_its_rejected_record_with_the_reason_and_html_as_text(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    _open(browser, console, f"/runs/{filled.partial}")
    rows = _all_css(browser, "table.failures tbody tr")
    assert len(rows) == 2
    first = rows[0].text
    assert "rejected" in first
    assert "email" in first and "required" in first.lower()
    # The record's <script> is shown as text and never ran.
    assert SCRIPT in first
    assert browser.execute_script("return window.__xss === undefined;")
    # The password field of the input and the transformed record is masked.
    assert PLANTED_RECORD_SECRET not in browser.page_source
    assert '"password": "********"' in first
    assert "Transformed record" in _by_css(browser, "table.failures thead").text
    # Both the input record and what the transformation made of it.
    assert first.count('"login"') == 2
    timeline = _by_css(browser, "ol.timeline").text
    assert "start" in timeline and "batch 1" in timeline and "end" in timeline
    browser.execute_script("document.getElementById('failures-h').scrollIntoView();")
    shot("run")


def test_the_debug_log_viewer_finds_a_request(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, f"/runs/{filled.success}")
    assert len(_all_css(browser, "ol.timeline li")) == 5  # start, three batches, end
    assert _all_css(browser, "figure.chart svg polyline")  # records per second
    browser.find_element(By.LINK_TEXT, "Open the debug log").click()
    _wait(browser, lambda d: d.current_url.endswith("/log"))
    box = browser.find_element(By.NAME, "q")
    box.send_keys("POST /api/suppliers")
    box.submit()
    _wait(browser, lambda d: "q=POST" in d.current_url)
    lines = [r.text for r in _all_css(browser, "table.log tbody tr")]
    assert lines and all("POST /api/suppliers" in line for line in lines)
    assert any("201" in line for line in lines)
    assert _all_css(browser, "table.log mark")
    for secret in filled.secrets:
        assert secret not in browser.page_source
    shot("debug-log")


def test_a_failed_run_shows_its_error_and_links_its_chain(
    browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, f"/runs/{filled.failed}")
    error = _by_css(browser, "[role=alert]").text
    assert "401" in error
    browser.find_element(By.PARTIAL_LINK_TEXT, f"run {filled.chained}: report").click()
    _wait(browser, lambda d: d.current_url.endswith(f"/runs/{filled.chained}"))
    assert f"run {filled.failed}" in _by_css(browser, "#chain-h + ul").text


def test_charts_draw_records_and_durations(
    shot: Shot, browser: WebDriver, console: ConsoleServer
) -> None:
    _open(browser, console, "/charts")
    titles = [t.get_attribute("textContent") for t in _all_css(browser, "svg.plot title")]
    assert any("Records per run" in t for t in titles)
    assert any("Duration per operation" in t for t in titles)
    assert "users-in" in _by_css(browser, "ul.legend").text
    shot("charts")


def _scroll_to(driver: WebDriver, element_id: str) -> None:
    driver.execute_script(f"document.getElementById('{element_id}').scrollIntoView();")


def test_a_monitored_run_shows_its_integration_run_and_its_errors_in_coupa(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, f"/runs/{filled.monitored}")
    facts = {
        d.find_element(By.TAG_NAME, "dt").text: d.find_element(By.TAG_NAME, "dd").text
        for d in _all_css(browser, "dl.monitoring > div")
    }
    # From the operation log: no Coupa needed for these.
    assert facts["Integration"] == filled.integration
    coupa_run = int(facts["Coupa run id"])
    assert facts["State set by this run"] == "successful"
    assert facts["Integration errors sent"] == "1"
    assert facts["Calls failed or not sent"] == "0"
    # From Coupa, filled in by the page script: the run's state and counts, and its error.
    _wait(browser, lambda d: _all_css(d, "#coupa-live table.integration-errors"), timeout=30)
    live = _by_css(browser, "#coupa-live")
    assert "Read from Coupa through profile console" in live.text
    coupa_facts = _by_css(browser, "dl.coupa-facts").text
    assert "successful" in coupa_facts and str(coupa_run) in coupa_facts
    [error] = _all_css(browser, "table.integration-errors tbody tr")
    assert "sideways" in error.text and "rejected" in error.text and "Functional" in error.text
    _scroll_to(browser, "monitoring-h")
    shot("monitoring")

    browser.find_element(By.PARTIAL_LINK_TEXT, f"Every run of {filled.integration}").click()
    _wait(browser, lambda d: "/integrations" in d.current_url)
    browser.find_element(By.NAME, "errors").click()
    _by_css(browser, "form.filters button[type=submit]").click()
    _wait(browser, lambda d: "errors=1" in d.current_url)
    row = _by_css(browser, f'table.integration-runs tr[data-coupa-run="{coupa_run}"]')
    assert "successful" in row.text and f"run {filled.monitored}" in row.text
    assert "sideways" in _by_css(browser, f"#e-{coupa_run} + div").text
    shot("integrations")

    # Coupa out of reach: said plainly, and the local facts are still on the run page.
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.NAME, "connection")).select_by_value("gone")
    _by_css(browser, "form.filters button[type=submit]").click()
    _wait(browser, lambda d: "connection=gone" in d.current_url)
    problem = _by_css(browser, "[role=alert]").text
    assert "Coupa could not be asked through profile gone" in problem
    assert "refused the connection" in problem


def test_an_attachments_run_shows_its_manifest_counts_and_failures(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, f"/runs/{filled.downloaded}")
    counts = _by_css(browser, "table.attachment-counts")
    head = [c.text for c in counts.find_elements(By.CSS_SELECTOR, "thead th")]
    cells = [c.text for c in counts.find_elements(By.CSS_SELECTOR, "tbody td")]
    numbers = dict(zip(head, cells, strict=True))
    assert numbers["Records"] == "40"
    downloaded = int(numbers["Downloaded"])
    assert int(numbers["Files found"]) == downloaded + 1 and downloaded > 50
    assert numbers["Failed"] == "1"
    rows = _all_css(browser, "table.manifest tbody tr")
    assert len(rows) == 50
    assert f"page 1 of 2 ({downloaded} files)" in _by_css(browser, "#manifest-h + nav").text
    names = [r.find_element(By.TAG_NAME, "th").text for r in rows]
    # The attachment named with HTML shows its name as text, and nothing of it ran.
    assert HTML_NAME in names
    assert browser.execute_script("return window.__xss === undefined;")
    assert all(len(r.find_element(By.TAG_NAME, "code").get_attribute("title")) == 64 for r in rows)
    assert "manifest.csv" in _by_css(browser, "p.manifest-where").text
    # The file that failed, with its reason.
    [failure] = _all_css(browser, "table.failures tbody tr")
    assert BROKEN_NAME in failure.text
    assert "download failed" in failure.text and "on every attempt" in failure.text
    _scroll_to(browser, "attachments-h")
    shot("attachments")

    # The manifest's next page: the other files, the failures still below.
    def paths(rows: list[Any]) -> set[str]:
        return {r.find_elements(By.TAG_NAME, "code")[-1].text for r in rows}

    first = paths(rows)
    _by_css(browser, "#manifest-h + nav a[rel=next]").click()
    _wait(browser, lambda d: "files=2" in d.current_url)
    rest = _all_css(browser, "table.manifest tbody tr")
    assert len(rest) == downloaded - 50
    assert len(paths(rest)) == len(rest) and not paths(rest) & first
    assert _all_css(browser, "table.failures tbody tr")


# --------------------------------------------------------------------------- operations


def test_a_dry_run_started_from_the_operations_page_runs_and_finishes(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, "/operations")
    page = _by_css(browser, "main").text
    assert "broken.yaml" in page and "copy-rows.yaml" in page
    shot("operations")
    browser.find_element(By.LINK_TEXT, "broken.yaml").click()
    problems = _all_css(browser, "table.problems tbody tr")
    assert problems and all(p.find_element(By.TAG_NAME, "th").text.isdigit() for p in problems)
    assert _all_css(browser, "table.source tr.bad")

    _open(browser, console, "/operations/copy-rows.yaml")
    out = filled.out / "from-console"
    browser.find_element(By.NAME, "var:out").send_keys(str(out))
    shot("operation")
    browser.find_element(By.CSS_SELECTOR, "button[value=dry-run]").click()
    _wait(browser, lambda d: "/jobs/" in d.current_url)
    _wait(
        browser,
        lambda d: _by_css(d, ".job-status").get_attribute("data-state") == "finished",
        timeout=60,
    )
    assert "exit code 0" in _by_css(browser, ".job-status").text
    [row] = _all_css(browser, "table.runs tbody tr")
    assert row.get_attribute("data-status") == "success"
    assert "copy-rows" in row.text and "yes" in row.text  # the dry-run column
    assert not (out / "rows.jsonl").exists()  # a dry run writes nothing
    shot("job")


def test_the_operations_page_refuses_a_file_with_a_secret(
    browser: WebDriver, console: ConsoleServer
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, "/operations/with-secret.yaml")
    assert "secrets never go in an operation file" in _by_css(browser, "[role=alert]").text
    browser.find_element(By.CSS_SELECTOR, "button[value=run]").click()
    _wait(browser, lambda d: "/start" in d.current_url)
    assert "secrets never go in an operation file" in _by_css(browser, "[role=alert]").text
    assert "hunter2-in-a-file" not in browser.page_source.split('<h2 id="f-h">')[0]


# --------------------------------------------------------------------------- catalog, connection


def test_the_catalog_is_searchable_with_fields_and_schemas(
    shot: Shot, browser: WebDriver, console: ConsoleServer
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, "/catalog")
    box = browser.find_element(By.NAME, "q")
    box.send_keys("supplier")
    box.submit()
    _wait(browser, lambda d: "q=supplier" in d.current_url)
    names = [
        r.find_element(By.TAG_NAME, "a").text for r in _all_css(browser, "table.catalog tbody tr")
    ]
    assert "suppliers" in names and "invoices" not in names
    shot("catalog")
    browser.find_element(By.LINK_TEXT, "suppliers").click()
    rows = {
        r.find_element(By.TAG_NAME, "th").text: r.text
        for r in _all_css(browser, "table.fields tbody tr")
    }
    assert "required" in rows["name"]
    assert "read-only" in rows["created-at"]
    assert "active" in rows["status"] and "inactive" in rows["status"]
    summary = browser.find_element(By.XPATH, "//summary[contains(., 'JSON Schema for create')]")
    summary.click()
    schema = summary.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "pre").text
    assert '"required"' in schema and "draft/2020-12" in schema
    shot("catalog-object")


def test_the_connection_test_of_the_embedded_sandbox_is_a_table(
    shot: Shot, browser: WebDriver, console: ConsoleServer
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, console, "/connection")
    browser.find_element(By.CSS_SELECTOR, "form.run-form button[type=submit]").click()
    _wait(browser, lambda d: _all_css(d, "table.checks"), timeout=60)
    checks = {
        r.find_element(By.TAG_NAME, "th").text: r.text
        for r in _all_css(browser, "table.checks tbody tr")
    }
    assert "host" in checks and "token" in checks
    assert all("OK" in text for text in checks.values())
    assert "********" in _by_css(browser, "table.settings").text
    shot("connection")


# --------------------------------------------------------------------------- accessibility


def _overflow(driver: WebDriver) -> int:
    return int(
        driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    )


def test_pages_fit_a_narrow_window_and_work_from_the_keyboard(
    shot: Shot, browser: WebDriver, console: ConsoleServer, filled: FilledLog
) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.keys import Keys

    try:
        _viewport(browser, 420, 800)
        for path in (
            f"/runs/{filled.partial}",
            f"/runs/{filled.monitored}",
            f"/runs/{filled.downloaded}",
            f"/integrations?integration={filled.integration}&errors=1",
            "/operations",
            "/catalog/suppliers",
            "/",
        ):
            _open(browser, console, path)
            # Wide tables scroll in their own box; the page itself never scrolls sideways.
            # Measured once the layout has settled (the style sheet applied, a region the
            # page script fills in): a page still being laid out is not a page too wide.
            try:
                _wait(browser, lambda d: _overflow(d) <= 1, timeout=5)
            except TimeoutException:
                wide = browser.execute_script(
                    "return [...document.querySelectorAll('main *')].filter(e => "
                    "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
                    ".map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 60));"
                )
                pytest.fail(f"{path} is {_overflow(browser)}px too wide: {wide}")
        shot("narrow")
    finally:
        _viewport(browser, WIDTH, HEIGHT)
    _open(browser, console, "/")
    body = _by_css(browser, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    time.sleep(0.2)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    assert _by_css(browser, "nav[aria-label=Sections]")
    assert _by_css(browser, "main h1").text == "Runs"
