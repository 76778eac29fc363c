"""HTML built from templates where every value is escaped unless it is already ``Markup``.

Escaping is the default by construction: ``html(template, **values)`` escapes each value it
puts into the template, and only ``Markup`` (what ``html`` and ``join`` return) passes
through unchanged. Nothing else in the console makes ``Markup`` from text, so text from the
operation log, a record, a debug log or a file can only ever reach a page escaped.
"""

from __future__ import annotations

import html as _stdlib_html
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Markup", "escape", "html", "join"]


class Markup(str):
    """Text that is HTML already: never escaped again."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """``value`` as HTML text: ``&<>"'`` escaped, unless it is ``Markup`` already."""
    if isinstance(value, Markup):
        return value
    return Markup(_stdlib_html.escape("" if value is None else str(value), quote=True))


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Markup):
            return value
        return escape(format(value, format_spec))

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        # Templates name their values plainly: no attribute or index lookups in them.
        if not field_name.isidentifier():
            raise ValueError(f"template field {field_name!r} must be a plain name")
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _EscapingFormatter()


def html(template: str, /, **values: Any) -> Markup:
    """Fill ``{name}`` fields of ``template`` with escaped ``values``.

    Args:
        template: HTML written in the console's code (never data), with ``{name}`` fields.
        **values: The values; ``Markup`` goes in as it is, anything else escaped.
    """
    return Markup(_FORMATTER.vformat(template, (), values))


def join(parts: Iterable[object], sep: str = "") -> Markup:
    """Escaped ``parts`` joined by ``sep`` (itself HTML from the console's code)."""
    return Markup(Markup(sep).join(escape(p) for p in parts))
