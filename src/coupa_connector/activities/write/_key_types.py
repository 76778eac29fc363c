"""Key values in one spelling per catalog kind, so a file's value and Coupa's answer compare.

A file says ``2032-03-03`` where Coupa answers ``2032-03-03T00:00:00+00:00``, ``10.5``
where Coupa answers ``"10.50"``, ``True`` where Coupa answers ``true``. Matching a natural
key as text would find none of them, so both sides are spelled the same way first:

========== ================================================= =============================
kind       reads                                             spelled
========== ================================================= =============================
datetime   ISO 8601 with any offset, ``Z``, fractions; a      the UTC instant,
           date alone is midnight UTC, no offset is UTC      ``2032-03-03T00:00:00+00:00``
           (coupa-api.md 4.3)
date       a date, or a datetime (its day as written)        ``2032-03-03``
decimal,   a number in any spelling (``10.50``, ``1E+1``)     the shortest (``10.5``)
float
integer    whole numbers within Coupa's integer range        ``17``
boolean    ``true``/``false``/``1``/``0`` in any case         ``true`` / ``false``
string     anything                                          exactly as given, spaces too
========== ================================================= =============================

The spelling is also what the lookup query sends: an instant in the strict ISO 8601 form
Coupa's query documents (``2010-03-25T18:38:00-07:00``), a number without trailing zeros.
A value that does not read as its kind has no spelling (None): it cannot name a record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from coupa_connector.catalog import MAX_INTEGER, MIN_INTEGER, coupa_integer

__all__ = ["expected", "key_text"]

# The words the catalog's validation takes for a boolean (files carry them as text).
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
# Coupa's decimals have at most 30 digits (Swagger: ``"format": "decimal(30,9)"`` and the
# like); a number a thousand places long is no amount, and is not written out in full.
_MAX_DECIMAL_PLACES = 40
# Longer than any ISO 8601 instant; a longer value is no date, and is not parsed.
_MAX_INSTANT_CHARS = 40


def key_text(kind: str, value: Any) -> str | None:
    """The spelling of a key value of a field of ``kind``, or None when it names nothing.

    None for a missing, blank or nested value, and for one that does not read as its kind.
    """
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, str) and not value.strip():
        return None  # blank is no value at all
    reader = _READERS.get(kind)
    if reader is None:
        return _text(value)
    try:
        return reader(value)
    except (ValueError, ArithmeticError, TypeError):
        return None


def expected(kind: str) -> str:
    """What a value of a field of ``kind`` must be, to complete "... is not ..."."""
    return _EXPECTED.get(kind, "a value")


def _text(value: Any) -> str:
    # Exactly as sent, spaces included: Coupa compares text that way, and a record created
    # with " S-1 " is only found by " S-1 ".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        number = int(value) if value.is_integer() else None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        number = coupa_integer(value)
    else:
        return None
    if number is None or not MIN_INTEGER <= number <= MAX_INTEGER:
        return None
    return str(number)


def _decimal(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number.adjusted()) > _MAX_DECIMAL_PLACES:
        return None
    if number == 0:
        return "0"  # -0, 0.00 and 0E+3 are the same amount
    return format(number.normalize(), "f")


def _boolean(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    word = str(value).strip().lower() if isinstance(value, str | int) else ""
    if word in _TRUE:
        return "true"
    if word in _FALSE:
        return "false"
    return None


def _parsed(value: Any) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > _MAX_INSTANT_CHARS:
        return None
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def _datetime(value: Any) -> str | None:
    parsed = _parsed(value)
    if parsed is None:
        return None
    if not isinstance(parsed, dt.datetime):
        # A day without a time is midnight UTC of that day, as Coupa reads it.
        parsed = dt.datetime.combine(parsed, dt.time(), dt.UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    instant = parsed.astimezone(dt.UTC)
    # Coupa keeps whole seconds; a fraction is written only when there is one.
    return instant.isoformat(timespec="microseconds" if instant.microsecond else "seconds")


def _date(value: Any) -> str | None:
    parsed = _parsed(value)
    if parsed is None:
        return None
    # A datetime given for a date keeps its day as written, as Coupa keeps it.
    day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
    return day.isoformat()


_READERS: dict[str, Callable[[Any], str | None]] = {
    "integer": _integer,
    "decimal": _decimal,
    "float": _decimal,
    "boolean": _boolean,
    "datetime": _datetime,
    "date": _date,
}

_EXPECTED = {
    "integer": f"a whole number from {MIN_INTEGER} to {MAX_INTEGER}",
    "decimal": "a number",
    "float": "a number",
    "boolean": "true or false (or 1 or 0)",
    "datetime": "an ISO 8601 date or datetime (2032-03-03, 2032-03-03T10:00:00+02:00)",
    "date": "an ISO 8601 date (2032-03-03)",
}
