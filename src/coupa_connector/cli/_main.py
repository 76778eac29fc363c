"""The ``coupa`` command group.

Sub-commands are imported only when they run, so ``coupa --help`` and the fast commands do
not pay for the HTTP client, the sandbox server or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import logging
import os

import click

# name -> ("module:attribute", one-line help). The help is kept here so that `coupa --help`
# lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "objects": (
        "coupa_connector.cli._catalog_cmds:objects",
        "List the Coupa objects the catalog knows.",
    ),
    "schema": (
        "coupa_connector.cli._catalog_cmds:schema",
        "Show an object's fields or its JSON Schema.",
    ),
    "sandbox": (
        "coupa_connector.cli._sandbox_cmd:sandbox",
        "Run the local Coupa-compatible sandbox server.",
    ),
    "connection": (
        "coupa_connector.cli._connection_cmds:connection",
        "Check a connection to a Coupa instance.",
    ),
    "discover": (
        "coupa_connector.cli._discover_cmd:discover",
        "Learn an instance's custom fields from its records (its overlay).",
    ),
    "query": (
        "coupa_connector.cli._query_cmd:query",
        "Query records of an object to a file or stdout.",
    ),
    "attachments": (
        "coupa_connector.cli._attachments_cmd:attachments",
        "List, upload and bulk-download attachments and documents.",
    ),
    "create": (
        "coupa_connector.cli._write_cmds:create",
        "Create records from a CSV, JSONL, JSON or XML file.",
    ),
    "update": (
        "coupa_connector.cli._write_cmds:update",
        "Update records found by id or a natural key.",
    ),
    "upsert": (
        "coupa_connector.cli._write_cmds:upsert",
        "Create or update records by a natural key.",
    ),
    "action": (
        "coupa_connector.cli._write_cmds:action",
        "Run an action (submit, void, mark exported, ...).",
    ),
    "run": ("coupa_connector.cli._ops_cmds:run", "Run the operations of an operation file."),
    "validate": (
        "coupa_connector.cli._ops_cmds:validate",
        "Check an operation file without moving data.",
    ),
    "logs": (
        "coupa_connector.cli._ops_cmds:logs",
        "List operation runs, or show one with its failures.",
    ),
    "runs": (
        "coupa_connector.cli._runs_cmd:runs",
        "List an integration's runs and errors as Coupa keeps them.",
    ),
    "console": (
        "coupa_connector.cli._console_cmd:console",
        "Serve the operations console (runs, failures, catalog) in a browser.",
    ),
    "demo": (
        "coupa_connector.cli._demo_cmd:demo",
        "Run the demo operations against the embedded sandbox.",
    ),
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    default=lambda: os.environ.get("COUPA_LOG_LEVEL", "WARNING"),
    show_default="COUPA_LOG_LEVEL or WARNING",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Verbosity of the coupa_connector loggers (secrets are always redacted).",
)
@click.version_option(package_name="coupa-connector")
def cli(log_level: str) -> None:
    """Move data between Coupa and files, databases and Python."""
    level = log_level.upper()
    root = logging.getLogger()
    if not root.handlers:
        terminal = logging.StreamHandler()
        terminal.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        # The terminal shows the level asked for, even when ``run --debug`` lowers the
        # loggers' level for its debug file.
        terminal.setLevel(level)
        root.addHandler(terminal)
    logging.getLogger("coupa_connector").setLevel(level)


def main() -> None:
    cli(prog_name="coupa")
