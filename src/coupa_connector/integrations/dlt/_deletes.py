"""Tombstones for dlt: records that vanished from Coupa, deleted from the destination.

With ``detect_deletes=PATH`` a resource, after its records, fetches the ids its query
matches now (``return_object=limited``) and compares them with the ids it has loaded
before; each one gone becomes a tombstone ``{"id", "_deleted": true,
"_deleted_detected_at"}``. The root table's ``_deleted`` column carries dlt's
``hard_delete`` hint, so the merge removes the row.

The ids loaded so far are an id set file (``operations._deletes``). A load can fail after
the resource has yielded everything, and dlt then keeps its state as it was; so each run
writes the new set as a new generation (``PATH.<n>``) and only records ``n`` in the
resource's dlt state, which dlt commits with the load. A failed load leaves the state at the
previous generation, whose file is still there: the next run finds the same tombstones.
Generations older than the one in force are removed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from coupa_connector.operations._deletes import (
    DELETED,
    DETECTED_AT,
    IdSet,
    merged,
    tombstone,
    vanished,
)

__all__ = ["DELETE_COLUMNS", "Tombstones"]

GENERATION = "coupa_ids_generation"

# The root table's columns for tombstones: a merge deletes the rows whose _deleted is true.
DELETE_COLUMNS: dict[str, dict[str, Any]] = {
    DELETED: {"name": DELETED, "data_type": "bool", "hard_delete": True},
    DETECTED_AT: {"name": DETECTED_AT, "data_type": "timestamp", "timezone": True},
}


class Tombstones:
    """One resource run's delete detection.

    Args:
        path: The id set's path (generations are ``path.<n>``).
        obj: The object's catalog name.
        state: The resource's dlt state (``dlt.current.resource_state()``).
    """

    def __init__(self, path: str | os.PathLike[str], obj: str, state: MutableMapping[str, Any]):
        self.path = Path(path)
        self.obj = obj
        self.state = state
        self.generation = int(state.get(GENERATION, 0))

    def _ids(self, generation: int) -> IdSet:
        return IdSet(f"{self.path}.{generation}", self.obj)

    def run(self, delivered: Iterable[int], now: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The tombstones, then the next generation of the id set, recorded in the state."""
        from array import array

        before = self._ids(self.generation).load() if self.generation else None
        current = array("q", sorted(now))
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        gone = list(vanished(before, current)) if before is not None else []
        for rid in gone:
            yield tombstone(rid, stamp)
        following = self.generation + 1
        self._ids(following).save(merged(before, delivered, gone))
        self.state[GENERATION] = following
        self._prune(keep={self.generation, following})

    def _prune(self, keep: set[int]) -> None:
        for old in self.path.parent.glob(f"{self.path.name}.*"):
            suffix = old.name.rsplit(".", 1)[-1]
            if suffix.isdigit() and int(suffix) not in keep and int(suffix) < max(keep):
                old.unlink(missing_ok=True)
