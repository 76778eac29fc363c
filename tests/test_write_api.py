"""The write methods of ``Connection`` and ``AsyncConnection``, on both wire formats."""

from __future__ import annotations

import asyncio
import logging

import pytest

from _write_support import call, config_for, find, invoice, invoice_refs, supplier, tag
from coupa_connector import AsyncConnection, Connection, WriteOutcome, WriteResult, WriteSummary
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox import Sandbox


def test_sync_connection_create_update_upsert_action(sandbox: Sandbox) -> None:
    t = tag()
    refs = invoice_refs(sandbox)
    with Connection(config_for(sandbox)) as conn:
        created = list(
            conn.create("suppliers", (supplier(f"Sync {t} {i}", f"SY-{t}-{i}") for i in range(4)))
        )
        assert sorted(r.position for r in created) == [1, 2, 3, 4]
        assert all(
            isinstance(r, WriteResult) and r.outcome is WriteOutcome.CREATED for r in created
        )

        updated = list(
            conn.update(
                "suppliers",
                [{"number": f"SY-{t}-0", "display-name": "sync"}],
                key="number",
            )
        )
        assert updated[0].outcome is WriteOutcome.UPDATED

        summary = WriteSummary()
        for result in conn.upsert(
            "suppliers",
            [
                {"number": f"SY-{t}-1", "website": "https://s.example.com"},
                supplier(f"Sync {t} new", f"SY-{t}-new"),
            ],
            key="number",
        ):
            summary.add(result)
        assert (summary.updated, summary.created) == (1, 1)

        (inv,) = conn.create("invoices", [invoice(refs, f"INV-SY-{t}")])
        acted = list(conn.action("invoices", "submit", [inv.id]))
        assert acted[0].outcome is WriteOutcome.ACTIONED

    assert call(sandbox, "GET", f"/api/invoices/{inv.id}")["status"] == "pending_approval"
    assert find(sandbox, "suppliers", number=f"SY-{t}-0")[0]["display-name"] == "sync"


def test_sync_bad_arguments_raise_at_the_call(sandbox: Sandbox) -> None:
    with Connection(config_for(sandbox)) as conn:
        with pytest.raises(ConfigurationError):
            conn.upsert("suppliers", [], key="id")
        # Stopping early closes the run cleanly; the connection stays usable.
        results = conn.create("departments", ({"name": f"Early {tag()} {i}"} for i in range(50)))
        first = next(results)
        results.close()
        assert first.outcome is WriteOutcome.CREATED
        assert conn.request("GET", "/api/departments", params={"limit": 1})


@pytest.mark.parametrize("wire", ["xml", "json"])
def test_async_connection_writes_on_either_wire_format(sandbox: Sandbox, wire: str) -> None:
    t = tag()
    refs = invoice_refs(sandbox)

    async def go() -> list[WriteResult]:
        out: list[WriteResult] = []
        config = config_for(sandbox, wire_format=wire)
        async with AsyncConnection(config) as conn:
            async for r in conn.create("invoices", [invoice(refs, f"INV-{wire}-{t}", 2)]):
                out.append(r)
            change = {
                "invoice-number": f"INV-{wire}-{t}",
                "supplier": refs["supplier"],
                "supplier-note": f"via {wire}",
            }
            async for r in conn.update("invoices", [change], key="invoice-number,supplier"):
                out.append(r)
            async for r in conn.action("invoices", "mark_exported", [out[0].id]):
                out.append(r)
        return out

    results = asyncio.run(go())
    assert [r.outcome for r in results] == [
        WriteOutcome.CREATED,
        WriteOutcome.UPDATED,
        WriteOutcome.ACTIONED,
    ], [r.messages for r in results]
    stored = call(sandbox, "GET", f"/api/invoices/{results[0].id}")
    assert stored["supplier-note"] == f"via {wire}"
    assert stored["exported"] is True
    assert len(stored["invoice-lines"]) == 2


def test_sync_break_finishes_the_creates_in_flight_and_logs_them(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    t = tag()
    records = [supplier(f"Brk {t} {i:03d}", f"BRK-{t}-{i:03d}") for i in range(200)]
    sandbox.set_faults(methods=["POST"], path="^/api/suppliers$", latency_ms=30)
    with (
        caplog.at_level(logging.WARNING, logger="coupa_connector.writes"),
        Connection(config_for(sandbox, concurrency=6)) as conn,
    ):
        for first in conn.create("suppliers", records):  # noqa: B007
            break
    sandbox.clear_faults()
    stored = {s["id"] for s in find(sandbox, "suppliers", **{"number[starts_with]": f"BRK-{t}-"})}
    late = [
        r.getMessage() for r in caplog.records if "after the results were closed" in r.getMessage()
    ]
    # Every record Coupa holds was either returned or logged with its id.
    reported = {first.id} | {int(m.rsplit("Coupa id ", 1)[1].rstrip(")")) for m in late}
    assert first.outcome is WriteOutcome.CREATED and len(stored) < 200
    assert stored == reported
