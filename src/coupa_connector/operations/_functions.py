"""The helper functions a transformation's JMESPath expressions can call.

JMESPath's own functions (``join``, ``to_string``, ``contains``, ``length`` ...) are all there;
these add what integration mappings need: defaults, conditions, dates, numbers, text, and
cached lookups in a small CSV file or in Coupa. Nothing here evaluates code.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, cast

from jmespath import functions

from coupa_connector.errors import CoupaError

__all__ = [
    "FUNCTION_HELP",
    "CoupaLookup",
    "TransformFunctions",
    "TransformValueError",
    "truthy",
]

# (object, key field, key value, field to return) -> the value, or None when not found.
CoupaLookup = Callable[[str, str, str, str], Any]


class TransformValueError(ValueError):
    """A helper given a value it cannot work with; the message says which and why."""


FUNCTION_HELP: dict[str, str] = {
    "default(value, fallback)": "value, or fallback when value is null or empty text",
    "coalesce(a, b, ...)": "the first argument that is not null or empty text",
    "if(condition, then, else)": "then when condition is truthy, else otherwise (false, null, "
    "empty text, [] and {} are false; 0 is true; only the branch chosen is evaluated)",
    "fail(message)": "reject the record with this message (use inside if)",
    "concat(a, b, ...)": "the arguments as text, joined; nulls are skipped",
    "format_date(value, format)": "a date/datetime (ISO text) formatted with strftime codes",
    "parse_date(text, format)": "text read with strptime codes, as ISO 8601",
    "now()": "the current UTC time, ISO 8601",
    "format_number(value, decimals)": "a number as text with exactly that many decimals",
    "to_decimal(value)": "a number or numeric text (thousands commas allowed) as decimal text",
    "to_integer(value)": "a number or numeric text as an integer",
    "upper(text)": "upper case",
    "lower(text)": "lower case",
    "trim(text)": "without surrounding white space",
    "replace(text, old, new)": "every old replaced by new",
    "split(text, separator)": "a list of the parts",
    "substring(text, start, length)": "part of the text (0-based start)",
    "lookup_csv(file, key_column, value_column, key[, encoding])": "value_column of the CSV "
    "row whose key_column equals key, null when none (the file is read once; UTF-8 unless "
    "an encoding such as 'cp1252' is given)",
    "lookup_coupa(object, key_field, key, return_field)": "return_field of the Coupa record "
    "whose key_field equals key, null when none (each key is asked once per run)",
}

_ANY: dict[str, Any] = {"types": []}
_TEXT: dict[str, Any] = {"types": ["string"]}
_TEXT_OR_NULL: dict[str, Any] = {"types": ["string", "null"]}
_NUMBER: dict[str, Any] = {"types": ["number"]}

F = TypeVar("F", bound=Callable[..., Any])
# jmespath ships no type hints; this gives its decorator one.
signature = cast(Callable[..., Callable[[F], F]], functions.signature)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, "", [] and {} are false; anything else, 0 too, is true.

    Python's own truthiness differs (``0 == False``), so no ``in``/``bool()`` shortcut here.
    """
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_when(value: Any) -> datetime | date:
    """Read an ISO 8601 date or datetime (``Z`` allowed).

    Raises:
        TransformValueError: Not a date or datetime.
    """
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TransformValueError(f"{value!r} is not an ISO 8601 date or datetime") from None


