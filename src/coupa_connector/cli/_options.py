"""Options several commands share, spelled once so they read and behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "SetupError",
    "complete_object",
    "csv_formulas_option",
    "encoding_option",
    "format_option",
    "note_new_folder",
]

# The exit codes of every command (docs/cli.md has the table): 0 done, 1 done in part,
# 2 nothing done because the command line, the settings or a file is wrong, 130 Ctrl-C.
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class SetupError(click.ClickException):
    """Settings or surroundings that keep a command from starting (no COUPA_URL, a port in
    use): exit code 2, as for a wrong command line, without the usage lines."""

    exit_code = EXIT_USAGE


def format_option(
    choices: Sequence[str], *, help: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` (passed as ``fmt``): one of ``choices``, the first by default.

    Args:
        choices: The formats the command prints, the default first.
        help: The option's help text.

    Returns:
        The click decorator.
    """
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def csv_formulas_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--csv-formulas escape|keep`` (passed as ``csv_formulas``), ``escape`` by default."""
    from coupa_connector._csv_formulas import CSV_FORMULA_MODES, DEFAULT_CSV_FORMULAS

    return click.option(
        "--csv-formulas",
        "csv_formulas",
        type=click.Choice(CSV_FORMULA_MODES),
        default=DEFAULT_CSV_FORMULAS,
        show_default=True,
        help="CSV cells a spreadsheet would run as formulas (=, +, -, @, tab, CR first): "
        "escape writes them with a leading ' and takes it off when reading a CSV; keep "
        "writes and reads them as they are (for programs).",
    )


def _known_encoding(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(
            f"{value!r} is not an encoding Python knows (try utf-8, cp1252, latin-1)"
        ) from None
    return value


def encoding_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--encoding NAME`` (passed as ``encoding``) of the files a command reads, UTF-8 by
    default (a UTF-8 byte order mark is always skipped)."""
    return click.option(
        "--encoding",
        "encoding",
        default="utf-8",
        show_default=True,
        metavar="NAME",
        callback=_known_encoding,
        help="Text encoding of the input file (cp1252 for most Windows/ERP exports, latin-1, "
        "utf-16 ...).",
    )


def note_new_folder(path: str | None, role: str) -> None:
    """Say on standard error that the folder of ``path`` does not exist and will be made
    (a mistyped ``-o /tmp/ouptut/x.csv`` should not go unnoticed)."""
    from pathlib import Path

    if not path or path == "-":
        return
    folder = Path(path).expanduser().parent
    if not folder.exists():
        click.echo(f"note: creating the folder {folder} for the {role}", err=True)


def complete_object(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of an OBJECT argument: the catalog's object names (``coupa query
    inv<TAB>``); see docs/cli.md for turning completion on."""
    from coupa_connector.catalog import load_catalog

    return sorted(o.name for o in load_catalog() if o.name.startswith(incomplete))
