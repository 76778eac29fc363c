"""A page's records, kept as Coupa sent them until something needs them as dicts.

Building Python objects is most of what a client spends on a page of full records (50
invoices with lines are some 50,000 objects), and an extract to JSON Lines only turns them
back into the bytes it was sent. So a JSON page is first decoded for its records' ids alone,
which is all the pager and the de-duplication need (the rest of each record is validated and
skipped). JSON output then splits the body into each record's own text (``msgspec.Raw``
points into the body without copying) and writes it as it came; the records become dicts
only when asked for (the query iterator, CSV and XML output, transforms), in one pass.

A body that is not a JSON list of objects is left to the full decoder, whose errors say what
was wrong.

Depth: the records become dicts only under the wire codecs' nesting bound (``MAX_DEPTH``).
The id scan and the split do not pay for that check on every page: they build nothing
nested, and msgspec's own recursion guard stops a body deeper than Python's recursion limit
allows (a hundred thousand levels, say), which is refused with the same error. Records that
are only split keep their text as Coupa sent it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import orjson

from coupa_connector.client._depth import json_too_deep
from coupa_connector.client._wire import DecodeError, too_deep


class _Key(msgspec.Struct):
    # Only the id is decoded; every other field is skipped without building objects.
    id: Any = None


_SPLIT = msgspec.json.Decoder(list[msgspec.Raw])
_KEYS = msgspec.json.Decoder(list[_Key])

Line = bytes | msgspec.Raw


class RecordBatch:
    """The records of one page, in the server's order.

    Build one with ``of`` (decoded records) or ``from_json`` (a JSON body, split lazily).

    Attributes:
        ids: Each record's ``id`` as sent (None when a record has none).
    """

    __slots__ = ("_content", "_lines", "_records", "ids")

    def __init__(
        self,
        ids: list[Any],
        *,
        content: bytes | None = None,
        records: list[dict[str, Any]] | None = None,
        lines: Sequence[Line] | None = None,
    ) -> None:
        self.ids = ids
        self._content = content
        self._records = records
        self._lines = lines

    @classmethod
    def of(cls, records: list[dict[str, Any]]) -> RecordBatch:
        """A batch of already decoded records."""
        ids = [r.get("id") if isinstance(r, dict) else None for r in records]
        return cls(ids, records=records)

    @classmethod
    def from_json(cls, content: bytes) -> RecordBatch | None:
        """A batch over a JSON body, with only the ids decoded.

        Returns:
            The batch, or None when the body is not a JSON list of objects (the caller's full
            decoder then says what it is).

        Raises:
            DecodeError: The body is not valid JSON, not UTF-8, or nested too deep.
        """
        if not content.isascii():
            try:
                content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError(f"Coupa sent a body that is not UTF-8 ({exc}).") from None
        try:
            keys = _KEYS.decode(content)
        except RecursionError:
            raise too_deep("a JSON") from None
        except msgspec.ValidationError:
            return None
        except msgspec.DecodeError as exc:
            raise DecodeError(f"Coupa sent a body that is not valid JSON ({exc}).") from None
        return cls([k.id for k in keys], content=content)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records as dicts (decoded on first use)."""
        if self._records is None:
            texts = [self._content] if self._content is not None else map(bytes, self._lines or ())
            if any(json_too_deep(text) for text in texts):
                raise too_deep("a JSON")
            try:
                if self._lines is not None:
                    self._records = [orjson.loads(memoryview(line)) for line in self._lines]
                else:
                    assert self._content is not None
                    self._records = orjson.loads(self._content)
            except orjson.JSONDecodeError as exc:
                raise DecodeError(f"Coupa sent a body that is not valid JSON ({exc}).") from None
        return self._records

    def _split(self) -> Sequence[Line] | None:
        if self._lines is None and self._content is not None:
            try:
                raws = _SPLIT.decode(self._content)
            except RecursionError:
                raise too_deep("a JSON") from None
            if b"\n" in self._content or b"\r" in self._content:
                # Pretty-printed: line breaks can only be whitespace between tokens (JSON
                # strings carry them escaped), and a JSON Lines record must be one line.
                self._lines = [bytes(r).replace(b"\r", b" ").replace(b"\n", b" ") for r in raws]
            else:
                self._lines = raws
        return self._lines

    def json_lines(self) -> Iterator[Line]:
        """Each record as one line of JSON text (without the line break)."""
        lines = self._split()
        if lines is not None:
            return iter(lines)
        return (orjson.dumps(r) for r in self.records)

    def pick(self, indexes: Sequence[int]) -> RecordBatch:
        """The records at ``indexes`` (in that order), as a batch."""
        if len(indexes) == len(self.ids) and all(i == n for n, i in enumerate(indexes)):
            return self
        lines = self._split() if self._records is None else self._lines
        return RecordBatch(
            [self.ids[i] for i in indexes],
            records=None if self._records is None else [self._records[i] for i in indexes],
            lines=None if lines is None else [lines[i] for i in indexes],
        )

    def head(self, count: int) -> RecordBatch:
        """The first ``count`` records."""
        return self if count >= len(self.ids) else self.pick(range(max(0, count)))


def fresh_indexes(ids: Sequence[Any], seen: set[Any]) -> list[int]:
    """Positions of the records whose id is not in ``seen``, adding those ids to it.

    A record without an id cannot be recognised again, so it always counts as fresh.
    """
    keep: list[int] = []
    for index, key in enumerate(ids):
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        keep.append(index)
    return keep
