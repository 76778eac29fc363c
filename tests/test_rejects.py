"""Rejects files: the input's columns in order with ``_errors`` last, reasons as a list with
the source line in JSON formats, and one shape whichever command wrote them."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from typing import Any

from _hostile_support import coupa
from coupa_connector._records import ERRORS_KEY, LINE_KEY, RAW_KEY
from coupa_connector.operations import read_records
from coupa_connector.operations.files._rejects import IdLines, RejectsWriter, open_rejects

# The first rejected row has no name and no colour: a writer that learns its columns from
# the records puts them after _errors. Row 4 cannot be parsed at all (a character after a
# closing quote), so it is kept as _raw.
SUPPLIERS_CSV = (
    "number,name,status,colour\n"
    "RJ-1,,active,\n"
    "RJ-2,Good supplier,active,\n"
    'RJ-3,"Broken"x,active,red\n'
    "RJ-4,,inactive,blue\n"
)


def _run_copy(tmp_path: Path, source: str, transform: str) -> dict[str, Any]:
    """``coupa run`` of one file-to-file operation whose rejects go to out/rejects.<ext>."""
    ext = source.rsplit(".", 1)[1]
    body = textwrap.indent(transform, " " * 6)
    (tmp_path / "ops.yaml").write_text(
        "operations:\n"
        "  copy:\n"
        f"    source: {{type: file, path: {source}}}\n"
        f"    transform:\n{body}\n"
        "    target: {type: file, path: out/copy.jsonl}\n"
        f"    rejects: out/rejects.{ext}\n"
    )
    done = coupa("run", "ops.yaml", "--log-db", "log.db", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    [result] = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_coupa_create_rejects_csv_keeps_the_input_columns_with_errors_last(
    tmp_path: Path,
) -> None:
    (tmp_path / "in.csv").write_text(SUPPLIERS_CSV, encoding="utf-8")
    done = coupa(
        "create", "suppliers", "in.csv", "--dry-run", "--rejects", "rejects.csv",
        "--summary", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["rejected"] == 3
    rejects = tmp_path / "rejects.csv"
    assert _header(rejects) == ["number", "name", "status", "colour", RAW_KEY, ERRORS_KEY]
    with rejects.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["number"] for r in rows] == ["RJ-1", "", "RJ-4"]
    assert rows[1][RAW_KEY] == 'RJ-3,"Broken"x,active,red'
    assert rows[2]["colour"] == "blue" and rows[2][ERRORS_KEY].startswith("rejected: ")


def test_coupa_run_rejects_csv_keeps_the_source_columns_with_errors_last(
    tmp_path: Path,
) -> None:
    (tmp_path / "in.csv").write_text(SUPPLIERS_CSV, encoding="utf-8")
    result = _run_copy(
        tmp_path,
        "in.csv",
        "keep: true\nmapping: {name: \"if(name == null, fail('no name'), name)\"}",
    )
    assert (result["read"], result["written"], result["rejected"]) == (4, 1, 3)
    rejects = tmp_path / "out" / "rejects.csv"
    assert _header(rejects) == ["number", "name", "status", "colour", RAW_KEY, ERRORS_KEY]


def test_coupa_run_jsonl_rejects_hold_errors_as_a_list_with_the_source_line(
    tmp_path: Path,
) -> None:
    lines = [
        {"number": "L-1", "amount": "1"},
        {"number": "L-2", "amount": "x"},
        None,  # not JSON at all
        {"number": "L-4", "amount": "4", ERRORS_KEY: ["from an earlier run"], LINE_KEY: 9},
        {"number": "L-5", "amount": "x"},
    ]
    text = "".join("{broken\n" if r is None else json.dumps(r) + "\n" for r in lines)
    (tmp_path / "in.jsonl").write_text(text, encoding="utf-8")
    result = _run_copy(
        tmp_path,
        "in.jsonl",
        "mapping: {number: number, amount: \"if(amount == 'x', fail('amount must be a number'), "
        'amount)"}',
    )
    assert (result["read"], result["written"], result["rejected"]) == (5, 2, 3)
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [r.get("number") for r in rejects] == ["L-2", None, "L-5"]
    assert [r[LINE_KEY] for r in rejects] == [2, 3, 5]
    assert rejects[0][ERRORS_KEY] == ["amount: amount must be a number"]
    assert rejects[1][RAW_KEY] == "{broken" and isinstance(rejects[1][ERRORS_KEY], list)
    assert "line 3" in rejects[1][ERRORS_KEY][0]
    # The record fed back from an earlier rejects file lost its _errors and _line on the way.
    copied = [json.loads(x) for x in (tmp_path / "out" / "copy.jsonl").read_text().splitlines()]
    assert copied == [{"number": "L-1", "amount": "1"}, {"number": "L-4", "amount": "4"}]


def test_the_rejects_writer_puts_its_own_columns_last_even_when_the_input_had_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rejects.csv"
    writer = RejectsWriter(path, input_columns=["_errors", "b", "a", "_raw"])
    writer.write({"a": "1", "extra": "e", "_errors": "old"}, ["rejected: x"])
    writer.write({"_raw": "a,b,c"}, ["rejected: bad row", "second"])
    writer.commit()
    assert _header(path) == ["b", "a", "extra", RAW_KEY, ERRORS_KEY]
    rows = list(read_records(path))
    assert rows[0] == {"a": "1", "extra": "e", ERRORS_KEY: "rejected: x"}
    assert rows[1] == {RAW_KEY: "a,b,c", ERRORS_KEY: "rejected: bad row; second"}


def test_json_rejects_hold_a_list_and_the_line_and_ids_get_id_lines(tmp_path: Path) -> None:
    path = tmp_path / "rejects.json"
    writer = open_rejects(str(path), "csv")
    assert isinstance(writer, RejectsWriter) and writer.format == "json"
    writer.write({"n": 1, LINE_KEY: 7, ERRORS_KEY: "old"}, ["failed: no"], line=3)
    writer.write(None, ["rejected: empty"])
    writer.commit()
    assert json.loads(path.read_text()) == [
        {"n": 1, LINE_KEY: 3, ERRORS_KEY: ["failed: no"]},
        {ERRORS_KEY: ["rejected: empty"]},
    ]
    ids = open_rejects(str(tmp_path / "rejects.txt"), "ids")
    assert isinstance(ids, IdLines)
    ids.write({"id": 12}, ["failed: gone"])
    ids.commit()
    assert (tmp_path / "rejects.txt").read_text() == "# failed: gone\n12\n"
