"""``coupa query --mark-exported`` without the right to mark: refused before the query when
the granted scopes say so; a refusal mid-run stops marking, with the count and the ids."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from _cli_process import COUPA, cli_env, coupa, no_traceback
from _write_support import tag
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")  # records are marked


def _token_answers(sb: Sandbox) -> int:
    routes = sb.stats()["by_route"].items()
    return sum(int(r["total"]) for route, r in routes if "/oauth2/token" in route)


def test_a_read_only_client_is_refused_before_the_query(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    sandbox.add_client(f"ro-{t}", f"ro-secret-{t}", ["core.invoice.read"])
    env = cli_env(
        sandbox,
        COUPA_CLIENT_ID=f"ro-{t}",
        COUPA_CLIENT_SECRET=f"ro-secret-{t}",
        COUPA_SCOPES="core.invoice.read",
    )
    out = tmp_path / "export.jsonl"
    proc = coupa(
        ["--log-level", "DEBUG", "query", "invoices", "--mark-exported", "-o", str(out)], env=env
    )
    no_traceback(proc)
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "needs the scope core.invoice.write" in message
    assert "granted core.invoice.read" in message
    assert not out.exists()
    assert "/oauth2/token" in proc.stderr and "/api/" not in proc.stderr  # only the token


def test_a_refusal_mid_run_stops_marking_with_count_and_ids(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The client loses its write scope once its first token is minted: the query's one page
    # takes 2.5 s, longer than that token lives (2 s here), so the marks that follow need a
    # new token, and it is read-only: the first mark gets a 403. (Counts are taken when an
    # answer is sent, so waiting for the page's answer instead would race the marks.)
    t = tag()
    client, secret = f"rw-{t}", f"rw-secret-{t}"
    sandbox.add_client(client, secret, ["core.invoice.read", "core.invoice.write"])
    sandbox.admin("PUT", "config", {"token_ttl": 2})
    sandbox.set_faults(latency_ms=2500, methods=["GET"])
    env = cli_env(sandbox, COUPA_CLIENT_ID=client, COUPA_CLIENT_SECRET=secret, COUPA_SCOPES="")
    out = tmp_path / "export.jsonl"
    before = _token_answers(sandbox)
    # The session's sandbox counts every test's answers: only this run's 403s matter.
    refused_before = sandbox.stats()["by_status"].get("403", 0)
    proc = subprocess.Popen(
        [*COUPA, "query", "invoices", "--where", "exported=false", "--limit", "30",
         "--mark-exported", "-o", str(out), "--concurrency", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _token_answers(sandbox) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        # Replaced in one call: a token request never finds the client missing.
        sandbox.add_client(client, secret, ["core.invoice.read"])
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    no_traceback(done)
    assert done.returncode == 1, stderr
    written = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert len(written) == 30
    assert "30 of 30 invoices records written were not marked exported:" in stderr
    assert "  1 x " in stderr and "  29 x not sent: marking stopped at" in stderr
    assert "403" in stderr and "could not mark" not in stderr
    ids_file = Path(f"{out}.unmarked-ids.txt")
    assert f"their ids: {ids_file}" in stderr
    assert sorted(int(x) for x in ids_file.read_text().split()) == sorted(written)
    refused = sandbox.stats()["by_status"].get("403", 0) - refused_before
    assert refused == 1  # one mark was sent, and refused; no other was tried
    sandbox.clear_faults()

    # The ids file feeds the action that marks them once the access is right.
    again = coupa(
        ["action", "invoices", "mark_exported", "--ids-file", str(ids_file), "--summary", "json"],
        sandbox,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["actioned"] == 30