def to_decimal(value: Any) -> Decimal:
    """Read a number or numeric text; thousands commas and surrounding spaces are allowed.

    Raises:
        TransformValueError: Not a number.
    """
    if isinstance(value, bool):
        raise TransformValueError(f"{value!r} is not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise TransformValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise TransformValueError(f"{value!r} is not a finite number")
    return number


class TransformFunctions(functions.Functions):  # type: ignore[misc]
    """JMESPath custom functions; one instance per transformation (it holds the caches).

    Args:
        base_dir: Folder that relative ``lookup_csv`` paths are resolved against.
        coupa_lookup: Answers ``lookup_coupa``; None when the run has no Coupa connection.
    """

    def __init__(self, base_dir: Path, coupa_lookup: CoupaLookup | None = None) -> None:
        super().__init__()
        self._base_dir = base_dir
        self._coupa_lookup = coupa_lookup
        self._csv_cache: dict[tuple[str, str, str, str], dict[str, str]] = {}
        self._coupa_cache: dict[tuple[str, str, str, str], Any] = {}

    # ----------------------------------------------------------------- values and conditions

    @signature(_ANY, _ANY)
    def _func_default(self, value: Any, fallback: Any) -> Any:
        return fallback if _blank(value) else value

    @signature({"types": [], "variadic": True})
    def _func_coalesce(self, *values: Any) -> Any:
        return next((v for v in values if not _blank(v)), None)

    @signature(_ANY, _ANY, _ANY)
    def _func_if(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return then if truthy(condition) else otherwise

    @signature(_TEXT)
    def _func_fail(self, message: str) -> Any:
        raise TransformValueError(message)

    # ----------------------------------------------------------------- text

    @signature({"types": [], "variadic": True})
    def _func_concat(self, *values: Any) -> str:
        return "".join(_text(v) for v in values if v is not None)

    @signature(_TEXT_OR_NULL)
    def _func_upper(self, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @signature(_TEXT_OR_NULL)
    def _func_lower(self, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @signature(_TEXT_OR_NULL)
    def _func_trim(self, value: str | None) -> str | None:
        return None if value is None else value.strip()

    @signature(_TEXT_OR_NULL, _TEXT, _TEXT)
    def _func_replace(self, value: str | None, old: str, new: str) -> str | None:
        return None if value is None else value.replace(old, new)

    @signature(_TEXT_OR_NULL, _TEXT)
    def _func_split(self, value: str | None, sep: str) -> list[str] | None:
        if value is None:
            return None
        if not sep:
            raise TransformValueError("split needs a non-empty separator")
        return value.split(sep)

    @signature(_TEXT_OR_NULL, _NUMBER, _NUMBER)
    def _func_substring(self, value: str | None, start: float, length: float) -> str | None:
        if value is None:
            return None
        begin = int(start)
        return value[begin : begin + int(length)]

    # ----------------------------------------------------------------- dates

    @signature(_TEXT_OR_NULL, _TEXT)
    def _func_format_date(self, value: str | None, fmt: str) -> str | None:
        if _blank(value):
            return None
        return parse_when(value).strftime(fmt)

    @signature(_TEXT_OR_NULL, _TEXT)
    def _func_parse_date(self, value: str | None, fmt: str) -> str | None:
        if _blank(value):
            return None
        assert value is not None
        try:
            parsed = datetime.strptime(value.strip(), fmt)
        except ValueError:
            raise TransformValueError(f"{value!r} does not match the date format {fmt!r}") from None
        has_time = bool(re.search(r"%[HIMSfp]", fmt))
        return parsed.isoformat() if has_time else parsed.date().isoformat()

    @signature()
    def _func_now(self) -> str:
        return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    # ----------------------------------------------------------------- numbers

    @signature({"types": ["string", "number", "null"]}, _NUMBER)
    def _func_format_number(self, value: Any, decimals: float) -> str | None:
        if _blank(value):
            return None
        places = int(decimals)
        if places < 0:
            raise TransformValueError("format_number needs 0 or more decimals")
        quantum = Decimal(1).scaleb(-places)
        return str(to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))

    @signature({"types": ["string", "number", "null"]})
    def _func_to_decimal(self, value: Any) -> str | None:
        if _blank(value):
            return None
        number = to_decimal(value)
        # Coupa sends decimals as text; keep the given precision but no exponent notation.
        return format(number, "f")

    @signature({"types": ["string", "number", "null"]})
    def _func_to_integer(self, value: Any) -> int | None:
        if _blank(value):
            return None
        number = to_decimal(value)
        if number != number.to_integral_value():
            raise TransformValueError(f"{value!r} is not a whole number")
        return int(number)

    # ----------------------------------------------------------------- lookups

    # The key takes the last place JMESPath lets vary: an encoding may follow it.
    @signature(_TEXT, _TEXT, _TEXT, {"types": [], "variadic": True})
    def _func_lookup_csv(
        self, file: str, key_col: str, value_col: str, key: Any, *encoding: Any
    ) -> Any:
        if len(encoding) > 1 or not all(isinstance(e, str) for e in encoding):
            raise TransformValueError(
                "lookup_csv takes (file, key_column, value_column, key[, encoding]); "
                "the encoding is text such as 'cp1252'"
            )
        if _blank(key):
            return None
        text_encoding: str = encoding[0] if encoding else "utf-8"
        cache_key = (file, key_col, value_col, text_encoding)
        table = self._csv_cache.get(cache_key)
        if table is None:
            table = self._load_csv(file, key_col, value_col, text_encoding)
            self._csv_cache[cache_key] = table
        return table.get(_text(key).strip())

    def _load_csv(
        self, file: str, key_col: str, value_col: str, encoding: str = "utf-8"
    ) -> dict[str, str]:
        path = Path(file)
        if not path.is_absolute():
            path = self._base_dir / path
        if not path.is_file():
            raise TransformValueError(f"lookup_csv: no such file {str(path)!r}")
        from coupa_connector.operations.files._text_input import TextInput, open_text

        def checked(stream: TextInput) -> Iterator[str]:
            for line in stream:
                problem = stream.problem(line, stream.line_start)
                if problem is not None:
                    raise TransformValueError(f"lookup_csv: {path}:{stream.lines}: {problem}")
                yield line

        try:
            with open_text(str(path), encoding) as stream:
                reader = csv.DictReader(checked(stream))
                columns = reader.fieldnames or []
                for col in (key_col, value_col):
                    if col not in columns:
                        raise TransformValueError(
                            f"lookup_csv: {path.name} has no column {col!r} "
                            f"(columns: {', '.join(columns)})"
                        )
                return {row[key_col].strip(): row[value_col] for row in reader if row.get(key_col)}
        except csv.Error as exc:
            raise TransformValueError(f"lookup_csv: {path}: bad CSV: {exc}") from None
        except CoupaError as exc:
            raise TransformValueError(f"lookup_csv: {exc}") from None

    @signature(_TEXT, _TEXT, _ANY, _TEXT)
    def _func_lookup_coupa(self, obj: str, key_field: str, key: Any, return_field: str) -> Any:
        if _blank(key):
            return None
        if self._coupa_lookup is None:
            raise TransformValueError("lookup_coupa needs a Coupa connection for this operation")
        cache_key = (obj, key_field, _text(key), return_field)
        if cache_key not in self._coupa_cache:
            self._coupa_cache[cache_key] = self._coupa_lookup(
                obj, key_field, _text(key), return_field
            )
        return self._coupa_cache[cache_key]

    @classmethod
    def names(cls) -> frozenset[str]:
        """Every function name an expression may call, JMESPath's own included."""
        return frozenset(n[len("_func_") :] for n in dir(cls) if n.startswith("_func_"))
