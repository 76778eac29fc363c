"""Answers that are not Coupa's: redirects, empty bodies, null, a single object.

None of them may pass for the end of a query or for a working connection: a sign-in page
behind a redirect, or a proxy that drops a body, would otherwise end an extract early with
exit code 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from _client_fakes import FakeCoupa, config, invoices
from coupa_connector import AsyncConnection, Connection
from coupa_connector.errors import APIError, TransportError
from coupa_connector.operations.extract._extract import extract

Answer = Callable[[httpx2.Request], httpx2.Response | None]


def _on_page_after(last_id: int, answer: httpx2.Response) -> Answer:
    def scripted(request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("id[gt]") == str(last_id):
            return answer
        return None

    return scripted


def test_a_redirect_is_an_error_naming_where_it_went_without_its_query() -> None:
    fake = FakeCoupa(records=invoices(3))
    login = "https://login.example.com/sso/start?SAMLRequest=secret-ish"
    # The token request goes through; the page request is redirected.
    fake.script = [lambda r: None, lambda r: httpx2.Response(302, headers={"location": login})]
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(
            APIError, match=r"redirected to https://login\.example\.com/sso/start;"
        ) as err,
    ):
        list(conn.query("invoices"))
    assert err.value.status == 302
    assert "SAMLRequest" not in str(err.value)
    assert len(fake.api_calls()) == 1  # a redirect is not retried


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        (
            httpx2.Response(200, content=b"", headers={"content-type": "application/json"}),
            "an empty body",
        ),
        (httpx2.Response(204), "an empty body"),
        (httpx2.Response(200, content=b"null"), "null"),
        (httpx2.Response(200, json={"id": 1}), "one object"),
    ],
    ids=["empty-200", "204", "null", "one-object"],
)
def test_a_page_that_is_not_a_list_fails_the_query_with_its_position(
    answer: httpx2.Response, what: str
) -> None:
    fake = FakeCoupa(records=invoices(120))
    fake.script = [lambda r: None, lambda r: None] + [_on_page_after(50, answer)] * 5
    delivered: list[int] = []
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(TransportError, match=f"with {what} .*not a list of records") as err,
    ):
        for record in conn.query("invoices", concurrency=1):
            delivered.append(record["id"])
    assert "id > 50" in str(err.value) and "after 50 records" in str(err.value)
    assert delivered == list(range(1, 51))


def test_an_extract_that_meets_a_broken_page_writes_nothing(tmp_path: Path) -> None:
    fake = FakeCoupa(records=invoices(120))
    fake.script = [lambda r: None, lambda r: None] + [_on_page_after(50, httpx2.Response(204))] * 5
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")

    async def go() -> None:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            await extract(conn, "invoices", out, concurrency=1)

    with pytest.raises(TransportError):
        asyncio.run(go())
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_the_connection_test_fails_a_read_that_is_not_a_list() -> None:
    fake = FakeCoupa(records=invoices(3))

    def html_page(request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.startswith("/api/"):
            return httpx2.Response(200, json={"page": "welcome"})
        return None

    fake.script = [html_page] * 5
    with Connection(config(), transport=fake.transport()) as conn:
        report = conn.test(["invoices"])
    row = {c.check: c for c in report.checks}["invoices"]
    assert not report.ok and not row.ok
    assert "not with a list of records" in row.detail
