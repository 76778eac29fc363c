"""Dates and times as Coupa reads them, in bodies and in query parameters.

Coupa's back end is Rails, which reads more than strict ISO 8601, and Coupa's own
documentation relies on it: ``updated-at[gt]=2011-01-1`` (a one-digit day), ``'2015-04-16
22:00:00'`` (a space before the time, in quotes). What Rails reads is accepted here, so that
nothing Coupa takes is refused before it is sent:

- a date ``YYYY-M-D`` with one- or two-digit month and day;
- optionally a time after ``T`` or a space: ``H:MM``, ``H:MM:SS``, with a fraction of a second;
- optionally a zone: ``Z``, ``UTC``, ``GMT``, ``+07:00``, ``+0700`` or ``+07``.

The date must exist (no 2024-02-30) and the time be a time of day.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["coupa_datetime"]

_DATETIME = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


def coupa_datetime(text: str) -> dt.date | dt.datetime | None:
    """The date (no time given) or datetime ``text`` stands for as Coupa reads it, or None
    when Coupa would not read it as one. Quotes around the value are taken off."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    match = _DATETIME.fullmatch(value)
    if match is None:
        return None
    try:
        day = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is None:
            return day if match["z"] is None else None
        fraction = (match["f"] or "0")[:6].ljust(6, "0")
        return dt.datetime(
            day.year,
            day.month,
            day.day,
            int(match["H"]),
            int(match["M"]),
            int(match["S"] or 0),
            int(fraction),
            tzinfo=_zone(match["z"]),
        )
    except ValueError:
        return None


def _zone(text: str | None) -> dt.tzinfo | None:
    if text is None:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("no such offset")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if text[0] == "-" else offset)
