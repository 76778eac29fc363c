"""The Coupa monitor against the sandbox: one integration run per run of ours, errors and
history records, the watermark kept in Coupa, and monitoring failures that stop nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

import pytest

from _operations_support import config_for
from coupa_connector import AsyncConnection
from coupa_connector.activities.monitoring import CoupaMonitor, monitor_settings
from coupa_connector.client import RetryPolicy
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox import Sandbox


def _code() -> str:
    return f"MON-{uuid.uuid4().hex[:8]}"


async def _get(sandbox: Sandbox, path: str, **params: Any) -> Any:
    async with AsyncConnection(config_for(sandbox)) as conn:
        return await conn.request("GET", path, params=params or None)


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_a_monitored_run_in_coupa(sandbox: Sandbox, wire: str) -> None:
    code = _code()
    settings = monitor_settings({"integration": code, "history": "all", "name": f"ERP {code}"})

    async def go() -> CoupaMonitor:
        config = dataclasses.replace(config_for(sandbox), wire_format=wire)
        async with AsyncConnection(config) as conn:
            monitor = CoupaMonitor(conn, settings, document_type="Supplier")
            await monitor.start()
            await monitor.progress(2)
            await monitor.written(41, "id:41")
            await monitor.rejected("row:3", "Name can't be blank")
            await monitor.rejected("row:4", "HTTP 500", failed=True)
            await monitor.save_watermark("2026-05-06T07:08:09+00:00")
            await monitor.finish(True, processed=4, total=4)
            assert await monitor.last_watermark() == "2026-05-06T07:08:09+00:00"
            return monitor

    monitor = asyncio.run(go())
    assert monitor.failures == 0 and monitor.run_id is not None
    [integration] = asyncio.run(_get(sandbox, "/api/integrations", code=code))
    assert integration["name"] == f"ERP {code}" and integration["direction"] == "from_coupa"
    run = asyncio.run(_get(sandbox, f"/api/integration_runs/{monitor.run_id}"))
    assert run["status"] == "successful"
    assert (run["total-records"], run["records-processed"]) == (4, 4)
    errors = asyncio.run(
        _get(sandbox, "/api/integration_errors", **{"integration-run[id]": monitor.run_id})
    )
    assert sorted((e["external-id"], e["contact-alert-type"]) for e in errors) == [
        ("row:3", "Functional"),
        ("row:4", "Technical"),
    ]
    assert {e["responses"][0]["response-message"] for e in errors} == {
        "Name can't be blank",
        "HTTP 500",
    }
    history = asyncio.run(
        _get(sandbox, "/api/integration_history_records", **{"integration[code]": code})
    )
    assert [(h["document-id"], h["document-type"], h["status"]) for h in history] == [
        (41, "Supplier", "Success")
    ]


def test_the_integration_is_found_again_by_code(sandbox: Sandbox) -> None:
    code = _code()

    async def two_runs() -> list[int | None]:
        async with AsyncConnection(config_for(sandbox)) as conn:
            ids = []
            for ok in (True, False):
                monitor = CoupaMonitor(conn, monitor_settings(code))
                await monitor.start()
                await monitor.finish(ok, processed=0, total=0)
                ids.append(monitor.integration_id)
            return ids

    first, second = asyncio.run(two_runs())
    assert first is not None and first == second
    runs = asyncio.run(_get(sandbox, "/api/integration_runs", **{"integration[code]": code}))
    assert sorted(r["status"] for r in runs) == ["failed", "successful"]


def test_a_failed_run_keeps_no_watermark_for_the_next(sandbox: Sandbox) -> None:
    code = _code()

    async def go() -> str | None:
        async with AsyncConnection(config_for(sandbox)) as conn:
            ok = CoupaMonitor(conn, monitor_settings(code))
            await ok.start()
            await ok.save_watermark("2026-01-01T00:00:00+00:00")
            await ok.finish(True, processed=0, total=0)
            bad = CoupaMonitor(conn, monitor_settings(code))
            await bad.start()
            await bad.save_watermark("2026-02-01T00:00:00+00:00")
            await bad.finish(False, processed=0, total=0)
            return await CoupaMonitor(conn, monitor_settings(code)).last_watermark()

    assert asyncio.run(go()) == "2026-01-01T00:00:00+00:00"


def test_monitoring_500s_are_counted_and_stop_nothing(sandbox: Sandbox) -> None:
    sandbox.set_faults(error_rate=1.0, error_statuses=[500], path="^/api/integration")
    config = dataclasses.replace(
        config_for(sandbox), max_retries=1, retry=RetryPolicy(backoff_base=0.01)
    )

    async def go() -> tuple[CoupaMonitor, list[Any]]:
        async with AsyncConnection(config) as conn:
            monitor = CoupaMonitor(conn, monitor_settings(_code()))
            await monitor.start()
            await monitor.progress(1)
            await monitor.rejected("row:1", "bad")
            await monitor.finish(True, processed=1, total=1)
            # The data side still works through the same connection.
            data = await conn.request("GET", "/api/suppliers", params={"limit": 1})
            return monitor, data

    monitor, data = asyncio.run(go())
    assert len(data) == 1
    # One call failed; the monitor stood down and counted the three it did not send.
    assert monitor.calls == 1 and monitor.failures == 4
    assert monitor.first_failure is not None and "500" in monitor.first_failure
    assert monitor.run_id is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "integration"),
        ({"integration": "X", "history": "some"}, "history"),
        ({"integration": "X", "direction": "sideways"}, "direction"),
        ({"integration": "X", "colour": "red"}, "colour"),
        (["X"], "mapping"),
    ],
)
def test_settings_are_checked(value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        monitor_settings(value)


def test_coupa_runs_lists_runs_and_their_errors(sandbox: Sandbox) -> None:
    from click.testing import CliRunner

    from _write_support import env_for
    from coupa_connector.cli import cli

    code = _code()

    async def two_runs() -> None:
        async with AsyncConnection(config_for(sandbox)) as conn:
            for ok in (True, False):
                monitor = CoupaMonitor(conn, monitor_settings(code))
                await monitor.start()
                if not ok:
                    await monitor.rejected("row:9", "Supplier number is taken")
                await monitor.finish(ok, processed=3, total=3)

    asyncio.run(two_runs())
    env = env_for(sandbox)
    shown = CliRunner().invoke(cli, ["runs", code, "--errors", "--format", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    listed = json.loads(shown.stdout)
    assert [r["status"] for r in listed] == ["failed", "successful"]
    assert [e["external-id"] for e in listed[0]["errors"]] == ["row:9"]
    assert listed[1]["errors"] == []
    table = CliRunner().invoke(cli, ["runs", code, "-e"], env=env)
    assert table.exit_code == 0, table.output
    assert f"run {listed[0]['id']}: 1 integration error(s)" in table.stdout
    assert "  row:9: Supplier number is taken" in table.stdout
    nothing = CliRunner().invoke(cli, ["runs", "NO-SUCH-INTEGRATION"], env=env)
    assert nothing.exit_code == 0 and "No runs of NO-SUCH-INTEGRATION" in nothing.stdout
