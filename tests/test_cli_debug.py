"""``coupa run --debug``: request and response bodies go to the debug file; the terminal gets
the usual output and the file's path. ``--log-level DEBUG`` still shows everything."""

from __future__ import annotations

import json
from pathlib import Path

from _cli_process import coupa, no_traceback
from _write_support import tag
from coupa_connector.sandbox import Sandbox


def _ops(tmp_path: Path) -> Path:
    t = tag()
    (tmp_path / "suppliers.csv").write_text(f"number,name\nDBG-{t},Debug {t}\n")
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "connection: {env: true}\n"
        "operations:\n"
        "  suppliers-in:\n"
        "    source: {type: file, path: suppliers.csv}\n"
        "    transform: {mapping: {number: number, name: name, status: \"'active'\"}}\n"
        "    target: {type: coupa.create, object: suppliers}\n"
    )
    return ops


def test_debug_bodies_go_to_the_file_not_the_terminal(sandbox: Sandbox, tmp_path: Path) -> None:
    ops = _ops(tmp_path)
    log_db = tmp_path / "log.sqlite"
    proc = coupa(["run", str(ops), "--debug", "--log-db", str(log_db)], sandbox, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG" not in proc.stderr and "body" not in proc.stderr, proc.stderr
    as_json = coupa(
        ["run", str(ops), "--debug", "--log-db", str(log_db), "--format", "json"],
        sandbox,
        cwd=tmp_path,
    )
    [result] = json.loads(as_json.stdout)
    debug_log = Path(result["debug_log"])
    assert "DEBUG" not in as_json.stderr
    assert "debug log:" in " ".join(proc.stdout.split())
    text = debug_log.read_text(encoding="utf-8")
    assert "POST /api/suppliers" in text and "body" in text


def test_log_level_debug_still_shows_everything(sandbox: Sandbox, tmp_path: Path) -> None:
    ops = _ops(tmp_path)
    proc = coupa(
        ["--log-level", "DEBUG", "run", str(ops), "--log-db", str(tmp_path / "log.sqlite")],
        sandbox,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG coupa_connector" in proc.stderr and "POST /api/suppliers" in proc.stderr
