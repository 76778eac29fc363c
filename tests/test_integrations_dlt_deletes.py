"""The dlt source's tombstones: records deleted in Coupa are deleted from the destination."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _extras import require

dlt = require("dlt", "the dlt extra is not installed")
duckdb = require("duckdb", "the dlt extra is not installed")

from _operations_support import config_for  # noqa: E402
from coupa_connector import Connection  # noqa: E402
from coupa_connector.integrations.dlt import coupa_source  # noqa: E402
from coupa_connector.sandbox import Sandbox  # noqa: E402


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    yield sandbox
    sandbox.reset()


@pytest.fixture(autouse=True)
def quiet_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def _ids(database: Path) -> set[int]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT id FROM coupa.requisitions").fetchall()}


def test_deleted_requisitions_leave_the_destination(sb: Sandbox, tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    pipe = dlt.pipeline(
        pipeline_name="coupa_deletes",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="coupa",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    ids_file = tmp_path / "ids" / "requisitions.ids"

    def source() -> object:
        return coupa_source(
            objects={"requisitions": {"detect_deletes": ids_file, "fields": ["id", "status"]}},
            connection=config_for(sb),
        )

    pipe.run(source())
    loaded = _ids(database)
    assert len(loaded) >= 37
    gone = sorted(loaded)[:37]
    with Connection(config_for(sb)) as conn:
        for rid in gone:
            conn.request("DELETE", f"/api/requisitions/{rid}")
    pipe.run(source())
    assert pipe.last_trace.last_normalize_info.row_counts.get("requisitions") == 37
    assert _ids(database) == loaded - set(gone)
    # The tombstones were applied: nothing more to delete on the next run.
    pipe.run(source())
    assert pipe.last_trace.last_normalize_info.row_counts.get("requisitions", 0) == 0
    assert _ids(database) == loaded - set(gone)
    # One generation of the id set in force (and none piling up).
    assert len(list(ids_file.parent.iterdir())) <= 2
