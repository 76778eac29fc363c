"""The integrations' documented commands work as written: the Python and shell blocks of
docs/integrations.md and of the README's integrations section, and examples/dlt_pipeline.py,
run against the sandbox with the connection in the ``COUPA_*`` variables, as the docs say.

A pipeline stage that is not ours (``target-jsonl``, a Meltano plugin) is left off; what the
tap hands it is checked to be Singer messages instead.
"""

# ruff: noqa: E402  (the extras are required before their modules are imported)
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _extras import require

require("dlt", "the dlt extra is not installed")
require("singer_sdk", "the singer extra is not installed")
import duckdb

from _operations_support import config_for
from coupa_connector import Connection
from coupa_connector.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OURS = {"tap-coupa", "target-coupa", "python", "coupa"}


def blocks(path: Path, language: str, *, section: str | None = None) -> list[str]:
    text = path.read_text()
    if section is not None:
        start = text.index(f"<!-- section: {section} -->")
        text = text[start : text.index(f"<!-- /section: {section} -->", start)]
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def doc_blocks(language: str) -> list[str]:
    return [
        *blocks(ROOT / "docs" / "integrations.md", language),
        *blocks(ROOT / "README.md", language, section="integrations"),
    ]


@pytest.fixture(scope="module")
def source() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture(scope="module")
def target() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


def env_for(sb: Sandbox, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUPA_", "SOURCES__"))}
    env.update(
        COUPA_URL=sb.url,
        COUPA_CLIENT_ID=sb.client_id,
        COUPA_CLIENT_SECRET=sb.client_secret,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        RUNTIME__LOG_LEVEL="ERROR",
        # dlt keeps pipeline state under the user's home: each run gets its own.
        DLT_DATA_DIR=str(home / ".dlt-data"),
    )
    return env


def run_in(folder: Path, sb: Sandbox, command: str | list[str]) -> subprocess.CompletedProcess[str]:
    """A documented command in ``folder``, connected to ``sb``; it must succeed."""
    run = subprocess.run(
        command,
        shell=isinstance(command, str),
        cwd=folder,
        env=env_for(sb, folder),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def ids(sb: Sandbox, obj: str, where: str | None = None) -> set[int]:
    with Connection(config_for(sb)) as conn:
        return {int(r["id"]) for r in conn.query(obj, where=where, fields=["id"])}


def loaded_ids(warehouse: Path, table: str) -> set[int]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return {int(row[0]) for row in db.execute(f"select id from coupa.{table}").fetchall()}


DLT_SNIPPETS = [b for b in doc_blocks("python") if "coupa_source(" in b]


def test_the_docs_show_a_dlt_pipeline() -> None:
    assert len(DLT_SNIPPETS) >= 2  # docs/integrations.md and the README


@pytest.mark.parametrize("snippet", DLT_SNIPPETS, ids=lambda s: f"{len(s)}-chars")
def test_the_documented_dlt_pipeline_loads_every_record(
    snippet: str, source: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "pipeline.py").write_text(snippet)
    run = run_in(tmp_path, source, [sys.executable, "pipeline.py"])
    assert source.client_secret not in run.stdout + run.stderr
    [warehouse] = tmp_path.glob("*.duckdb")
    assert loaded_ids(warehouse, "invoices") == ids(source, "invoices")
    assert loaded_ids(warehouse, "suppliers") == ids(source, "suppliers")


def test_the_example_dlt_pipeline_runs_as_its_docstring_says(
    source: Sandbox, tmp_path: Path
) -> None:
    run_in(tmp_path, source, [sys.executable, str(ROOT / "examples" / "dlt_pipeline.py")])
    [warehouse] = tmp_path.glob("*.duckdb")
    assert loaded_ids(warehouse, "invoices") == ids(source, "invoices", "status=approved")
    assert loaded_ids(warehouse, "suppliers") == ids(source, "suppliers")


def shell_lines() -> list[str]:
    lines: list[str] = []
    for block in doc_blocks("bash"):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith(("tap-coupa", "target-coupa")):
                lines.append(command)
    return list(dict.fromkeys(lines))


def ours_only(command: str) -> tuple[str, str | None]:
    """The command with stages that are not ours left off, and the first one left off."""
    stages = [s.strip() for s in command.split("|")]
    kept: list[str] = []
    for stage in stages:
        program = shlex.split(stage)[0]
        if program not in OURS:
            return " | ".join(kept), program
        kept.append(stage)
    return command, None


def write_configs(folder: Path, source: Sandbox, target: Sandbox, *, copying: bool) -> None:
    connection: dict[str, Any] = {
        "url": source.url,
        "client_id": source.client_id,
        "client_secret": source.client_secret,
    }
    to: dict[str, Any] = {
        "url": target.url,
        "client_id": target.client_id,
        "client_secret": target.client_secret,
        "rejects_dir": str(folder / "rejects"),
    }
    # The tap offers two objects here (every readable object when ``objects`` is left out);
    # copied into another instance, suppliers (approved invoices are closed to updates).
    tap = {**connection, "objects": ["suppliers"] if copying else ["suppliers", "invoices"]}
    (folder / "tap.json").write_text(json.dumps(tap))
    (folder / "from.json").write_text(json.dumps({**connection, "objects": ["suppliers"]}))
    (folder / "target.json").write_text(json.dumps(to))
    (folder / "to.json").write_text(json.dumps(to))
    (folder / "state.json").write_text("{}")


SHELL = shell_lines()


def test_the_docs_show_the_singer_commands() -> None:
    programs = {shlex.split(c)[0] for c in SHELL}
    assert programs == {"tap-coupa"}
    assert any("target-coupa" in c for c in SHELL)
    assert len(SHELL) >= 6


@pytest.mark.parametrize("command", SHELL)
def test_the_documented_singer_command_works_as_written(
    command: str, source: Sandbox, target: Sandbox, tmp_path: Path
) -> None:
    write_configs(tmp_path, source, target, copying="target-coupa" in command)
    if "--catalog catalog.json" in command:
        run_in(tmp_path, source, "tap-coupa --config tap.json --discover > catalog.json")
    runnable, left_off = ours_only(command)
    run = run_in(tmp_path, source, runnable)
    assert source.client_secret not in run.stdout + run.stderr
    produced = run.stdout
    if ">" in runnable:
        produced = (tmp_path / runnable.rsplit(">", 1)[1].strip()).read_text()
    if "--about" in command:
        assert "tap-coupa" in produced
    elif "--discover" in command:
        streams = {s["tap_stream_id"] for s in json.loads(produced)["streams"]}
        assert {"suppliers", "invoices"} <= streams
    elif "target-coupa" in runnable:
        counts = re.findall(r"(\d+) read, (\d+) written, 0 rejected, 0 failed", run.stderr)
        assert counts, run.stderr[-3000:]
        read, written = map(int, counts[-1])
        assert read == written >= len(ids(source, "suppliers"))
    else:
        messages = [json.loads(line) for line in produced.splitlines() if line.strip()]
        types = {m["type"] for m in messages}
        assert "SCHEMA" in types
        if "--test" not in command:
            records = [m for m in messages if m["type"] == "RECORD"]
            by_stream = {m["stream"] for m in records}
            assert {"suppliers", "invoices"} <= by_stream, left_off
