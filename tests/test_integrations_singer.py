"""The Singer tap and target against the sandbox: the SDK's standard tests, and suppliers
copied from one sandbox into another through ``tap-coupa | target-coupa`` under faults."""

# ruff: noqa: E402  (the extras are required before their modules are imported)
from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from _extras import require

require("singer_sdk", "the singer extra is not installed")

from singer_sdk.testing import SuiteConfig, get_tap_test_class, get_target_test_class

from _operations_support import config_for
from coupa_connector import Connection
from coupa_connector.integrations.singer.tap import TapCoupa
from coupa_connector.integrations.singer.target import TargetCoupa
from coupa_connector.sandbox import Sandbox

BIN = Path(sys.executable).parent

# The SDK's attribute tests warn, not fail, on a property that is null in every record read
# (the sandbox leaves many optional fields empty); warnings are errors elsewhere.
# The SDK's target test runner leaves its sample files for the garbage collector to close.
# The sandbox does not yet render the fields only Coupa's Swagger lists, which the catalog
# (and so the tap's schema) has: the SDK warns of schema fields absent from every record.
pytestmark = [
    pytest.mark.filterwarnings("ignore:No records were available to test:UserWarning"),
    pytest.mark.filterwarnings("ignore:Fields in transformed catalog but not in records"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _module_sandbox() -> Sandbox:
    # The SDK's test classes take their config when they are made, at collection: the
    # sandbox they read from has to be up by then.
    server = Sandbox().start()
    atexit.register(server.stop)
    return server


SOURCE = _module_sandbox()
REJECTS = Path(os.environ.get("TMPDIR", "/tmp")) / f"target-coupa-{uuid.uuid4().hex[:8]}"


def settings(sb: Sandbox, **extra: Any) -> dict[str, Any]:
    return {
        "url": sb.url,
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "rate_limit": 0,
        **extra,
    }


TestTapCoupa = get_tap_test_class(
    TapCoupa,
    config=settings(SOURCE, objects=["suppliers", "invoices", "users"]),
    suite_config=SuiteConfig(max_records_limit=60),
)

# The SDK's sample streams (test_camelcase, test_array_data, ...) are no Coupa objects:
# target-coupa must take each without stopping, account for every record and reject them
# with the reason, as it does any record that cannot be written.
TestTargetCoupa = get_target_test_class(
    TargetCoupa, config=settings(SOURCE, rejects_dir=str(REJECTS))
)


def write_config(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(json.dumps(values))
    return path


def test_tap_about_names_the_secret_setting() -> None:
    done = subprocess.run(
        [str(BIN / "tap-coupa"), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    about = json.loads(done.stdout)
    assert about["name"] == "tap-coupa"
    assert about["settings"]["properties"]["client_secret"].get("secret") is True


def test_tap_discover_offers_every_readable_object() -> None:
    done = subprocess.run(
        [str(BIN / "tap-coupa"), "--discover"], capture_output=True, text=True, check=True
    )
    streams = {s["tap_stream_id"]: s for s in json.loads(done.stdout)["streams"]}
    assert {"invoices", "suppliers", "purchase_orders", "users"} <= set(streams)
    invoices = streams["invoices"]
    assert invoices["replication_key"] == "updated-at"
    props = invoices["schema"]["properties"]
    assert props["gross-total"]["type"] == ["number", "null"]
    assert props["updated-at"]["format"] == "date-time"
    assert props["invoice-lines"]["items"]["properties"]["price"]["type"] == ["number", "null"]


def test_state_bookmark_then_an_incremental_sync(tmp_path: Path) -> None:
    sb = SOURCE
    config = write_config(tmp_path / "tap.json", settings(sb, objects=["suppliers"]))
    first = subprocess.run(
        [str(BIN / "tap-coupa"), "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    messages = [json.loads(line) for line in first.stdout.splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
    bookmark = state["bookmarks"]["suppliers"]["replication_key_value"]
    assert len(records) == len({r["record"]["id"] for r in records}) > 0
    assert bookmark == max(r["record"]["updated-at"] for r in records)
    (tmp_path / "state.json").write_text(json.dumps(state))
    with Connection(config_for(sb)) as conn:
        one = conn.query_all("suppliers", limit=1, fields=["id"])[0]["id"]
        import time

        time.sleep(1.1)  # past the bookmark's second
        conn.request("PUT", f"/api/suppliers/{one}", body={"display-name": "changed by test"})
    time.sleep(1.1)  # and past the change's second, the next sync's upper bound
    again = subprocess.run(
        [str(BIN / "tap-coupa"), "--config", str(config), "--state", str(tmp_path / "state.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    changed = [json.loads(line) for line in again.stdout.splitlines()]
    got = [m["record"]["id"] for m in changed if m["type"] == "RECORD"]
    # The record at the bookmark's second is read again (Singer bookmarks are inclusive).
    assert one in got and len(got) < len(records)


def test_catalog_selection_asks_coupa_only_for_the_selected_properties(tmp_path: Path) -> None:
    sb = SOURCE
    config = write_config(tmp_path / "tap.json", settings(sb, objects=["invoices"]))
    found = subprocess.run(
        [str(BIN / "tap-coupa"), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    )
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            crumb = entry["breadcrumb"]
            if not crumb:
                entry["metadata"]["selected"] = True
            elif crumb[-1] not in ("id", "updated-at", "invoice-number", "gross-total"):
                entry["metadata"]["selected"] = False
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    sb.reset_stats()
    done = subprocess.run(
        [
            str(BIN / "tap-coupa"),
            "--config",
            str(config),
            "--catalog",
            str(tmp_path / "catalog.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(m)["record"] for m in done.stdout.splitlines() if '"RECORD"' in m]
    assert records and all(
        set(r) == {"id", "updated-at", "invoice-number", "gross-total"} for r in records
    )
    assert "fields=" in done.stderr and "invoice_number" in done.stderr


def last_changed(sb: Sandbox, where: str) -> dt.datetime:
    """The latest ``updated-at`` of the records ``where`` picks."""
    with Connection(config_for(sb)) as conn:
        stamps = [r["updated-at"] for r in conn.query("suppliers", where=where)]
    return max(dt.datetime.fromisoformat(s) for s in stamps)


def wait_past_the_second_of(stamp: dt.datetime) -> None:
    """Wait until the second of ``stamp`` has passed: a sync's windows end at the start of
    the second it begins (what changes later in that second comes with the next sync), so a
    tap started within the second its records were made would rightly leave them out."""
    time.sleep(max(0.0, stamp.timestamp() + 1 - time.time()))


def test_tap_to_target_copies_suppliers_without_duplicates_under_commit_drops(
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    with Connection(config_for(SOURCE)) as conn:
        made = list(
            conn.create(
                "suppliers",
                [
                    {
                        "name": f"Copy {tag} {i:03d}",
                        "number": f"CP-{tag}-{i:03d}",
                        "status": "active",
                    }
                    for i in range(60)
                ],
            )
        )
    assert all(r.ok for r in made)
    wait_past_the_second_of(last_changed(SOURCE, f"number^=CP-{tag}-"))
    with Sandbox() as target_sb:
        # The first two writes and a seeded 5% of the rest are saved and their answers lost.
        target_sb.set_faults(
            seed=5, commit_drop_count=2, commit_drop_rate=0.05, methods=["POST", "PUT"]
        )
        tap_config = write_config(
            tmp_path / "tap.json",
            settings(SOURCE, objects=["suppliers"], where={"suppliers": f"number^=CP-{tag}-"}),
        )
        target_config = write_config(
            tmp_path / "target.json",
            settings(
                target_sb,
                rejects_dir=str(tmp_path / "rejects"),
                objects={"suppliers": {"key": "number"}},
                batch_size=25,
            ),
        )
        with subprocess.Popen(
            [str(BIN / "tap-coupa"), "--config", str(tap_config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as tap:
            target = subprocess.run(
                [str(BIN / "target-coupa"), "--config", str(target_config)],
                stdin=tap.stdout,
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert tap.returncode == 0
        assert target.returncode == 0, target.stderr[-3000:]
        dropped = target_sb.faults()["injected"]["commit_drop"]
        with Connection(config_for(target_sb)) as conn:
            copied = [s["number"] for s in conn.query("suppliers", where=f"number^=CP-{tag}-")]
    assert sorted(copied) == sorted(f"CP-{tag}-{i:03d}" for i in range(60))
    assert len(copied) == len(set(copied)) == 60
    assert dropped >= 2  # answers were lost after the commit, and recovered
    assert "60 read, 60 written, 0 rejected, 0 failed" in target.stderr
    assert not (tmp_path / "rejects").exists()


def test_target_upserts_by_the_first_natural_key_not_by_id(tmp_path: Path) -> None:
    """Objects list ``id`` first among their lookup keys; an upsert cannot be by id (an id of
    another instance names nothing here), so the default key is the first natural one
    (``number`` for suppliers)."""
    number = f"NK-{uuid.uuid4().hex[:8]}"
    messages = [
        {
            "type": "SCHEMA",
            "stream": "suppliers",
            "key_properties": ["id"],
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "status": {"type": "string"},
                },
            },
        },
        {
            "type": "RECORD",
            "stream": "suppliers",
            "record": {
                "id": 999_999,
                "name": f"Copy {number}",
                "number": number,
                "status": "active",
            },
        },
    ]
    target_config = write_config(
        tmp_path / "target.json", settings(SOURCE, rejects_dir=str(tmp_path / "rejects"))
    )
    for _ in range(2):  # created, then found by its number and updated
        done = subprocess.run(
            [str(BIN / "target-coupa"), "--config", str(target_config)],
            input="\n".join(json.dumps(m) for m in messages) + "\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        assert "1 read, 1 written, 0 rejected, 0 failed" in done.stderr, done.stderr[-3000:]
    with Connection(config_for(SOURCE)) as conn:
        made = conn.query_all("suppliers", where=f"number={number}", fields=["id"])
    assert len(made) == 1 and made[0]["id"] != 999_999
