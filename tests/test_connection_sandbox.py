"""The connection's Test against the sandbox: the table for good, bad and partial credentials."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest
from click.testing import CliRunner

from _client_sandbox import sandbox_config
from coupa_connector import Connection
from coupa_connector.cli import cli
from coupa_connector.client import ConnectionConfig
from coupa_connector.sandbox import Sandbox


def rows(report: Any) -> dict[str, Any]:
    return {c.check: c for c in report.checks}


def test_all_is_well_with_the_default_client(sandbox: Sandbox) -> None:
    cfg = sandbox_config(
        sandbox, scopes=("core.invoice.read", "core.supplier.read", "core.user.read")
    )
    with Connection(cfg) as conn:
        report = conn.test()
    assert report.ok, report.to_dict()
    assert [c.check for c in report.checks] == ["host", "token", "invoices", "suppliers", "users"]
    assert rows(report)["suppliers"].scope == "core.supplier.read"


def test_client_missing_a_scope_gets_a_403_row(sandbox: Sandbox) -> None:
    sandbox.add_client("invoices-only", "invoices-only-secret-1", ["core.invoice.read"])
    cfg = sandbox_config(
        sandbox,
        client_id="invoices-only",
        client_secret="invoices-only-secret-1",
        scopes=("core.invoice.read", "core.supplier.read"),
    )
    with Connection(cfg) as conn:
        report = conn.test()
    table = rows(report)
    assert not report.ok
    assert table["token"].ok and table["invoices"].ok
    assert not table["suppliers"].ok and table["suppliers"].status == 403
    assert table["suppliers"].detail == "missing scope core.supplier.read (403)"


def test_bad_secret(sandbox: Sandbox) -> None:
    with Connection(sandbox_config(sandbox, client_secret="not-the-secret")) as conn:
        report = conn.test()
    assert [c.check for c in report.checks] == ["host", "token"]
    assert rows(report)["host"].ok and not rows(report)["token"].ok
    assert "bad client id or secret" in rows(report)["token"].detail


def test_unreachable_host() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    cfg = ConnectionConfig(f"http://127.0.0.1:{port}", client_id="a", client_secret="b-secret")  # type: ignore[arg-type]
    with Connection(cfg) as conn:
        report = conn.test()
    assert not report.ok and "unreachable" in rows(report)["host"].detail


def test_tls_failure_is_named(sandbox: Sandbox) -> None:
    https_url = sandbox.url.replace("http://", "https://")
    with Connection(sandbox_config(sandbox, url=https_url)) as conn:
        report = conn.test()
    assert not report.ok and "TLS" in rows(report)["host"].detail


def test_api_key_mode(sandbox: Sandbox) -> None:
    sandbox.set_api_key_mode(True)
    cfg = ConnectionConfig(sandbox.url, api_key=sandbox.api_key)  # type: ignore[arg-type]
    with Connection(cfg) as conn:
        report = conn.test(["invoices"])
    assert report.ok and [c.check for c in report.checks] == ["host", "invoices"]


def env_for(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {
        "COUPA_URL": sandbox.url,
        "COUPA_CLIENT_ID": sandbox.client_id,
        "COUPA_CLIENT_SECRET": sandbox.client_secret,
        "COUPA_SCOPES": "core.invoice.read core.supplier.read",
        "COUPA_RATE_LIMIT": "off",
        "COUPA_PROFILE": "",
        **extra,
    }


def test_cli_table_and_exit_codes(sandbox: Sandbox) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["connection", "test"], env=env_for(sandbox))
    assert result.exit_code == 0, result.output
    assert "invoices" in result.output and "All checks passed" in result.output
    assert sandbox.client_secret not in result.output

    sandbox.add_client("invoices-only", "invoices-only-secret-1", ["core.invoice.read"])
    env = env_for(
        sandbox, COUPA_CLIENT_ID="invoices-only", COUPA_CLIENT_SECRET="invoices-only-secret-1"
    )
    result = runner.invoke(cli, ["connection", "test", "--format", "json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.output)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["suppliers"] and "403" in failed[0]["detail"]


def test_cli_refuses_incomplete_settings() -> None:
    result = CliRunner().invoke(
        cli, ["connection", "test"], env={"COUPA_URL": "", "COUPA_PROFILE": ""}
    )
    assert result.exit_code == 2 and "COUPA_URL" in result.output


def test_secrets_absent_from_debug_logs(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    sandbox.set_token_ttl(1)
    sandbox.set_faults(throttle_count=2, retry_after=0, methods=["GET"])
    with (
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="coupa_connector"),
        Connection(sandbox_config(sandbox)) as conn,
    ):
        list(conn.query("suppliers"))
        conn.test(["invoices"])
        token = conn.async_connection.auth.token  # type: ignore[union-attr]
        assert token is not None
        token_value = token.value.get_secret_value()
    sandbox.set_token_ttl(86399)
    text = caplog.text
    assert "GET /api/suppliers" in text and "429" in text
    assert sandbox.client_secret not in text and token_value not in text


def test_debug_log_carries_capped_bodies_without_secrets(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="coupa_connector"),
        Connection(sandbox_config(sandbox)) as conn,
    ):
        first = next(iter(conn.query("suppliers", limit=1)))
    bodies = [r.getMessage() for r in caplog.records if "response body:" in r.getMessage()]
    assert bodies and any(str(first["name"]) in b for b in bodies)
    assert all(len(b) < 2300 for b in bodies)  # capped near 2,000 characters
    assert sandbox.client_secret not in caplog.text


def test_with_no_scopes_configured_the_granted_scopes_choose_the_objects(
    sandbox: Sandbox,
) -> None:
    # A client granted only invoices must not fail rows for objects it was never meant to read.
    sandbox.add_client("invoices-only", "invoices-only-secret-1", ["core.invoice.read"])
    cfg = sandbox_config(
        sandbox, client_id="invoices-only", client_secret="invoices-only-secret-1", scopes=()
    )
    with Connection(cfg) as conn:
        report = conn.test()
    assert report.ok, report.to_dict()
    assert [c.check for c in report.checks] == ["host", "token", "invoices"]


def test_a_nested_object_gets_a_clear_row_not_a_placeholder_request(sandbox: Sandbox) -> None:
    with Connection(sandbox_config(sandbox)) as conn:
        report = conn.test(["remit_to_addresses"])
    row = rows(report)["remit_to_addresses"]
    assert not row.ok and "nested under another record" in row.detail
