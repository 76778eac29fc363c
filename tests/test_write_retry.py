"""One retry owner for writes: the worst case of sends is the budget, never a product of loops.

A refused connection, an unknown host and a failing TLS handshake stop a write run at once,
as a wrong secret does; a 429 storm costs one send plus ``max_throttled`` resends; errors
that may have landed cost ``max_attempts`` sends. Counted at the sandbox (what it saw) and
on the connection (what it sent).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from _write_support import run_writes, supplier, tag, write_jsonl
from coupa_connector import AsyncConnection, ConnectionConfig, RetryPolicy, WriteOptions
from coupa_connector.activities.write._results import WriteResult, WriteSummary
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update
from coupa_connector.client._retry import DECISIONS, Resolution, resolution
from coupa_connector.errors import Failure, NetworkError
from coupa_connector.sandbox import Sandbox

QUICK = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, max_throttled=7)
OPTIONS = WriteOptions(retry_delay=0.001, retry_delay_cap=0.002, max_attempts=3)


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run(conn: AsyncConnection, make: Any) -> tuple[list[WriteResult], WriteSummary, Any]:
    async def go() -> tuple[list[WriteResult], WriteSummary, Any]:
        summary = WriteSummary()
        results: list[WriteResult] = []
        error: Exception | None = None
        async with conn:
            try:
                async for result in make(conn):
                    results.append(summary.add(result))
            except NetworkError as exc:
                error = exc
        return results, summary, error

    return asyncio.run(go())


@pytest.mark.parametrize("kind", [Failure.REFUSED, Failure.DNS, Failure.TLS])
def test_failures_that_no_resend_mends_stop_the_run_in_the_table(kind: Failure) -> None:
    row = DECISIONS[kind]
    assert row.record is Resolution.FATAL
    assert resolution(NetworkError("x", kind=kind)) is Resolution.FATAL


@pytest.mark.parametrize("auth", ["api_key", "oauth"])
def test_a_refused_connection_is_sent_once_and_stops_the_run(auth: str) -> None:
    _assert_sent_once_and_stopped(f"http://127.0.0.1:{_closed_port()}", auth, "refused")


def test_a_failed_tls_handshake_is_sent_once_and_stops_the_run(sandbox: Sandbox) -> None:
    # https to the sandbox's plain-HTTP port: the handshake fails.
    port = sandbox.url.rsplit(":", 1)[1]
    _assert_sent_once_and_stopped(f"https://127.0.0.1:{port}", "api_key", "tls")


def test_an_unknown_host_is_sent_once_and_stops_the_run() -> None:
    _assert_sent_once_and_stopped("https://no-such-host.invalid", "api_key", "dns")


def _assert_sent_once_and_stopped(url: str, auth: str, kind: str) -> None:
    creds: dict[str, Any] = (
        {"api_key": "k-123"} if auth == "api_key" else {"client_id": "c", "client_secret": "s"}
    )
    conn = AsyncConnection(ConnectionConfig(url=url, rate_limit=None, retry=QUICK, **creds))
    records = [supplier(f"Stop {i}", f"SP-{i}") for i in range(5)]

    results, summary, error = _run(conn, lambda c: create(c, "suppliers", records, options=OPTIONS))

    # One connect, and no resend by the connection or by the write loop.
    assert conn.stats.requests == 1 and conn.stats.failures == {kind: 1}
    assert isinstance(error, NetworkError) and error.kind == kind
    assert summary.read == len(results) == summary.failed == 5  # every record read answered


def test_a_429_storm_costs_one_send_plus_the_throttle_budget(sandbox: Sandbox) -> None:
    t = tag()
    sandbox.set_faults(
        methods=["POST"], path="^/api/suppliers$", throttle_count=1000, retry_after=0
    )

    results, summary = run_writes(
        sandbox,
        lambda conn: create(
            conn, "suppliers", [supplier(f"Storm {t}", f"ST-{t}")], options=OPTIONS
        ),
        retry=QUICK,
    )

    assert sandbox.faults()["injected"]["throttle"] == 1 + QUICK.max_throttled
    assert summary.failed == 1 and results[0].attempts == 1 + QUICK.max_throttled
    assert results[0].status == 429 and "gave up after 8 sends" in results[0].messages[0]


def test_a_429_storm_on_updates_costs_the_same(sandbox: Sandbox) -> None:
    t = tag()
    run_writes(sandbox, lambda conn: create(conn, "suppliers", [supplier(f"U {t}", f"US-{t}")]))
    sandbox.set_faults(methods=["PUT"], throttle_count=1000, retry_after=0)

    results, summary = run_writes(
        sandbox,
        lambda conn: update(
            conn,
            "suppliers",
            [{"number": f"US-{t}", "website": "https://u.example.com"}],
            options=OPTIONS,
        ),
        retry=QUICK,
    )

    assert sandbox.faults()["injected"]["throttle"] == 1 + QUICK.max_throttled
    assert summary.failed == 1 and results[0].attempts == 1 + QUICK.max_throttled


def test_errors_that_may_have_landed_cost_max_attempts_sends(sandbox: Sandbox) -> None:
    t = tag()
    sandbox.set_faults(
        methods=["POST"], path="^/api/suppliers$", error_count=1000, error_statuses=[502]
    )

    results, summary = run_writes(
        sandbox,
        lambda conn: create(conn, "suppliers", [supplier(f"Err {t}", f"ER-{t}")], options=OPTIONS),
        retry=QUICK,
    )

    # Each 502 is looked up (not found), then sent again, until the attempts are spent.
    assert sandbox.faults()["injected"]["error"] == OPTIONS.max_attempts
    assert summary.failed == 1 and results[0].attempts == OPTIONS.max_attempts


def test_a_create_against_a_closed_port_ends_within_seconds_with_the_reason(
    tmp_path: Path,
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [supplier("Closed", "CL-1")])
    env = {
        "PATH": "/usr/bin:/bin",
        "COUPA_URL": f"http://127.0.0.1:{_closed_port()}",
        "COUPA_CLIENT_ID": "c",
        "COUPA_CLIENT_SECRET": "s",
        "COUPA_PROFILE": "",
        "PYTHONPATH": ":".join(sys.path),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", "create", "suppliers", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started

    assert done.returncode == 1
    assert "refused the connection" in done.stderr and "stopped" in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 20, f"took {took:.1f} s"
