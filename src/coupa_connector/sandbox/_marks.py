"""Marks in a record's kept rendering (its skeleton) for what is filled in when it is served.

A skeleton is a record's JSON with two kinds of marks, each between NUL bytes (JSON text
never holds a raw NUL: the serializer escapes control characters, so a NUL is always a
mark's edge):

* a reference to a stored record, ``R<object>\\x01<id>`` (then ``\\x01`` and the value as
  stored when it holds more than the id), filled in with the referenced record's embedded
  rendering as the store holds it when served, or with the stored value if it is gone;
* the fields a record does not set, ``T<n>``: the JSON of a shape's unset fields (from the
  first one's value on: the mark is that field's value), kept once per process instead of
  once per record (most of an invoice's rendering is nulls).

``skeleton.split(MARK)`` gives the literal JSON at even positions and the marks at odd ones.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

__all__ = [
    "MARK",
    "RefMark",
    "is_tail",
    "parse_ref",
    "plain_ref_marks",
    "ref_mark",
    "tail_mark",
    "tail_of",
]

MARK = b"\x00"
_SEP = b"\x01"
_REF = b"R"
_TAIL = ord("T")

# A reference mark, parsed: (object, id, the JSON to show if the record is gone).
RefMark = tuple[str, int, bytes]

_tails: list[bytes] = []
_tail_marks: dict[bytes, bytes] = {}
_tails_lock = threading.Lock()


def tail_mark(tail: bytes) -> bytes:
    """The mark of a shape's unset fields, the same for the same JSON."""
    found = _tail_marks.get(tail)
    if found is None:
        with _tails_lock:
            found = _tail_marks.get(tail)
            if found is None:
                _tails.append(tail)
                found = MARK + b"T" + str(len(_tails) - 1).encode() + MARK
                _tail_marks[tail] = found
    return found


def is_tail(mark: bytes) -> bool:
    return mark[0] == _TAIL


def tail_of(mark: bytes) -> bytes:
    """The JSON a tail mark (as split out, without its NULs) stands for."""
    return _tails[int(mark[1:])]


# Marks of plain references ({"id": N}), made once: a seed marks millions of references to a
# few thousand records. Bounded (let go whole) for stores of any size.
_plain_refs: dict[tuple[str, object], orjson.Fragment] = {}
_MAX_PLAIN_REFS = 50_000


def plain_ref_marks() -> dict[tuple[str, object], orjson.Fragment]:
    """The marks of plain references made so far, by (object, id), for a hot loop to look
    up before it calls ``ref_mark``."""
    return _plain_refs


def ref_mark(target: str, value: dict[str, Any]) -> orjson.Fragment | dict[str, Any]:
    """The mark of a stored value referring to a record of ``target`` (``{"id": 7}``), as a
    fragment for the serializer; a value without an integer id is shown as stored."""
    rid = value.get("id")
    if rid.__class__ is not int:
        return value
    plain = len(value) == 1
    if plain:
        found = _plain_refs.get((target, rid))
        if found is not None:
            return found
    mark = MARK + _REF + target.encode() + _SEP + str(rid).encode()
    if not plain:
        return orjson.Fragment(mark + _SEP + orjson.dumps(value) + MARK)
    fragment = orjson.Fragment(mark + MARK)
    if len(_plain_refs) >= _MAX_PLAIN_REFS:
        _plain_refs.clear()  # in place: hot loops hold the dict itself
    _plain_refs[(target, rid)] = fragment
    return fragment


def parse_ref(mark: bytes) -> RefMark:
    """A reference mark split out of a skeleton: its object, id and stored value."""
    target, rid, *stored = mark[1:].split(_SEP, 2)
    number = int(rid)
    return target.decode(), number, stored[0] if stored else b'{"id":%d}' % number
