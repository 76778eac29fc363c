"""The console refuses abuse: no token, another site's POST, a foreign host name; and it never
shows a secret or runs HTML from the data. Real HTTP to a console over a log of real runs."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx2 as httpx
import pytest

from _console_support import (
    HTML_NAME,
    SCRIPT,
    FilledLog,
    coupa_profiles,
    fill_log,
)
from coupa_connector.console import ConsoleServer, ConsoleSettings
from coupa_connector.console._guard import COOKIE
from coupa_connector.operations import OpLog
from coupa_connector.sandbox import Sandbox

TOKEN = "test-token-" + "x" * 32
PROFILE_SECRET_NAME = "console"


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def filled(
    sandbox_server: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilledLog]:
    with fill_log(tmp_path_factory.mktemp("console-sec"), sandbox_server) as facts:
        yield facts


@pytest.fixture(scope="module")
def console(filled: FilledLog) -> Iterator[ConsoleServer]:
    # A profile whose secret is the sandbox's real one: the connection page and the pages
    # that read Coupa use it.
    settings = ConsoleSettings(log_db=filled.log_db, ops_dir=filled.ops_dir, port=0, token=TOKEN)
    with coupa_profiles(filled), ConsoleServer(settings) as server:
        yield server


@pytest.fixture
def anonymous(console: ConsoleServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.base_url, follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(console: ConsoleServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=console.base_url, cookies={COOKIE: TOKEN}, follow_redirects=False, timeout=60
    ) as c:
        yield c


def _csrf(client: httpx.Client, path: str = "/operations/copy-rows.yaml") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


# --------------------------------------------------------------------------- the token


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/runs/1",
        "/runs/1/log",
        "/runs/2/rejects",
        "/runs/1/coupa",
        "/integrations",
        "/charts",
        "/operations",
        "/catalog",
        "/connection",
        "/static/console.js",
        "/nowhere",
    ],
)
def test_a_request_without_the_token_gets_403(anonymous: httpx.Client, path: str) -> None:
    answer = anonymous.get(path)
    assert answer.status_code == 403
    assert "access token" in answer.text
    assert anonymous.get(path, params={"token": "wrong"}).status_code == 403
    assert anonymous.get(path, headers={"Cookie": f"{COOKIE}=wrong"}).status_code == 403


def test_a_post_without_the_token_gets_403(anonymous: httpx.Client) -> None:
    answer = anonymous.post("/operations/copy-rows.yaml/start", data={"mode": "run"})
    assert answer.status_code == 403


def test_the_token_becomes_an_httponly_cookie_and_leaves_the_url(anonymous: httpx.Client) -> None:
    answer = anonymous.get("/runs/1", params={"token": TOKEN, "page": "2"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/runs/1?page=2"
    cookie = answer.headers["set-cookie"].lower()
    assert f"{COOKIE}={TOKEN}".lower() in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_another_host_name_is_refused_even_with_the_token(client: httpx.Client) -> None:
    # A web page that points its own DNS name at 127.0.0.1 (DNS rebinding) gets nothing.
    assert client.get("/", headers={"Host": "evil.example:80"}).status_code == 403
    assert client.get("/", headers={"Host": "localhost"}).status_code == 200


def test_every_answer_has_a_strict_content_security_policy(client: httpx.Client) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- CSRF


def test_a_cross_site_post_without_the_csrf_token_is_refused(
    client: httpx.Client, console: ConsoleServer
) -> None:
    path = "/operations/copy-rows.yaml/start"
    before = len(console.app.app.state.ctx.jobs.all())
    # Another site's form: the browser sends the cookie (if SameSite did not stop it), but
    # the page cannot know the CSRF token.
    assert client.post(path, data={"mode": "run"}).status_code == 403
    assert client.post(path, data={"mode": "run", "csrf": "guess"}).status_code == 403
    csrf = _csrf(client)
    evil = {"Origin": "https://evil.example"}
    assert client.post(path, data={"mode": "run", "csrf": csrf}, headers=evil).status_code == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert client.post(path, data={"mode": "run", "csrf": csrf}, headers=cross).status_code == 403
    assert client.post(path, json={"csrf": csrf, "mode": "run"}).status_code == 415
    assert client.post("/connection/test", data={"target": "sandbox"}).status_code == 403
    assert len(console.app.app.state.ctx.jobs.all()) == before  # nothing started


def test_a_post_with_the_csrf_token_from_the_console_page_is_accepted(
    client: httpx.Client, console: ConsoleServer, filled: FilledLog
) -> None:
    csrf = _csrf(client)
    origin = {"Origin": console.base_url, "Sec-Fetch-Site": "same-origin"}
    answer = client.post(
        "/operations/copy-rows.yaml/start",
        data={"mode": "dry-run", "csrf": csrf, "var:out": str(filled.out / "csrf")},
        headers=origin,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/")
    job = console.app.app.state.ctx.jobs.all()[0]
    job.process.wait(60)
    assert job.exit_code == 0


# --------------------------------------------------------------------------- what pages show


def _crawl(client: httpx.Client, start: list[str], limit: int = 120) -> dict[str, str]:
    """Every console page reachable by links from ``start`` (downloads left out)."""
    pages: dict[str, str] = {}
    queue = list(start)
    while queue and len(pages) < limit:
        path = queue.pop(0)
        if path in pages:
            continue
        answer = client.get(path)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        pages[path] = answer.text
        for href in re.findall(r'href="([^"]+)"', answer.text):
            url = urlsplit(urljoin(path, href.replace("&amp;", "&")))
            target = url.path + (f"?{url.query}" if url.query else "")
            skip = ("/static/", "/download", "/rejects", "/schema/")
            if url.netloc or any(s in url.path for s in skip):
                continue
            # Of the catalog's 243 objects, the ones the runs use are enough.
            if url.path.startswith("/catalog/") and url.path not in ("/catalog/users",):
                continue
            queue.append(target)
    return pages


def test_no_secret_is_in_any_page_and_record_html_is_text(
    client: httpx.Client, filled: FilledLog
) -> None:
    start = ["/", f"/runs/{filled.partial}/log?q=password", "/operations/with-secret.yaml"]
    pages = _crawl(client, start)
    assert f"/runs/{filled.partial}" in pages and f"/runs/{filled.success}/log" in pages
    # The profile's secret, shown on the connection page only as a mask.
    csrf = _csrf(client)
    answer = client.post(
        "/connection/test", data={"csrf": csrf, "target": "profile", "profile": PROFILE_SECRET_NAME}
    )
    assert answer.status_code == 200 and "All checks passed" in answer.text
    assert "<td>********</td>" in answer.text
    pages["/connection/test"] = answer.text
    for path, text in pages.items():
        for secret in (*filled.secrets, TOKEN):
            assert secret not in text, f"{path} shows a secret"
        assert SCRIPT not in text, f"{path} puts a record's HTML in the page"
        assert HTML_NAME not in text, f"{path} puts a file name's HTML in the page"
    # The pages that read Coupa were reached from the runs, and asked it.
    assert f"/runs/{filled.monitored}/coupa" in pages
    assert "Read from Coupa through profile console" in pages[f"/runs/{filled.monitored}/coupa"]
    assert any(p.startswith("/integrations?integration=") for p in pages)
    # The attachment's HTML name is there, as text.
    assert "&lt;img src=x onerror=window.__xss=2&gt;.txt" in pages[f"/runs/{filled.downloaded}"]
    # The record's <script> is there, as text.
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in pages[f"/runs/{filled.partial}"]
    # The file's own secret is refused by validation and masked where the file is shown.
    assert "hunter2-in-a-file" not in pages["/operations/with-secret.yaml"]


def test_coupa_out_of_reach_is_said_plainly_and_shows_no_secret(
    client: httpx.Client, filled: FilledLog
) -> None:
    for path in (
        f"/runs/{filled.monitored}/coupa?connection=gone",
        f"/integrations?integration={filled.integration}&connection=gone",
    ):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "Coupa could not be asked through profile gone at http://127.0.0.1:1" in answer.text
        assert "refused the connection" in answer.text
        assert "gone-secret-never-shown" not in answer.text
    answer = client.get(f"/runs/{filled.monitored}/coupa", params={"connection": "nosuch"})
    assert "Profile &#x27;nosuch&#x27; is not in" in answer.text
    # A run against an instance no connection here reaches is not looked up elsewhere (its
    # run of the same id would be another integration's), unless a connection is chosen.
    with OpLog(filled.log_db) as log:
        faraway = log.start_run("far", "/far.yaml", scope="coupa=https://acme.example.com")
        log.set_detail(faraway, "monitoring", {"integration": "FAR", "integration_run": 1})
        log.finish_run(faraway, "success")
        embedded = log.start_run("emb", "/emb.yaml", scope="coupa=sandbox http://x 1f")
        log.set_detail(embedded, "monitoring", {"integration": "EMB", "integration_run": 1})
        log.finish_run(embedded, "success")
    far = client.get(f"/runs/{faraway}/coupa?fragment=1").text
    assert "neither a profile nor COUPA_URL reaches https://acme.example.com" in far
    assert f'href="/runs/{faraway}/coupa"' in far  # where another connection is chosen
    assert "an embedded sandbox (--sandbox)" in client.get(f"/runs/{embedded}/coupa").text
    chosen = client.get(f"/runs/{faraway}/coupa?connection=console").text
    assert "is not the instance the run talked to (https://acme.example.com)" in chosen
    # The run page itself needs no Coupa: what the monitoring did is in the operation log.
    page = client.get(f"/runs/{filled.monitored}").text
    assert filled.integration in page and "Integration errors sent" in page


# --------------------------------------------------------------------------- loopback


def _first_lines(argv: list[str], count: int) -> list[str]:
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while len(lines) < count and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
    finally:
        process.terminate()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()
    return lines


def test_the_console_listens_on_loopback_and_prints_its_url(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "coupa_connector", "console", "--port", "0"]
    lines = _first_lines([*argv, "--log-db", str(tmp_path / "l.db")], 2)
    assert re.fullmatch(r"Coupa console: http://127\.0\.0\.1:\d+/\?token=[\w-]{40,}", lines[0])
    assert not any("warning" in line for line in lines)


def test_another_host_needs_to_be_asked_for_and_is_warned_about(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "coupa_connector", "console", "--port", "0", "--host", "0.0.0.0"]
    lines = _first_lines([*argv, "--log-db", str(tmp_path / "l.db")], 2)
    assert lines[0].startswith("warning: listening on 0.0.0.0, not loopback")
    assert lines[1].startswith("Coupa console: http://0.0.0.0:")
