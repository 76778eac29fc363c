"""The ``coupa`` command group.

Sub-commands are imported only when they run, so ``coupa --help`` and the fast commands do
not pay for the HTTP client, the sandbox server or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import logging
import os

import click

# name -> "module:attribute"; each module holds one command or group.
COMMANDS: dict[str, str] = {
    "objects": "coupa_connector.cli._catalog_cmds:objects",
    "schema": "coupa_connector.cli._catalog_cmds:schema",
    "sandbox": "coupa_connector.cli._sandbox_cmd:sandbox",
    "connection": "coupa_connector.cli._connection_cmds:connection",
    "query": "coupa_connector.cli._query_cmd:query",
    "create": "coupa_connector.cli._write_cmds:create",
    "update": "coupa_connector.cli._write_cmds:update",
    "upsert": "coupa_connector.cli._write_cmds:upsert",
    "action": "coupa_connector.cli._write_cmds:action",
    "run": "coupa_connector.cli._ops_cmds:run",
    "validate": "coupa_connector.cli._ops_cmds:validate",
    "logs": "coupa_connector.cli._ops_cmds:logs",
    "demo": "coupa_connector.cli._demo_cmd:demo",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


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
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("coupa_connector").setLevel(log_level.upper())


def main() -> None:
    cli(prog_name="coupa")
