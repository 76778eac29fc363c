"""The Query activity against the sandbox over real HTTP: filters, fields, formats, paging
exactly-once under inserts, updates and faults."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from _client_sandbox import new_invoice_body, sandbox_config, server_records
from coupa_connector import AsyncConnection, Connection
from coupa_connector.errors import QueryError
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def writable_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox for a test that writes: reseeded afterwards so no other test sees its
    records."""
    yield sandbox
    sandbox.reset()


def ids(records: list[dict[str, Any]]) -> list[int]:
    return sorted(r["id"] for r in records)


def test_all_records_exactly_once_in_every_paging_mode(sandbox: Sandbox) -> None:
    truth = ids(server_records(sandbox, "invoices"))
    assert len(truth) > 150
    with Connection(sandbox_config(sandbox)) as conn:
        for paging, width in (("keyset", 1), ("keyset", 4), ("offset", 1), ("offset", 4)):
            got = [r["id"] for r in conn.query("invoices", paging=paging, concurrency=width)]
            assert sorted(got) == truth, (paging, width)
            assert len(got) == len(set(got))


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ("status=approved", lambda r: r["status"] == "approved"),
        ("status!=approved", lambda r: r["status"] != "approved"),
        ("gross-total>1000", lambda r: float(r["gross-total"]) > 1000),
        ("gross-total>=1000", lambda r: float(r["gross-total"]) >= 1000),
        ("gross-total<500", lambda r: float(r["gross-total"]) < 500),
        ("gross-total<=500", lambda r: float(r["gross-total"]) <= 500),
        ("invoice-number~-1", lambda r: "-1" in r["invoice-number"]),
        ("invoice-number^=INV-1", lambda r: r["invoice-number"].startswith("INV-1")),
        ("invoice-number$=7", lambda r: r["invoice-number"].endswith("7")),
        ("status in approved,voided", lambda r: r["status"] in ("approved", "voided")),
        ("status not in approved,draft", lambda r: r["status"] not in ("approved", "draft")),
        ("comments is blank", lambda r: not r["comments"]),
        ("comments is not blank", lambda r: bool(r["comments"])),
        ("supplier.name~co", lambda r: "co" in r["supplier"]["name"].lower()),  # case-insensitive
        (
            "invoice-lines.account.code^=100",
            lambda r: any(line["account"]["code"].startswith("100") for line in r["invoice-lines"]),
        ),
        ("updated-at>=2025-01-01", lambda r: r["updated-at"] >= "2025-01-01"),
    ],
)
def test_each_operator_matches_the_server(sandbox: Sandbox, where: str, check: Any) -> None:
    with Connection(sandbox_config(sandbox)) as conn:
        got = list(conn.query("invoices", where=where))
    everything = server_records(sandbox, "invoices")
    expected = [r["id"] for r in everything if check(r)]
    assert expected, f"the seed has no record for {where}"
    assert ids(got) == sorted(expected)


def test_raw_params_pass_through(sandbox: Sandbox) -> None:
    with Connection(sandbox_config(sandbox)) as conn:
        got = list(conn.query("suppliers", params={"name[starts_with]": "B"}))
    expected = [r["id"] for r in server_records(sandbox, "suppliers") if r["name"].startswith("B")]
    assert expected and ids(got) == sorted(expected)


def test_fields_selection_and_return_object(sandbox: Sandbox) -> None:
    with Connection(sandbox_config(sandbox)) as conn:
        records = list(conn.query("invoices", fields=["invoice-number", "supplier.name"], limit=60))
        limited = list(conn.query("invoices", return_object="limited", limit=3))
    assert len(records) == 60
    assert all(set(r) == {"id", "invoice-number", "supplier"} for r in records)
    assert all(set(r["supplier"]) == {"name"} for r in records)
    assert limited == [{"id": i} for i in ids(limited)]


def test_json_and_xml_give_identical_records(sandbox: Sandbox) -> None:
    out = {}
    for fmt in ("json", "xml"):
        with Connection(sandbox_config(sandbox, wire_format=fmt)) as conn:
            out[fmt] = sorted(
                conn.query("invoices", where="status in approved,draft"), key=lambda r: r["id"]
            )
            out[fmt + "-po"] = sorted(conn.query("purchase_orders"), key=lambda r: r["id"])
            out[fmt + "-empty"] = list(conn.query("invoices", where="invoice-number=no-such-thing"))
    assert out["json"] == out["xml"] and len(out["json"]) > 50
    assert out["json-po"] == out["xml-po"]
    assert out["json-empty"] == out["xml-empty"] == []


def test_bad_field_is_refused_before_any_request(sandbox: Sandbox) -> None:
    sandbox.reset_stats()
    with (
        Connection(sandbox_config(sandbox)) as conn,
        pytest.raises(QueryError, match="Did you mean: status"),
    ):
        list(conn.query("invoices", where="stauts=approved", strict=True))
    assert sandbox.stats()["total"] == 0


