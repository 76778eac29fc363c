"""Options several commands share, spelled once so they read and behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = ["format_option"]


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
