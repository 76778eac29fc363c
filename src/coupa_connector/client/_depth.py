"""Nesting-depth bounds for the bodies a server sends, checked before anything recurses.

A body nested a hundred thousand levels deep is a few hundred kilobytes, well within the
size bound, yet every recursive step after it (the C decoders, our XML decoder, secret
masking, CSV flattening, XML and JSON output) would fail with a ``RecursionError``, or, in the
XML parser, build a hundred thousand nested dicts first. Real Coupa records nest about ten
levels (invoice, lines, account, account type, custom fields ...), so the bound is generous
and refusals are for broken or hostile servers only.

``MAX_DEPTH`` is 128, as serde_json's default recursion limit: deeper than anything Coupa
sends, and shallow enough that everything downstream stays inside Python's recursion limit
and orjson's own serialisation limit of 255 levels (a record we read must be writable).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from xml.parsers import expat

MAX_DEPTH = 128

# The JSON structure without its content: brackets ({} folded into []), string quotes and
# the backslashes that may escape them.
_FOLD = bytes.maketrans(b"{}", b"[]")
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"\\')
_QUOTE_OR_BACKSLASH_ESCAPE = re.compile(rb'\\["\\]')


def json_too_deep(content: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when a JSON document nests arrays and objects more than ``limit`` levels deep.

    Byte operations only, no Python loop over the body: keep the brackets and the quotes,
    drop what is inside strings (brackets there are text), then peel the innermost ``[]``
    pairs off, one level per pass, at most ``limit`` passes. A page of 50 invoices costs
    about one pass over its bytes.

    A body that is not valid JSON may come back False; the decoder then says what is wrong
    with it. One that opens more than ``limit`` containers it never closes comes back True,
    since a decoder would recurse that deep before noticing.
    """
    if len(content) <= 2 * limit:
        return False  # each level takes two bytes
    marks = content.translate(_FOLD, _NOT_MARKS)
    if b"\\" in marks:
        if _QUOTE_OR_BACKSLASH_ESCAPE.search(content):
            # Only \\ and \" can move where a string ends: drop both pairs from the body,
            # left to right as a decoder reads them, and take the marks again.
            if b"\\\\" in marks:
                content = content.replace(b"\\\\", b"")
            content = content.replace(b'\\"', b"")
            marks = content.translate(_FOLD, _NOT_MARKS)
        marks = marks.translate(None, b"\\")  # the other escapes (\n, \u00e9) are text
    quotes = marks.count(b'"')
    if quotes == 2 * marks.count(b'""'):
        # Every string's quotes are adjacent here, so no string holds a bracket.
        marks = marks.translate(None, b'"')
    else:
        # Dropping adjacent quotes merges neighbouring strings and keeps the brackets between
        # the others as they were; what is left between quote pairs is inside strings.
        marks = b"".join(marks.replace(b'""', b"").split(b'"')[::2])
    if marks.count(b"[") <= limit:
        return False
    run = b"[" * (limit + 1)
    for _ in range(limit):
        if run in marks:
            return True
        peeled = marks.replace(b"[]", b"")
        if not peeled:
            return False
        if len(peeled) == len(marks):
            return peeled.count(b"[") > limit  # unbalanced: invalid, but maybe deep
        marks = peeled
    return bool(marks)


class XmlTooDeep(ValueError):
    """An XML document nested deeper than the bound; raised from inside the parser."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"elements nested more than {limit} levels deep")
        self.limit = limit


class _DepthCountingParser:
    """An expat parser whose element handlers count depth and stop past the bound.

    Stands in for the parser xmltodict makes (it sets handlers and options as attributes,
    then calls ``Parse``), so the check costs one counter per element and fails at the first
    element too deep, before the rest of the document is read or built.
    """

    def __init__(self, parser: Any, limit: int) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_limit", limit)
        object.__setattr__(self, "_depth", 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            value = self._counting_start(value)
        elif name == "EndElementHandler":
            value = self._counting_end(value)
        setattr(self._parser, name, value)

    def _counting_start(self, handler: Callable[..., None]) -> Callable[..., None]:
        def start(name: str, attrs: Any) -> None:
            depth = self._depth + 1
            if depth > self._limit:
                raise XmlTooDeep(self._limit)
            object.__setattr__(self, "_depth", depth)
            handler(name, attrs)

        return start

    def _counting_end(self, handler: Callable[..., None]) -> Callable[..., None]:
        def end(name: str) -> None:
            object.__setattr__(self, "_depth", self._depth - 1)
            handler(name)

        return end


def depth_limited_expat(limit: int = MAX_DEPTH) -> Any:
    """An ``expat`` module stand-in for ``xmltodict.parse(..., expat=...)`` whose parsers raise
    ``XmlTooDeep`` at the first element nested deeper than ``limit``."""

    def parser_create(*args: Any, **kwargs: Any) -> _DepthCountingParser:
        return _DepthCountingParser(expat.ParserCreate(*args, **kwargs), limit)

    return SimpleNamespace(ParserCreate=parser_create, ExpatError=expat.ExpatError)
