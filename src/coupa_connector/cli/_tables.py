"""Tables that fit: on a terminal, columns of least value go until the rest fits its width
(the flags a reader scans for never wrap away); elsewhere, plain tab-separated values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

__all__ = ["TABLE_FORMATS", "TABLE_HELP", "Column", "print_rows", "tsv_line"]

TABLE_FORMATS = ("auto", "table", "tsv", "json")
TABLE_HELP = (
    "auto: a table on a terminal, tab-separated values otherwise; table: always the table "
    "(fitted to COLUMNS); tsv; json for programs."
)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header, whether its cells may fold onto more lines (at spaces; with
    ``cap``, a cell wider than ``cap`` folds anywhere), and its place in the order columns
    are dropped in when the table is too wide (0: never dropped)."""

    name: str
    fold: bool = False
    drop: int = 0
    justify: str = "left"
    cap: int | None = None


def tsv_line(cells: Sequence[str]) -> str:
    """One line of tab-separated values; tabs and line breaks inside a cell become spaces."""
    return "\t".join(" ".join(c.split()) if ("\t" in c or "\n" in c) else c for c in cells)


def print_rows(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    fmt: str,
    title: str = "",
    caption: str = "",
) -> None:
    """Print ``rows`` as a table fitted to the width (``fmt`` ``table``, or ``auto`` on a
    terminal) or as TSV with a header line (``tsv``, or ``auto`` when standard output is not
    a terminal: a pipe, a file). Cells are plain text; the table escapes them from markup."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if fmt == "tsv" or (fmt == "auto" and not console.is_terminal):
        click.echo(tsv_line([c.name for c in columns]))
        for row in rows:
            click.echo(tsv_line(row))
        return
    console.print(_fitted(console, columns, rows, title, caption))


def _least_width(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> int:
    """The narrowest the table can be: a column that does not fold is as wide as its widest
    line, one that folds as its longest word, one with a cap at most that (and a header is
    never cut)."""
    from rich.cells import cell_len

    total = 1  # the left border; each column adds its padding and right border
    for i, col in enumerate(columns):
        pieces = [p for row in rows for p in (row[i].split() if col.fold else row[i].splitlines())]
        widest = max([cell_len(col.name), *(cell_len(p) for p in pieces)])
        total += (widest if col.cap is None else min(widest, max(col.cap, len(col.name)))) + 3
    return total


def _fitted(
    console: Any,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    title: str,
    caption: str,
) -> Any:
    from rich.markup import escape
    from rich.table import Table

    keep = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop)
    while True:
        dropped = [columns[i].name for i in range(len(columns)) if i not in keep]
        notes = [caption] if caption else []
        if dropped:
            notes.append(
                f"Not shown at this width: {', '.join(dropped)} (--format tsv or json has them)."
            )
        table = Table(
            title=escape(title) if title else None,
            caption=escape("\n".join(notes)) if notes else None,
            caption_justify="left",
        )
        for i in keep:
            col = columns[i]
            table.add_column(
                col.name,
                no_wrap=not (col.fold or col.cap),
                overflow="fold" if (col.fold or col.cap) else "ellipsis",
                justify=col.justify,  # type: ignore[arg-type]
            )
        for row in rows:
            table.add_row(*(escape(row[i]) for i in keep))
        if (
            _least_width([columns[i] for i in keep], [[r[i] for i in keep] for r in rows])
            <= (console.width)
            or not droppable
        ):
            return table
        keep.remove(droppable.pop(0))
