"""Writes through Coupa CSV flat files: ``coupa create/upsert --via flat-file`` and the
``coupa.load_file`` target, against the sandbox over HTTP. Every record ends in one outcome
(read = created + updated + rejected + failed), each from Coupa's own per-row errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for
from _write_support import find, invoke_cli, json_summary, supplier, tag, write_jsonl
from coupa_connector.operations import run_operations
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def _flat(sandbox: Sandbox, verb: str, path: Path, *args: str) -> Any:
    return invoke_cli(
        sandbox, [verb, "suppliers", str(path), "--via", "flat-file", "--summary", "json", *args]
    )


def _names(sandbox: Sandbox, prefix: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in find(sandbox, "suppliers", **{"name[starts_with]": prefix})}


def _via_files(sandbox: Sandbox, records: list[Any], **options: Any) -> tuple[list[Any], Any]:
    """``write_via_files`` as a create, its results in input order and its report."""
    import asyncio

    from _client_sandbox import sandbox_config
    from coupa_connector import AsyncConnection
    from coupa_connector.activities.flatfile import PollPolicy
    from coupa_connector.catalog import load_catalog
    from coupa_connector.operations._file_writes import FileWrites, write_via_files

    report = FileWrites()

    async def go() -> list[Any]:
        async with AsyncConnection(sandbox_config(sandbox)) as conn:
            stream = write_via_files(
                conn,
                load_catalog().get("suppliers"),
                records,
                mode="create",
                policy=PollPolicy(first=0.02, cap=0.2),
                report=report,
                **options,
            )
            return sorted([r async for r in stream], key=lambda r: r.position)

    return asyncio.run(go()), report


def test_create_via_flat_file_counts_add_up_and_rejects_feed_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    existing = f"FF {t} Old"
    assert invoke_cli(sandbox, ["create", "suppliers", str(write_jsonl(
        tmp_path / "old.jsonl", [supplier(existing, f"FO-{t}")]))]).exit_code == 0  # fmt: skip
    records = [
        supplier(f"FF {t} A", f"FA-{t}"),
        supplier(f"FF {t} B", f"FB-{t}", **{"primary-address": {"city": "Oslo"}}),
        supplier(f"FF {t} Pigeon", f"FP-{t}", **{"po-method": "pigeon"}),  # our validation
        supplier(f"FF {t} Commodity", f"FC-{t}", commodity={"name": f"No such {t}"}),  # Coupa's
        supplier(f"FF {t} Custom", f"FX-{t}", **{"custom-fields": {"region": "north"}}),
        supplier(existing, f"FO2-{t}"),  # Coupa holds it: a load would update it
    ]
    rejects = tmp_path / "rejects.jsonl"
    results = tmp_path / "results.jsonl"
    files = tmp_path / "files"
    run = _flat(
        sandbox,
        "create",
        write_jsonl(tmp_path / "in.jsonl", records),
        "--rejects",
        str(rejects),
        "--results",
        str(results),
        "--files-dir",
        str(files),
    )
    assert run.exit_code == 1, run.output
    counts = json_summary(run)
    assert counts["read"] == 6
    assert (counts["created"], counts["rejected"], counts["failed"]) == (2, 3, 1)
    assert counts["read"] == counts["created"] + counts["rejected"] + counts["failed"]
    held = _names(sandbox, f"FF {t}")
    assert {f"FF {t} A", f"FF {t} B"} <= set(held)
    assert held[f"FF {t} B"]["primary-address"]["city"] == "Oslo"
    assert held[existing]["number"] == f"FO-{t}"  # not updated by a create
    assert len(list(files.rglob("suppliers_*.csv"))) == 1
    rows = {r["position"]: r for r in map(json.loads, results.read_text().splitlines())}
    assert "po-method" in rows[3]["messages"][0]
    assert rows[4]["outcome"] == "failed" and "Commodity" in rows[4]["messages"][0]
    assert "row 4 of suppliers_" in rows[4]["messages"][0]  # third in the file; header is 1
    assert "custom-fields.region" in rows[5]["messages"][0]
    assert "already holds" in rows[6]["messages"][0]
    kept = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["name"] for r in kept] == [
        f"FF {t} Pigeon",
        f"FF {t} Commodity",
        f"FF {t} Custom",
        existing,
    ]
    # Fixed, the rejects go back in; the one Coupa holds goes as an upsert.
    for record in kept:
        record.pop("_errors")
        record["po-method"] = "email"
        record.pop("commodity", None)
        record.pop("custom-fields", None)
    again = _flat(sandbox, "upsert", write_jsonl(tmp_path / "fixed.jsonl", kept), "--key", "number")
    assert again.exit_code == 0, again.output
    assert json_summary(again)["created"] == 4


def test_upsert_via_flat_file_creates_and_updates_by_key(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    first = [supplier(f"FU {t} {n}", f"FU-{t}-{n}") for n in range(3)]
    made = _flat(sandbox, "upsert", write_jsonl(tmp_path / "a.jsonl", first), "--key", "number")
    assert made.exit_code == 0 and json_summary(made)["created"] == 3
    changes = [
        {"number": f"FU-{t}-0", "name": f"FU {t} 0", "display-name": "renamed"},
        # "Email domain" is a column of the file that no API field answers to
        {"number": f"FU-{t}-9", "name": f"FU {t} 9", "Email domain": "x.example"},
        {"number": f"FU-{t}-9", "name": f"FU {t} 9", "display-name": "twice"},
    ]
    both = _flat(sandbox, "upsert", write_jsonl(tmp_path / "b.jsonl", changes), "--key", "number")
    assert both.exit_code == 0, both.output
    counts = json_summary(both)
    assert (counts["read"], counts["created"], counts["updated"]) == (3, 1, 2)
    held = _names(sandbox, f"FU {t}")
    assert held[f"FU {t} 0"]["display-name"] == "renamed"
    assert held[f"FU {t} 9"]["display-name"] == "twice"


def test_a_failed_load_is_reported_for_every_record(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    sandbox.set_file_loads(fail="The sandbox refused this load.")
    records = [supplier(f"FL {t} {n}", f"FL-{t}-{n}") for n in (1, 2)]
    results = tmp_path / "results.jsonl"
    run = _flat(
        sandbox, "create", write_jsonl(tmp_path / "in.jsonl", records), "--results", str(results)
    )
    assert run.exit_code == 1
    counts = json_summary(run)
    assert (counts["read"], counts["failed"], counts["created"]) == (2, 2, 0)
    for line in (tmp_path / "results.jsonl").read_text().splitlines():
        assert "ended failed: The sandbox refused this load." in json.loads(line)["messages"][0]
    assert _names(sandbox, f"FL {t}") == {}


def test_a_load_outliving_its_deadline_is_reported(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    sandbox.set_file_loads(hold=True)
    try:
        run = _flat(
            sandbox,
            "create",
            write_jsonl(tmp_path / "in.jsonl", [supplier(f"FD {t}", f"FD-{t}")]),
            "--poll-deadline",
            "0.3",
            "--results",
            str(tmp_path / "results.jsonl"),
        )
    finally:
        sandbox.set_file_loads(hold=False)
    assert run.exit_code == 1
    assert json_summary(run)["failed"] == 1
    [row] = map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())
    assert "still loading" in row["messages"][0] and "data file source" in row["messages"][0]


def test_via_flat_file_refuses_what_has_no_such_file(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [{"name": "x"}])
    run = invoke_cli(sandbox, ["create", "invoices", str(path), "--via", "flat-file"])
    assert run.exit_code == 2 and "cannot be written as flat files" in run.output
    odd = invoke_cli(sandbox, ["create", "suppliers", str(path), "--files-dir", "x"])
    assert odd.exit_code == 2 and "--via flat-file" in odd.output


def test_an_operation_loads_through_coupa_load_file(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    source = write_jsonl(
        tmp_path / "erp.jsonl",
        [
            {"vendor": f"FO {t} One", "vendor_no": f"FOP-{t}-1", "state": "active"},
            # Coupa has no such status: rejected by validation, never sent
            {"vendor": f"FO {t} Two", "vendor_no": f"FOP-{t}-2", "state": "asleep"},
            {"vendor": f"FO {t} Three", "vendor_no": f"FOP-{t}-3", "state": "inactive"},
            # No such commodity: Coupa's load refuses the row
            {"vendor": f"FO {t} Four", "vendor_no": f"FOP-{t}-4", "state": "active",
             "commodity": {"name": f"Nothing {t}"}},
        ],
    )  # fmt: skip
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        textwrap.dedent(
            f"""
            connection:
              env: true
            operations:
              suppliers-in:
                source: {{type: file, path: {source}}}
                batch_size: 5000
                transform:
                  mapping:
                    name: vendor
                    number: vendor_no
                    status: state
                    commodity: commodity
                target:
                  type: coupa.load_file
                  object: suppliers
                  key: number
                  files_dir: files
                  poll: {{first: 0.02, cap: 0.2, deadline: 60}}
                rejects: {tmp_path}/rejects.jsonl
            """
        ).lstrip()
    )
    [result] = run_operations(ops, log_db=tmp_path / "oplog.sqlite", connection=config_for(sandbox))
    counts = result.counts  # type: ignore[attr-defined]
    assert (counts.read, counts.written, counts.rejected, counts.failed) == (4, 2, 1, 1)
    held = _names(sandbox, f"FO {t}")
    assert sorted(held) == [f"FO {t} One", f"FO {t} Three"]
    assert held[f"FO {t} Three"]["status"] == "inactive"
    rejects = (tmp_path / "rejects.jsonl").read_text()
    assert "asleep" in rejects and "Commodity is invalid" in rejects
    assert len(list((tmp_path / "files").rglob("suppliers_*.csv"))) == 1


def test_operation_file_checks_the_flat_file_options(sandbox: Sandbox, tmp_path: Path) -> None:
    from coupa_connector.errors import ConfigurationError
    from coupa_connector.operations.opfile.load import load_operation_file

    ops = tmp_path / "ops.yaml"
    ops.write_text(
        textwrap.dedent(
            """
            connection:
              env: true
            operations:
              a:
                source: {type: file, path: in.csv}
                target: {type: coupa.create, object: suppliers, via: carrier-pigeon}
              b:
                source: {type: file, path: in.csv}
                target: {type: coupa.upsert, object: suppliers, key: number, poll: {first: 1}}
              c:
                source: {type: file, path: in.csv}
                target: {type: coupa.load_file, object: invoices, poll: {often: 1}}
            """
        ).lstrip()
    )
    with pytest.raises(ConfigurationError) as caught:
        load_operation_file(ops)
    text = str(caught.value)
    assert "via must be api or flat-file" in text
    assert "poll applies only with via: flat-file" in text
    assert "invoices cannot be written as flat files" in text
    assert "poll must map" in text


def test_a_resumed_create_takes_what_a_killed_run_loaded_as_written(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    loaded = [supplier(f"FR {t} {n}", f"FR-{t}-{n}") for n in range(2)]
    assert _flat(sandbox, "create", write_jsonl(tmp_path / "a.jsonl", loaded)).exit_code == 0
    (first, second, new), report = _via_files(
        sandbox,
        [*loaded, supplier(f"FR {t} new", f"FR-{t}-new")],
        maybe_sent=frozenset({1}),  # the first may have been loaded by a killed run
    )
    ids = {r["name"]: r["id"] for r in _names(sandbox, f"FR {t}").values()}
    assert (first.outcome.value, first.recovered, first.id) == ("created", True, ids[f"FR {t} 0"])
    assert second.outcome.value == "rejected" and "already holds" in second.messages[0]
    assert new.outcome.value == "created" and f"FR {t} new" in ids
    assert report.uploads == 1  # only the new record went into a file


def test_a_dry_run_through_flat_files_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    records = [supplier(f"FY {t}", f"FY-{t}"), supplier(f"FY {t} bad", "x", **{"po-method": "?"})]
    sandbox.reset_stats()
    run = _flat(sandbox, "create", write_jsonl(tmp_path / "in.jsonl", records), "--dry-run")
    counts = json_summary(run)
    assert (counts["read"], counts["valid"], counts["rejected"]) == (2, 1, 1)
    routes = sandbox.stats()["by_route"]
    assert not [r for r in routes if "/api/" in r]  # no lookup, no upload


def test_a_record_too_big_for_one_file_is_rejected_not_lost(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # 1 kB is less than the header row of Coupa's supplier import alone.
    [result], report = _via_files(sandbox, [supplier(f"FB {tag()}", "FB-1")], max_bytes=1024)
    assert result.outcome.value == "rejected" and "bytes" in result.messages[0]
    assert report.uploads == 0
