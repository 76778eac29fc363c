"""Small things a first hour with ``coupa`` runs into: wording, folders made for outputs,
``-p``, the auth error, tabs in YAML and shell completion."""

from __future__ import annotations

from pathlib import Path

import click

from _cli_process import cli_env, coupa, no_traceback
from coupa_connector.cli._main import COMMANDS, cli
from coupa_connector.sandbox import Sandbox


def test_query_summary_counts_in_good_english(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "one.jsonl"
    proc = coupa(["query", "invoices", "--limit", "1", "-o", str(out)], sandbox)
    assert proc.returncode == 0, proc.stderr
    assert f"1 record of invoices written to {out} (1 page)" in proc.stderr


def test_a_missing_output_folder_is_made_and_said(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "x.jsonl"
    proc = coupa(["query", "invoices", "--limit", "1", "-o", str(out)], sandbox)
    assert proc.returncode == 0, proc.stderr
    assert f"note: creating the folder {out.parent} for the output" in proc.stderr
    assert out.exists()
    again = coupa(["query", "invoices", "--limit", "1", "-o", str(out)], sandbox)
    assert "creating the folder" not in again.stderr


def _commands() -> list[click.Command]:
    found: list[click.Command] = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found.extend(command.commands.values())
        else:
            found.append(command)
    return found


def test_every_profile_option_has_p() -> None:
    with_profile = [c for c in _commands() for p in c.params if "--profile" in p.opts]
    assert len(with_profile) >= 7  # connection test, query, create, update, upsert, action, run
    for command in with_profile:
        [option] = [p for p in command.params if "--profile" in p.opts]
        assert "-p" in option.opts, command.name


def test_a_refused_secret_says_so_without_paging_words(sandbox: Sandbox) -> None:
    env = cli_env(sandbox, COUPA_CLIENT_SECRET="not-the-secret")
    proc = coupa(["query", "invoices", "--limit", "1"], env=env)
    no_traceback(proc)
    assert proc.returncode == 1
    assert "The token endpoint refused client" in proc.stderr
    for words in ("the page at", "partition", "records were delivered"):
        assert words not in proc.stderr


def test_tab_indentation_in_yaml_gets_a_hint(tmp_path: Path) -> None:
    ops = tmp_path / "ops.yaml"
    ops.write_text("operations:\n  a:\n\tsource: {type: file, path: in.csv}\n")
    proc = coupa(["validate", str(ops)])
    assert proc.returncode == 2
    assert f"{ops}:3: YAML syntax:" in proc.stderr
    assert "tabs aren't allowed in YAML indentation: indent with spaces" in proc.stderr


def test_shell_completion_completes_commands_and_object_names() -> None:
    def complete(words: str) -> list[str]:
        env = cli_env(
            _COUPA_COMPLETE="bash_complete",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - 1),
        )
        proc = coupa([], env=env)
        assert proc.returncode == 0, proc.stderr
        return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]

    assert complete("coupa que") == ["query"]
    assert "invoices" in complete("coupa query invoi")
    assert "suppliers" in complete("coupa create supp")
    assert "purchase_orders" in complete("coupa action purchase_o")
    assert "invoice-line" in complete("coupa schema invoice-l")
    source = coupa([], env=cli_env(_COUPA_COMPLETE="bash_source"))
    assert "_coupa_completion" in source.stdout
