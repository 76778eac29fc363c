"""``coupa sandbox`` as a person runs it: a foreground process that prints credentials, serves,
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from _sandbox_tiny import loopback
from coupa_connector.cli._main import cli
from coupa_connector.cli._sandbox_cmd import _parse_client, _parse_faults


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "coupa_connector", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    env: dict[str, str] = {}
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while "COUPA_SANDBOX_ADMIN_SECRET" not in env and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            env[name] = value.strip("'")
    return process, env


def test_cli_prints_credentials_serves_and_stops_on_ctrl_c() -> None:
    process, env = _start("--seed", "7", "--client", "ap:ap-secret:core.invoice.read")
    try:
        assert env["COUPA_URL"].startswith("http://127.0.0.1:")
        assert env["COUPA_CLIENT_ID"] == "sandbox"
        from coupa_connector.sandbox import default_client_secret

        assert env["COUPA_CLIENT_SECRET"] == default_client_secret(7)
        assert "core.invoice.read" in env["COUPA_SCOPES"].split()
        for client_id, secret in (("sandbox", env["COUPA_CLIENT_SECRET"]), ("ap", "ap-secret")):
            r = loopback().post(
                f"{env['COUPA_URL']}/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert r.status_code == 200
        headers = {
            "Authorization": f"Bearer {r.json()['access_token']}",
            "Accept": "application/json",
        }
        page = loopback().get(
            f"{env['COUPA_URL']}/api/invoices", params={"limit": 2}, headers=headers
        )
        assert page.status_code == 200 and len(page.json()) == 2
        # The throttle is on by default for the command.
        limits = loopback().get(
            f"{env['COUPA_URL']}/__sandbox__/rate-limit",
            headers={"X-Sandbox-Admin": env["COUPA_SANDBOX_ADMIN_SECRET"]},
        )
        assert limits.json() == {"enabled": True, "rate": 25.0, "burst": 20}
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    # The secret is printed once, as the export line; it never reaches the log.
    assert env["COUPA_CLIENT_SECRET"] not in err


def test_cli_with_faults_and_api_key_mode() -> None:
    process, env = _start(
        "--no-rate-limit",
        "--api-key-mode",
        "--fault",
        "error_count=1",
        "--fault",
        "error_statuses=503",
    )
    try:
        assert len(env["COUPA_API_KEY"]) == 40
        headers = {"X-COUPA-API-KEY": env["COUPA_API_KEY"], "Accept": "application/json"}
        url = f"{env['COUPA_URL']}/api/currencies"
        assert loopback().get(url, headers=headers).status_code == 503
        assert loopback().get(url, headers=headers).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "error_rate=3"], "error_rate"),
        (["--fault", "nonsense"], "SETTING=VALUE"),
        (["--client", "only-an-id"], "ID:SECRET"),
        (["--seed-size", "-1"], "seed-size"),
    ],
)
def test_cli_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_reports_a_busy_port() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["sandbox", "--port", str(port)])
    assert result.exit_code == 2  # nothing done: docs/cli.md, exit codes
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output


def test_fault_and_client_option_parsing() -> None:
    assert _parse_faults(("error_rate=0.5", "methods=GET,post", "error_statuses=502,503")) == {
        "error_rate": 0.5,
        "methods": ["GET", "post"],
        "error_statuses": [502, 503],
    }
    assert _parse_faults(("path=^/api/invoices", "seed=3")) == {"path": "^/api/invoices", "seed": 3}
    assert _parse_client("a:b:core.invoice.read,core.common.read") == {
        "client_id": "a",
        "client_secret": "b",
        "scopes": ["core.invoice.read", "core.common.read"],
    }
    assert _parse_client("a:b:c:d")["client_secret"] == "b"
