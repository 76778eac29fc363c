"""``coupa query`` while another writer changes the result set, against the sandbox.

A writer thread marks records exported (they leave an ``exported=false`` query) and inserts
new ones while the CLI pages through the query. The rule: every record that matched for the
whole run comes out exactly once, or the run fails loudly; exit 0 with a record missing is
the one outcome that may never happen. Newest first (``--dir desc``) pages by key and always
completes; an order by another field pages by offset, which re-aligns small shifts and
stops with a clear error on larger ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _client_sandbox import new_invoice_body, sandbox_config, server_records
from _sandbox_api_support import Api
from _write_support import env_for
from coupa_connector import Connection
from coupa_connector.cli._main import cli
from coupa_connector.errors import PagingError
from coupa_connector.sandbox import Sandbox

SEED_SIZE = 1500  # some 850 unexported invoices: 17 pages or more


@pytest.fixture(scope="module")
def busy_server() -> Iterator[Sandbox]:
    with Sandbox(seed_size=SEED_SIZE) as server:
        yield server


@pytest.fixture
def busy(busy_server: Sandbox) -> Sandbox:
    busy_server.reset(seed_size=SEED_SIZE)
    busy_server.clear_faults()
    return busy_server


@dataclass
class Writer:
    """Marks records exported, in the reader's order (so most are behind it, which shifts
    every later offset), and inserts an unexported invoice after every fifth mark."""

    sandbox: Sandbox
    order: list[int]
    touched: set[int] = field(default_factory=set)
    inserted: set[int] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        api = Api(self.sandbox)
        try:
            self._wait_for_the_reader()
            for n, record_id in enumerate(self.order[::2]):
                if self.stop.is_set():
                    return
                answer = api.put(
                    f"/api/invoices/{record_id}",
                    params={"exported": "true", "return_object": "limited"},
                )
                assert answer.status_code == 200, answer.text
                self.touched.add(record_id)
                if n % 5 == 4:
                    created = api.post("/api/invoices", new_invoice_body())
                    assert created.status_code == 201, created.text
                    self.inserted.add(created.json()["id"])
                time.sleep(0.003)
        except BaseException as exc:  # handed to the test, which re-raises it
            self.error = exc
        finally:
            api.close()

    def _wait_for_the_reader(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self.stop.is_set():
            routes = self.sandbox.stats()["by_route"]
            reads = sum(v["total"] for k, v in routes.items() if k.startswith("GET /api/invoices"))
            if reads >= 1:
                return
            time.sleep(0.005)


def query_while_writing(sandbox: Sandbox, order: list[int], *args: str) -> tuple[Any, Writer]:
    """Run ``coupa query`` with ``args`` while a ``Writer`` works through ``order``."""
    # Slower pages, so the writer lands many changes between them.
    sandbox.set_faults(latency_ms=25, methods=["GET"], path="^/api/invoices$")
    sandbox.reset_stats()
    writer = Writer(sandbox, order)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        result = CliRunner().invoke(cli, ["query", "invoices", *args], env=env_for(sandbox))
    finally:
        writer.stop.set()
        thread.join(30)
    if writer.error is not None:
        raise writer.error
    return result, writer


def unexported(sandbox: Sandbox, by_date: bool = False) -> list[int]:
    """The unexported invoices' ids, by id or as the sandbox orders by invoice date (nulls
    first, ties by id)."""
    records = server_records(sandbox, "invoices", {"exported": "false"})
    if by_date:
        records.sort(
            key=lambda r: (r["invoice-date"] is not None, r["invoice-date"] or "", r["id"])
        )
    return [r["id"] for r in records]


def read_ids(path: Path) -> list[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_newest_first_while_another_process_writes_delivers_every_record_once(
    busy: Sandbox, tmp_path: Path
) -> None:
    truth = sorted(unexported(busy), reverse=True)
    out = tmp_path / "out.jsonl"
    result, writer = query_while_writing(
        busy, truth, "--where", "exported=false", "--dir", "desc", "--concurrency", "2",
        "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert writer.touched, "the writer changed nothing while the query ran"
    got = read_ids(out)
    assert len(got) == len(set(got)), "a record came twice"
    missing = set(truth) - writer.touched - set(got)
    assert not missing, f"{len(missing)} records that matched throughout were skipped"
    assert set(got) <= set(truth) | writer.inserted
    assert got == sorted(got, reverse=True), "newest first was asked for"


def test_an_order_by_another_field_completes_exactly_or_fails_loudly(
    busy: Sandbox, tmp_path: Path
) -> None:
    truth = unexported(busy, by_date=True)
    out = tmp_path / "out.jsonl"
    result, writer = query_while_writing(
        busy, truth, "--where", "exported=false", "--order-by", "invoice-date",
        "--concurrency", "2", "-o", str(out),
    )  # fmt: skip
    assert writer.touched, "the writer changed nothing while the query ran"
    if result.exit_code == 0:
        got = read_ids(out)
        assert len(got) == len(set(got)), "a record came twice"
        missing = set(truth) - writer.touched - set(got)
        assert not missing, (
            f"exit 0, yet {len(missing)} records that matched throughout are missing"
        )
    else:
        assert result.exit_code == 1, result.output
        assert "The result set changed while paging by offset" in result.output
        assert "Usage:" not in result.output
        assert not out.exists(), "a run that stopped leaves no output file"


@pytest.mark.parametrize(("marks", "completes"), [(3, True), (12, False)])
def test_offset_pages_realign_on_small_shifts_and_stop_on_large_ones(
    busy: Sandbox, marks: int, completes: bool
) -> None:
    """Deterministic: after each page, mark ``marks`` of the records just read, so every
    later record moves up by that many before the next page is fetched."""
    truth = unexported(busy, by_date=True)
    got: list[int] = []
    with Connection(sandbox_config(busy, concurrency=1)) as conn:

        def read() -> None:
            pages = conn.query_pages(
                "invoices", where="exported=false", order_by="invoice-date", fields=["id"]
            )
            for page in pages:
                got.extend(r["id"] for r in page.records)
                for record in page.records[:marks]:
                    conn.request(
                        "PUT",
                        f"/api/invoices/{record['id']}",
                        params={"exported": "true", "return_object": "limited"},
                    )

        if completes:
            read()
            assert got == truth
        else:
            with pytest.raises(PagingError, match="holds none of the last 5 records"):
                read()
            assert got == truth[: len(got)] and len(got) < len(truth)
