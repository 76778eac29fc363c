"""Options several commands share, spelled once so they read and behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = ["csv_formulas_option", "format_option"]


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
