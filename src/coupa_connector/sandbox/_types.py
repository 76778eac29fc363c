"""Values by catalog kind: parsing what clients send into what the store keeps.

The store keeps Coupa's wire spellings so that rendering is a copy: integers and booleans as
JSON numbers and booleans, decimals as strings (never binary floats: money must round-trip),
floats as numbers, datetimes as fixed-width UTC ISO 8601 strings (so text order is time
order), dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "KindError", "coerce", "parse_instant"]

TRUE_WORDS = frozenset({"true", "1", "t", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "f", "no", "n"})
_MAX_DIGITS = 30
# SQLite integers are 64-bit; money and quantities beyond 10^20 are typos, not amounts.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_MAGNITUDE = 20


class KindError(ValueError):
    """A value that does not fit its field's kind; ``reason`` completes "<Field> ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# What Coupa's Rails back end reads as a time (``Time.zone.parse``): a date with one- or
# two-digit month and day (``2011-01-1``, in Coupa's own query examples), then optionally a
# time after ``T`` or a space, fractions of a second, and a zone: ``Z``, ``UTC``/``GMT``, or an
# offset as ``+07:00``, ``+0700`` or ``+07``. Clients quote values too (``'2015-04-16
# 22:00:00'``, again from Coupa's docs), and Ruby writes ``2024-01-31 18:38:00 UTC``.
_INSTANT = re.compile(
    r"(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_QUOTES = "'\""


def parse_instant(value: str) -> str:
    """Parse a date or datetime the way Coupa's Rails back end reads it; return the stored
    spelling.

    A date without a time is midnight UTC of that day; a datetime without a zone is UTC.

    Args:
        value: ``2024-05-01``, ``2011-01-1``, ``2024-05-01T10:00:00-07:00``,
            ``'2015-04-16 22:00:00'``, ``2024-01-31 18:38:00 UTC``...

    Returns:
        ``YYYY-MM-DDTHH:MM:SS+00:00``.

    Raises:
        KindError: Not a date or datetime.
    """
    text = value.strip()
    if len(text) > 40:
        raise KindError("is not a valid date and time")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
        text = text[1:-1].strip()
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise KindError("is not a valid date and time")
    try:
        parsed = dt.datetime(
            int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
            tzinfo=_zone(match["z"]),
        )
        moment = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise KindError("is not a valid date and time") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _zone(text: str | None) -> dt.tzinfo:
    if text is None or text.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return dt.timezone(dt.timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise KindError("is not a number")
    text = str(value).strip()
    if not text or len(text) > _MAX_DIGITS + 2:
        raise KindError("is not a number")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise KindError("is not a number") from None
    if not number.is_finite():
        raise KindError("is not a number")
    return number


def coerce(kind: str, value: Any) -> Any:
    """Turn a value from a request body into the stored spelling of its kind.

    Args:
        kind: The catalog kind (``string``, ``integer``, ``decimal``, ``boolean``...).
        value: What the client sent (a string from XML; any JSON scalar from JSON).

    Returns:
        The value to store; None stays None.

    Raises:
        KindError: The value does not fit the kind.
    """
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise KindError("must be a single value")
    if kind in ("string", "text"):
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if isinstance(value, str) and value.strip() == "" and kind != "boolean":
        return None
    if kind == "integer":
        if isinstance(value, bool):
            raise KindError("is not a number")
        number = _decimal(value)
        if number != number.to_integral_value():
            raise KindError("must be an integer")
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise KindError("is out of range")
        return int(number)
    if kind == "decimal":
        number = _decimal(value)
        if number.adjusted() > _MAX_MAGNITUDE:
            raise KindError("is out of range")
        return format(number, "f")
    if kind == "float":
        number = _decimal(value)
        if number.adjusted() > _MAX_MAGNITUDE:
            raise KindError("is out of range")
        return float(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS or word == "":
            return False
        raise KindError("is not a boolean (true or false)")
    if kind == "datetime":
        return parse_instant(str(value))
    if kind == "date":
        return parse_instant(str(value))[:10]
    return value
