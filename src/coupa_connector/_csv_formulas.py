"""Formula neutralisation for the CSV files people open in a spreadsheet (CSV injection).

A spreadsheet takes a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` for a formula,
and some take a leading tab or carriage return the same way; a supplier named
``=cmd|' /C calc'!A0`` would run in the finance team's spreadsheet. OWASP's CSV Injection
page lists ``=``, ``+``, ``-``, ``@``, tab (0x09) and carriage return (0x0D) as first characters
no cell may have, whatever follows, and recommends a leading single quote, which spreadsheets
read as "this cell is text"; ASVS 5.0 (requirement 1.2.10) adds NUL (0x00). CSV writers call
``escape_cell`` on every cell, the header's included.

Two choices keep the files useful:

* A plain number (``-5``, ``+3.25``, ``-1.5e3``) is left alone. A spreadsheet reads it as a
  number, not a formula, so it cannot call anything; quoting it would turn amounts into text
  that no sum adds up.
* The quote is taken off again when a CSV is read (``unescape_cell``), so a rejects file fed
  back sends Coupa the values it was given, never ``'=...``. To make that exact, a text that
  already starts with quotes followed by one of the characters above gets one more quote:
  a cell holds ``'`` + text exactly when the text needed one, so reading undoes writing for
  every value.

``keep`` turns both off, for files that programs read: cells are written and read verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from coupa_connector.errors import ConfigurationError

__all__ = [
    "CSV_FORMULA_MODES",
    "DEFAULT_CSV_FORMULAS",
    "CsvFormulas",
    "cell_reader",
    "csv_formulas_mode",
    "escape_cell",
    "escape_row",
    "row_writer",
    "unescape_cell",
]

CsvFormulas = Literal["escape", "keep"]
CSV_FORMULA_MODES: tuple[CsvFormulas, ...] = ("escape", "keep")
DEFAULT_CSV_FORMULAS: CsvFormulas = "escape"

# The first characters that make a cell a formula, behind any quotes already there.
_FORMULA = re.compile(r"'*[=+\-@\t\r\x00]")
_FIRST = frozenset("=+-@\t\r\x00'")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def escape_cell(text: str) -> str:
    """The cell text a spreadsheet shows as ``text`` without running it as a formula."""
    if text[:1] in _FIRST and _FORMULA.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


# A page of 50 full invoices is some 25,000 cells, nearly none of which needs a look: one
# scan of the row joined on a separator finds the rows that do, about ten times faster than
# a call per cell. A cell holding the separator itself can only cause a needless look.
_SEPARATOR = "\x1f"
_MARKS = tuple(_SEPARATOR + first for first in sorted(_FIRST))


def escape_row(cells: list[str]) -> list[str]:
    """``escape_cell`` of every cell of a row (the same list when none needs it)."""
    joined = _SEPARATOR + _SEPARATOR.join(cells)
    if any(mark in joined for mark in _MARKS):
        return [escape_cell(cell) for cell in cells]
    return cells


def unescape_cell(text: str) -> str:
    """The value ``escape_cell`` wrote as ``text`` (text it did not change comes back as is)."""
    if text[:1] == "'" and _FORMULA.match(text, 1):
        return text[1:]
    return text


def csv_formulas_mode(value: object, where: str = "csv_formulas") -> CsvFormulas:
    """Check a setting's value: ``escape`` or ``keep``.

    Raises:
        ConfigurationError: Any other value, naming ``where``.
    """
    for mode in CSV_FORMULA_MODES:
        if value == mode:
            return mode
    raise ConfigurationError(
        f"{where} must be {' or '.join(CSV_FORMULA_MODES)}, not {value!r}: escape puts a ' "
        "before cells a spreadsheet would run as formulas, keep writes them as they are."
    )


def _as_given(cells: list[str]) -> list[str]:
    return cells


def row_writer(csv_formulas: object) -> Callable[[list[str]], list[str]]:
    """What a CSV writer applies to each row for a mode: ``escape_row``, or nothing.

    Raises:
        ConfigurationError: The mode is neither ``escape`` nor ``keep``.
    """
    return escape_row if csv_formulas_mode(csv_formulas) == "escape" else _as_given


def cell_reader(csv_formulas: object) -> Callable[[str], str]:
    """What a CSV reader applies to each cell for a mode: ``unescape_cell``, or nothing.

    Raises:
        ConfigurationError: The mode is neither ``escape`` nor ``keep``.
    """
    return unescape_cell if csv_formulas_mode(csv_formulas) == "escape" else str