@pytest.mark.parametrize("paging", ["keyset", "offset"])
def test_records_inserted_during_the_run_do_not_shift_pages(
    writable_sandbox: Sandbox, paging: str
) -> None:
    before = ids(server_records(writable_sandbox, "invoices"))
    inserted: list[int] = []
    with (
        Connection(sandbox_config(writable_sandbox, concurrency=3)) as reader,
        Connection(sandbox_config(writable_sandbox)) as writer,
    ):
        got: list[int] = []
        for n, page in enumerate(
            reader.query_pages("invoices", paging=paging, return_object="limited")
        ):
            got.extend(r["id"] for r in page.records)
            if n in (0, 1):
                for _ in range(3):
                    inserted.append(
                        writer.request("POST", "/api/invoices", body=new_invoice_body())["id"]
                    )
    assert len(got) == len(set(got)), "a record came twice"
    assert set(before) <= set(got), "a record present from the start was missed"
    assert set(got) - set(before) <= set(inserted)


def test_membership_changes_during_the_run_skip_nothing_with_keyset(
    writable_sandbox: Sandbox,
) -> None:
    """Marking records exported while paging exported=false shrinks the result set: offset
    pages would skip records; keyset pages do not."""
    unexported = ids(server_records(writable_sandbox, "invoices", {"exported": "false"}))
    assert len(unexported) > 60
    with Connection(sandbox_config(writable_sandbox, concurrency=1)) as conn:
        got: list[int] = []
        for page in conn.query_pages("invoices", where="exported=false", return_object="limited"):
            got.extend(r["id"] for r in page.records)
            for record in page.records[:10]:  # mark some of what was just read
                conn.request(
                    "PUT",
                    f"/api/invoices/{record['id']}",
                    params={"exported": "true", "return_object": "limited"},
                )
    assert sorted(got) == unexported


@pytest.mark.parametrize("concurrency", [1, 4])
def test_tokens_revoked_mid_run_are_reminted_and_nothing_is_lost(concurrency: int) -> None:
    # A sandbox of its own: the session's has records and tokens from every other test.
    with Sandbox(seed_size=600) as own:
        _tokens_revoked_mid_run(own, concurrency)


def _api_answers(sandbox: Sandbox) -> int:
    routes = sandbox.stats()["by_route"].items()
    return sum(int(r["total"]) for route, r in routes if "/api/" in route)


def _tokens_revoked_mid_run(sandbox: Sandbox, concurrency: int) -> None:
    truth = ids(server_records(sandbox, "invoices"))
    # Every token is refused once a few pages are in: the run must mint a new one (once,
    # however many requests were refused with the old one), resend, and lose nothing. A
    # revocation rather than a short token lifetime, so no wall-clock race decides it.
    sandbox.set_faults(latency_ms=150, methods=["GET"])
    before = _api_answers(sandbox)
    revoked = threading.Event()

    def revoke_after_three_pages() -> None:
        while _api_answers(sandbox) < before + 3 and not stop.is_set():
            stop.wait(0.01)
        if not stop.is_set():
            sandbox.revoke_tokens()
            revoked.set()

    stop = threading.Event()
    watcher = threading.Thread(target=revoke_after_three_pages)
    watcher.start()
    try:
        with Connection(sandbox_config(sandbox, concurrency=concurrency)) as conn:
            got = [r["id"] for r in conn.query("invoices", return_object="limited")]
            auth = conn.async_connection.auth
            assert revoked.is_set()
            assert auth.mints == 2  # type: ignore[union-attr]
            assert 1 <= conn.stats.reauths <= concurrency
    finally:
        stop.set()
        watcher.join()
        sandbox.clear_faults()
    assert sorted(got) == truth and len(got) == len(set(got))


@pytest.mark.parametrize(
    "faults",
    [
        {"throttle_count": 12, "retry_after": 0},  # a 429 storm
        {"throttle_rate": 0.3, "retry_after": 0},
        {"error_rate": 0.3, "error_statuses": [500, 502, 503, 504]},
        {"drop_rate": 0.25},
        {"truncate_rate": 0.25},
    ],
    ids=["429-storm", "429-share", "5xx", "dropped", "truncated"],
)
def test_faults_never_lose_or_repeat_records(sandbox: Sandbox, faults: dict[str, Any]) -> None:
    truth = server_records(sandbox, "invoices", {"status[in]": "approved,draft,voided"})
    sandbox.set_faults(seed=3, methods=["GET"], **faults)
    with Connection(sandbox_config(sandbox, concurrency=4)) as conn:
        got = sorted(
            conn.query("invoices", where="status in approved,draft,voided"), key=lambda r: r["id"]
        )
        assert conn.stats.retries > 0
    sandbox.clear_faults()
    assert got == sorted(truth, key=lambda r: r["id"])


def test_async_api_streams_records(sandbox: Sandbox) -> None:
    async def go() -> list[int]:
        async with AsyncConnection(sandbox_config(sandbox)) as conn:
            return [r["id"] async for r in conn.query("suppliers", where="status=active")]

    expected = [r["id"] for r in server_records(sandbox, "suppliers") if r["status"] == "active"]
    assert sorted(asyncio.run(go())) == sorted(expected)


def test_sync_facade_is_usable_from_threads(sandbox: Sandbox) -> None:
    results: list[int] = []
    with Connection(sandbox_config(sandbox)) as conn:

        def work() -> None:
            results.append(len(list(conn.query("users"))))

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(results)) == 1 and results[0] == len(server_records(sandbox, "users"))
