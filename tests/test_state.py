"""One watermark contract for every incremental job: the operation log's and a state file's
keep a watermark the same way, each for what it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupa_connector.errors import ConfigurationError
from coupa_connector.operations import OpLog
from coupa_connector.operations._state import LoggedState, StateFile, Watermarks


def _round_trip(store: Watermarks, other: Watermarks) -> None:
    assert store.load() is None
    store.save("2026-01-01T00:00:00+00:00")
    store.save("2026-02-01T00:00:00+00:00")
    assert store.load() == "2026-02-01T00:00:00+00:00"
    assert other.load() is None  # another job's watermark is its own


def test_the_operation_log_keeps_a_watermark_per_operation_and_scope(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        _round_trip(
            LoggedState(log, "/ops.yaml", "load", "coupa=https://a"),
            LoggedState(log, "/ops.yaml", "load", "coupa=https://b"),
        )


def test_a_state_file_keeps_one_objects_watermark(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _round_trip(StateFile(path, "invoices"), StateFile(tmp_path / "other.json", "invoices"))
    with pytest.raises(ConfigurationError, match="belongs to 'invoices', not 'suppliers'"):
        StateFile(path, "suppliers").load()
