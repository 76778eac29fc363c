"""Delete detection's parts: the id set file, the comparison and the kept ids."""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest

from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._deletes import (
    DeleteDetector,
    IdSet,
    is_tombstone,
    merged,
    tombstone,
    vanished,
)


def test_the_id_set_file_round_trips_compactly(tmp_path: Path) -> None:
    ids = IdSet(tmp_path / "state" / "po.ids", "purchase_orders")
    assert ids.load() is None
    ids.save(array("q", [9, 3, 2**62, 3, 1]))
    assert list(ids.load() or []) == [1, 3, 9, 2**62]
    # Eight bytes an id after a header with the object's name: no JSON list.
    size = ids.path.stat().st_size
    assert size == 14 + len("purchase_orders") + 4 * 8
    ids.save(array("q", range(100_000)))
    assert ids.path.stat().st_size - size == (100_000 - 4) * 8
    assert [p.name for p in ids.path.parent.iterdir()] == ["po.ids"]


def test_an_id_set_of_another_object_or_no_id_set_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.ids"
    IdSet(path, "invoices").save(array("q", [1]))
    with pytest.raises(ConfigurationError, match="holds the ids of invoices"):
        IdSet(path, "suppliers").load()
    path.write_text("[1, 2, 3]")
    with pytest.raises(ConfigurationError, match="not an id set"):
        IdSet(path, "invoices").load()
    path.write_bytes(path.read_bytes()[:5])
    with pytest.raises(ConfigurationError, match="not an id set"):
        IdSet(path, "invoices").load()


def test_vanished_is_one_merge_of_sorted_ids() -> None:
    before = array("q", [1, 2, 5, 7, 9, 12])
    now = array("q", [2, 3, 7, 8, 12, 13])
    assert list(vanished(before, now)) == [1, 5, 9]
    assert list(vanished(before, array("q"))) == list(before)
    assert list(vanished(array("q"), now)) == []


def test_the_kept_ids_add_this_runs_and_drop_the_vanished() -> None:
    kept = merged(array("q", [1, 2, 5, 9]), [9, 11, 3, 11], [2, 9])
    assert list(kept) == [1, 3, 5, 11]
    assert list(merged(None, [4, 2], [])) == [2, 4]


def test_a_detector_finds_nothing_on_its_first_run_then_tombstones(tmp_path: Path) -> None:
    path = tmp_path / "s.ids"
    first = DeleteDetector(IdSet(path, "suppliers"), "2026-01-01T00:00:00+00:00")
    assert first.first and list(first.tombstones(array("q", [1, 2, 3]))) == []
    assert first.commit([1, 2, 3]) == 3
    second = DeleteDetector(IdSet(path, "suppliers"), "2026-01-02T00:00:00+00:00")
    stones = list(second.tombstones(array("q", [1, 3, 4])))
    assert stones == [tombstone(2, "2026-01-02T00:00:00+00:00")]
    assert stones[0] == {"id": 2, "_deleted": True, "_deleted_detected_at": second.detected_at}
    assert is_tombstone(stones[0]) and not is_tombstone({"id": 2, "_deleted": "yes"})
    # The tombstone went out as a record too: it is not kept.
    assert second.commit([4, 2]) == 3
    assert list(IdSet(path, "suppliers").load() or []) == [1, 3, 4]


def test_a_run_that_does_not_commit_keeps_the_previous_ids(tmp_path: Path) -> None:
    path = tmp_path / "s.ids"
    IdSet(path, "suppliers").save(array("q", [1, 2]))
    failed = DeleteDetector(IdSet(path, "suppliers"), "t1")
    assert len(list(failed.tombstones(array("q", [1])))) == 1
    again = DeleteDetector(IdSet(path, "suppliers"), "t2")
    assert [t["id"] for t in again.tombstones(array("q", [1]))] == [2]
