"""The README's catalog, connection and query examples run as written against the sandbox."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from _write_support import env_for
from coupa_connector.cli import cli
from coupa_connector.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"
# Commands that need no input file and start no server: they can run as the README says.
RUNNABLE = ("objects", "schema", "connection", "query")


def examples() -> list[str]:
    lines = re.findall(r"^coupa (.+)$", README.read_text(), re.M)
    commands = [line.split("  #")[0].strip() for line in lines]
    return [c for c in commands if c.split()[0] in RUNNABLE]


def test_readme_has_examples_of_each_runnable_command() -> None:
    assert {c.split()[0] for c in examples()} == set(RUNNABLE)


@pytest.mark.usefixtures("pristine_data_afterwards")
@pytest.mark.parametrize("command", examples())
def test_readme_example_runs(
    command: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # output files the examples name land here
    result = CliRunner().invoke(cli, shlex.split(command), env=env_for(sandbox))
    assert result.exit_code == 0, f"coupa {command}\n{result.output}"
