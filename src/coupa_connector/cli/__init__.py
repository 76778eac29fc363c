"""The ``coupa`` command: a thin skin over the library (no logic here a library user lacks)."""

from coupa_connector.cli._main import cli, main

__all__ = ["cli", "main"]
