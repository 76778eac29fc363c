"""Deletes: what vanished from Coupa since the last run, found by comparing ids.

Coupa has no change feed for removals (lines deleted from POs, records purged), and a
watermark on ``updated-at`` never sees a record that is gone. With ``detect_deletes`` a
Coupa query source fetches the ids of every record its query matches now, cheaply
(``return_object=limited``: one small page of ids per 50 records, over the same keyset
partitions as the extract), and compares them with the ids it has delivered before. Each
delivered id that no longer matches becomes a **tombstone**::

    {"id": 1234, "_deleted": true, "_deleted_detected_at": "2026-05-06T07:08:09+00:00"}

The ids delivered so far are an ``IdSet`` file: a small header naming the object, then the
ids as sorted little-endian 64-bit integers (8 bytes an id: 100,000 ids are 800 kB, read and
compared in one pass, never a JSON list). It is written to a temporary file and renamed into
place only when the run has delivered everything, so a run that fails keeps the previous set
and the next run finds the same tombstones again.

What "vanished" means: the id is no longer among the records the source's query matches. A
record that leaves the query's ``where`` (a status filter, say) is gone from the target's
point of view and gets a tombstone too; the incremental window is not applied to the id
fetch (it would leave out every record that did not change).
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import os
import sys
import tempfile
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from coupa_connector.errors import ConfigurationError

__all__ = [
    "DELETED",
    "DETECTED_AT",
    "DeleteDetector",
    "IdSet",
    "collect_ids",
    "current_ids",
    "ids_path",
    "is_tombstone",
    "merged",
    "operation_ids_path",
    "tombstone",
    "vanished",
]

DELETED = "_deleted"
DETECTED_AT = "_deleted_detected_at"
_MAGIC = b"COUPAIDS"
_VERSION = 1
_HEADER = len(_MAGIC) + 4 + 2  # magic, version (u32), object name length (u16)
_ITEM = 8


def tombstone(rid: int, detected_at: str) -> dict[str, Any]:
    """The record that says a Coupa record vanished."""
    return {"id": rid, DELETED: True, DETECTED_AT: detected_at}


def is_tombstone(record: Mapping[str, Any]) -> bool:
    """Whether a record is a tombstone (the source said so, not a field of Coupa's)."""
    return record.get(DELETED) is True


def _ids(values: Iterable[int]) -> array[int]:
    return array("q", values)


def _sorted(values: array[int]) -> array[int]:
    if all(values[i] < values[i + 1] for i in range(len(values) - 1)):
        return values
    return _ids(sorted(set(values)))


class IdSet:
    """The ids an operation has delivered for one object, kept in a sorted array file.

    Args:
        path: The file (created on the first ``save``).
        obj: The object the ids belong to; a file of another object is refused.
    """

    def __init__(self, path: str | os.PathLike[str], obj: str) -> None:
        self.path = Path(path)
        self.obj = obj

    def load(self) -> array[int] | None:
        """The ids saved last, sorted; None when the file does not exist yet.

        Raises:
            ConfigurationError: The file is not an id set, or one of another object.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(f"cannot read the id set {self.path}: {exc}") from None
        name_len = int.from_bytes(data[_HEADER - 2 : _HEADER], "little")
        start = _HEADER + name_len
        if (
            data[: len(_MAGIC)] != _MAGIC
            or int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 4], "little") != _VERSION
            or len(data) < start
            or (len(data) - start) % _ITEM
        ):
            raise ConfigurationError(
                f"{self.path} is not an id set of this version (written by detect_deletes); "
                "remove it to start the comparison afresh"
            )
        owner = data[_HEADER:start].decode("utf-8", "replace")
        if owner != self.obj:
            raise ConfigurationError(
                f"{self.path} holds the ids of {owner}, not of {self.obj}; give each object "
                "a state file of its own"
            )
        ids = array("q")
        ids.frombytes(data[start:])
        if sys.byteorder != "little":
            ids.byteswap()
        return ids

    def save(self, ids: array[int]) -> None:
        """Replace the saved ids (sorted, without repeats) atomically."""
        ids = _sorted(ids)
        if sys.byteorder != "little":
            ids = array("q", ids)
            ids.byteswap()
        name = self.obj.encode()
        header = _MAGIC + _VERSION.to_bytes(4, "little") + len(name).to_bytes(2, "little")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header + name)
                ids.tofile(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def vanished(before: array[int], now: array[int]) -> Iterator[int]:
    """Ids of ``before`` missing from ``now`` (both sorted), in order: one merge pass."""
    j, n = 0, len(now)
    for rid in before:
        while j < n and now[j] < rid:
            j += 1
        if j >= n or now[j] != rid:
            yield rid


def merged(before: array[int] | None, delivered: Iterable[int], gone: Iterable[int]) -> array[int]:
    """The ids delivered so far after a run: ``before`` and this run's, less the vanished.

    One merge of sorted runs: memory holds the result and this run's ids, not sets of all.
    """
    drop = _ids(sorted(set(gone)))
    out = array("q")
    last: int | None = None
    j, n = 0, len(drop)
    for rid in heapq.merge(before or (), sorted(set(delivered))):
        if rid == last:
            continue
        last = rid
        while j < n and drop[j] < rid:
            j += 1
        if j < n and drop[j] == rid:
            continue
        out.append(rid)
    return out


class DeleteDetector:
    """One run's comparison: the tombstones, then the id set to keep for the next run.

    Args:
        ids: Where the delivered ids are kept.
        detected_at: The run's time, stamped on its tombstones.
    """

    def __init__(self, ids: IdSet, detected_at: str) -> None:
        self.ids = ids
        self.detected_at = detected_at
        self.before = ids.load()
        self.gone: array[int] = array("q")

    @property
    def first(self) -> bool:
        """No ids were kept before: this run sets the baseline and finds nothing gone."""
        return self.before is None

    def tombstones(self, now: array[int]) -> Iterator[dict[str, Any]]:
        """A tombstone for each id delivered before that ``now`` (sorted) lacks."""
        self.gone = array("q")
        if self.before is None:
            return
        for rid in vanished(self.before, now):
            self.gone.append(rid)
            yield tombstone(rid, self.detected_at)

    def commit(self, delivered: Iterable[int]) -> int:
        """Keep the ids delivered so far (call once the run's output is final); returns
        how many are kept."""
        kept = merged(self.before, delivered, self.gone)
        self.ids.save(kept)
        return len(kept)


def operation_ids_path(option: Any, base_dir: Path, operation: str, obj: str, scope: str) -> Path:
    """Where an operation's ``detect_deletes`` keeps its ids: ``{state: PATH}`` (relative
    to the operation file), else ``.coupa-state/<operation>-<object>-<scope hash>.ids``
    beside the file. The scope (the instance and the target) is in the name, as it is in a
    watermark's: a trial run against the sandbox never touches the real instance's ids."""
    if isinstance(option, Mapping) and option.get("state"):
        return base_dir / str(option["state"])
    digest = hashlib.sha256(scope.encode()).hexdigest()[:12]
    return base_dir / ".coupa-state" / f"{operation}-{obj}-{digest}.ids"


def ids_path(state: str | os.PathLike[str]) -> Path:
    """Where ``coupa query --detect-deletes --state FILE`` keeps the ids: ``FILE.ids``."""
    return Path(f"{os.fspath(state)}.ids")


async def current_ids(conn: Any, spec: Any, concurrency: int | None = None) -> array[int]:
    """Every id a validated query (``QuerySpec``) matches now, sorted: its pages asked for
    with ``return_object=limited`` and no projection, over the same keyset partitions."""
    from coupa_connector.activities.query import query_pages

    limited = dataclasses.replace(spec, fields=None, return_object="limited", limit=None)
    return await collect_ids(query_pages(conn, spec.obj, spec=limited, concurrency=concurrency))


async def collect_ids(pages: AsyncIterator[Any]) -> array[int]:
    """Every id of a ``return_object=limited`` query's pages, sorted.

    Keyset partitions deliver their pages interleaved, so the ids are sorted once at the
    end (ids are unique across partitions by construction).
    """
    ids = array("q")
    async for page in pages:
        for value in page.batch.ids:
            if value is not None:
                ids.append(int(value))
    return _ids(sorted(ids))
