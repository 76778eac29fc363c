"""The write commands' shape: summaries, files, exit codes, XML both ways, fatal errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from _write_support import env_for, find, invoke_cli, json_summary, supplier, tag, write_jsonl
from coupa_connector.cli._main import cli
from coupa_connector.sandbox import Sandbox


def test_summary_table_and_exit_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = write_jsonl(
        tmp_path / "in.jsonl", [supplier(f"Tbl {t}", f"TB-{t}"), {"number": "no name"}]
    )
    partial = invoke_cli(sandbox, ["create", "suppliers", str(path)])
    assert partial.exit_code == 1
    for word in ("read", "created", "rejected"):
        assert word in partial.output
    path = write_jsonl(tmp_path / "in2.jsonl", [supplier(f"Tbl2 {t}", f"TB2-{t}"), {"number": "x"}])
    allowed = invoke_cli(sandbox, ["create", "suppliers", str(path), "--allow-partial"])
    assert allowed.exit_code == 0, allowed.output


def test_xml_input_xml_wire_and_xml_rejects(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = tmp_path / "suppliers.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<suppliers type="array">'
        f"<supplier><name>Xml {t}</name><number>XM-{t}</number><status>active</status>"
        "</supplier>"
        f"<supplier><name>Xml bad {t}</name><number>XB-{t}</number>"
        "<po-method>pigeon</po-method></supplier>"
        "</suppliers>\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.xml"
    results = tmp_path / "results.json"
    outcome = invoke_cli(
        sandbox,
        [
            "create",
            "suppliers",
            str(path),
            "--format",
            "xml",
            "--rejects",
            str(rejects),
            "--results",
            str(results),
        ],
    )
    assert outcome.exit_code == 1
    rows = json.loads(results.read_text())
    assert [r["outcome"] for r in rows] == ["created", "rejected"]
    assert find(sandbox, "suppliers", number=f"XM-{t}")[0]["name"] == f"Xml {t}"
    text = rejects.read_text()
    assert "<suppliers" in text and "<supplier>" in text and "<_errors>" in text
    assert "pigeon" in text

    fixed = tmp_path / "fixed.xml"
    fixed.write_text(text.replace("pigeon", "email"), encoding="utf-8")
    again = invoke_cli(sandbox, ["create", "suppliers", str(fixed)])
    assert again.exit_code == 0, again.output
    assert find(sandbox, "suppliers", number=f"XB-{t}")[0]["po-method"] == "email"


def test_missing_scope_stops_the_run_and_accounts_for_every_read_record(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    sandbox.add_client(f"reader-{t}", f"secret-{t}-value", ["core.supplier.read"])
    env = {
        **env_for(sandbox),
        "COUPA_CLIENT_ID": f"reader-{t}",
        "COUPA_CLIENT_SECRET": f"secret-{t}-value",
        "COUPA_SCOPES": "core.supplier.read",
    }
    path = write_jsonl(
        tmp_path / "in.jsonl", [supplier(f"Nope {t} {i}", f"NP-{t}-{i}") for i in range(300)]
    )
    results = tmp_path / "results.jsonl"

    outcome = CliRunner().invoke(
        cli,
        [
            "--log-level",
            "DEBUG",
            "create",
            "suppliers",
            str(path),
            "--results",
            str(results),
            "--summary",
            "json",
        ],
        env=env,
    )

    assert outcome.exit_code == 1
    summary = json_summary(outcome)
    assert "403" in summary["error"] or "scope" in summary["error"]
    rows = [json.loads(x) for x in results.read_text().splitlines()]
    assert len(rows) == summary["read"] == summary["failed"] < 300  # stopped early
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    assert find(sandbox, "suppliers", **{"number[starts_with]": f"NP-{t}-"}) == []
    for text in (outcome.output, results.read_text()):
        assert f"secret-{t}-value" not in text


def test_bad_key_and_bad_options_are_usage_errors(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [{"number": "x"}])
    bad_key = invoke_cli(sandbox, ["update", "suppliers", str(path), "--key", "numbr"])
    assert bad_key.exit_code == 2 and "number" in bad_key.output
    stdin = invoke_cli(sandbox, ["create", "suppliers", "-"])
    assert stdin.exit_code == 2 and "--input-format" in stdin.output
    no_env = CliRunner().invoke(
        cli, ["create", "suppliers", str(path)], env={"COUPA_URL": "", "COUPA_PROFILE": ""}
    )
    assert no_env.exit_code == 2 and "COUPA_URL" in no_env.output
    bad_param = invoke_cli(
        sandbox, ["action", "approvals", "reject", "--id", "1", "--param", "reason"]
    )
    assert bad_param.exit_code == 2 and "NAME=VALUE" in bad_param.output


def test_results_csv_in_input_order(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    records = [supplier(f"Ord {t} {i:03d}", f"OR-{t}-{i:03d}") for i in range(40)]
    records[5] = {"number": "bad"}
    path = write_jsonl(tmp_path / "in.jsonl", records)
    results = tmp_path / "results.csv"
    outcome = invoke_cli(
        sandbox, ["create", "suppliers", str(path), "--results", str(results), "--concurrency", "8"]
    )
    assert outcome.exit_code == 1
    lines = results.read_text().splitlines()
    assert lines[0] == "position,line,outcome,id,status,messages,warnings"
    positions = [int(line.split(",")[0]) for line in lines[1:]]
    assert positions == list(range(1, 41))
    assert lines[6].split(",")[1:3] == ["6", "rejected"]  # JSON lines: line = position


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from coupa_connector.cli._write_cmds import _progress, estimate_records

    csv_file = tmp_path / "in.csv"
    csv_file.write_text("name\na\nb\nc\n", encoding="utf-8")
    jsonl = write_jsonl(tmp_path / "in.jsonl", [{"a": 1}, {"a": 2}])
    assert estimate_records(str(csv_file), "csv") == 3
    assert estimate_records(str(jsonl), "jsonl") == 2
    assert estimate_records(str(jsonl), "json") is None
    assert estimate_records("-", "csv") is None

    assert _progress(Console(file=io.StringIO()), 3) is None  # not a terminal: nothing
    screen = io.StringIO()
    progress = _progress(Console(file=screen, force_terminal=True, width=120), 3)
    assert progress is not None
    with progress:
        task = progress.add_task("create suppliers", total=3, counts="")
        progress.update(task, completed=2, counts="created 2")
        progress.refresh()
    assert "create suppliers" in screen.getvalue() and "2 records" in screen.getvalue()


def test_record_secrets_never_reach_the_debug_log(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t = tag()
    password, secret = f"Pw-{t}-never-logged", f"cx-{t}-never-logged"
    users = write_jsonl(
        tmp_path / "u.jsonl",
        [
            {
                "login": f"pw{t}",
                "email": f"pw{t}@example.com",
                "firstname": "Ann",
                "lastname": "Lee",
                "password": password,
            }
        ],
    )
    suppliers = write_jsonl(
        tmp_path / "s.jsonl",
        [supplier(f"Sec {t}", f"SEC-{t}", **{"cxml-secret": secret, "cxml-http-password": secret})],
    )
    with caplog.at_level(logging.DEBUG, logger="coupa_connector.transport"):
        for obj, path, wire in (("users", users, "json"), ("suppliers", suppliers, "xml")):
            args = ["--log-level", "DEBUG", "create", obj, str(path), "--format", wire]
            assert invoke_cli(sandbox, args).exit_code == 0
    bodies = [r.getMessage() for r in caplog.records if "request body:" in r.getMessage()]
    assert any(f"pw{t}" in b for b in bodies) and any(f"SEC-{t}" in b for b in bodies)
    assert password not in caplog.text and secret not in caplog.text
    assert "**********" in caplog.text


def test_a_byte_order_mark_on_standard_input_is_skipped(sandbox: Sandbox) -> None:
    data = "\ufeffname,number\nBom One,B-1\nBom Two,B-2\n".encode()
    args = ["create", "suppliers", "-", "--input-format", "csv", "--dry-run", "--summary", "json"]
    outcome = CliRunner().invoke(cli, args, input=data, env=env_for(sandbox))
    assert outcome.exit_code == 0, outcome.output
    summary = json_summary(outcome)
    assert (summary["read"], summary["valid"], summary["rejected"]) == (2, 2, 0)
    # Ids read from standard input too.
    ids = "\ufeff12\n13\n".encode()
    args = ["action", "invoices", "submit", "--ids-file", "-", "--dry-run", "--summary", "json"]
    outcome = CliRunner().invoke(cli, args, input=ids, env=env_for(sandbox))
    assert json_summary(outcome)["rejected"] == 0, outcome.output


@pytest.mark.parametrize("name", ["empty.xml", "empty.csv", "empty.jsonl", "empty.json"])
def test_an_empty_input_file_reads_nothing_and_succeeds(
    sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_text("")
    outcome = invoke_cli(sandbox, ["create", "suppliers", str(path), "--summary", "json"])
    assert outcome.exit_code == 0, outcome.output
    assert json_summary(outcome)["read"] == 0
