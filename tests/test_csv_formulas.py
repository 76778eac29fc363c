"""CSV formula injection: every CSV written for people neutralises cells a spreadsheet would
run, and reading takes the neutralisation off again, so files round-trip to the same values.

Through the real CLI against the sandbox: ``coupa query --format csv``, the rejects files of
``coupa create`` fed back, and ``coupa run`` with CSV file targets and rejects.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _write_support import call, env_for, find, supplier, tag
from coupa_connector._csv_formulas import escape_cell, escape_row, unescape_cell
from coupa_connector.cli._main import cli
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations import open_writer, read_records
from coupa_connector.sandbox import Sandbox

FORMULA_FIRST = "=+-@\t\r\x00"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-x", "'-x"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\tplain text", "'\tplain text"),  # OWASP: a leading tab, whatever follows
        ("\r=1+1", "'\r=1+1"),
        ("\x00=1", "'\x00=1"),
        ("-", "'-"),
        ("--5", "'--5"),
        ("-5+3", "'-5+3"),
        ("'=already quoted", "''=already quoted"),
        ("''-x", "'''-x"),
        # Left alone: plain numbers, text that is no formula, empty cells.
        ("-5", "-5"),
        ("+3.25", "+3.25"),
        ("-1.5e3", "-1.5e3"),
        ("-.5", "-.5"),
        ("'quoted", "'quoted"),
        ("a=b", "a=b"),
        ("2024-01-31", "2024-01-31"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_a_quote(value: str, written: str) -> None:
    assert escape_cell(value) == written
    assert unescape_cell(written) == value


def test_reading_undoes_writing_for_every_value() -> None:
    alphabet = "'=+-@\t\r\x005.eE a"
    for length in range(5):
        for chars in itertools.product(alphabet, repeat=length):
            value = "".join(chars)
            written = escape_cell(value)
            assert unescape_cell(written) == value, repr(value)
            # The row shortcut finds every cell that needs a look, wherever it stands.
            assert escape_row(["a", value, "b\x1f="]) == ["a", written, "b\x1f="]
            assert escape_row([value]) == [written]
            # What lands in the file never starts a formula (a plain number is a number).
            if written and written[0] in FORMULA_FIRST:
                assert float(written) == float(value), repr(value)


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="csv_formulas must be escape or keep"):
        open_writer(tmp_path / "x.csv", csv_formulas="strip")  # type: ignore[arg-type]


def test_the_writer_and_reader_round_trip_nested_records(tmp_path: Path) -> None:
    records = [
        {"name": "=1+1", "lines": [{"price": "-5"}, {"price": "-5 EUR"}], "note": "'=x"},
        {"name": "@me", "custom-fields": {"cf": "+44 20"}, "note": "plain"},
    ]
    path = tmp_path / "r.csv"
    with open_writer(path) as writer:
        writer.write_many(records)
    text = path.read_text(encoding="utf-8")
    assert "'=1+1" in text and ",-5," in text and "'-5 EUR" in text and "''=x" in text
    assert "'@me" in text and "'+44 20" in text
    assert list(read_records(path)) == records
    with open_writer(path, csv_formulas="keep") as writer:
        writer.write_many(records)
    assert "'" not in path.read_text(encoding="utf-8").replace("'=x", "")
    assert list(read_records(path, csv_formulas="keep")) == records


# --------------------------------------------------------------------------- the CLI


def coupa(sandbox: Sandbox, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env_for(sandbox))


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def plain_number() -> str:
    """A unique negative number, as a supplier number (text that reads as a number)."""
    return str(-random.randrange(10**8, 10**9))


def test_query_csv_output_neutralises_formulas_unless_kept(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    minus = plain_number()
    names = {
        f"FX1-{t}": f"=cmd|' /C calc'!A0 {t}",
        minus: f"@SUM(1+1) {t}",
        f"FX3-{t}": f"+1 555 {t}",
        f"FX4-{t}": f"'=already {t}",
        f"FX5-{t}": f"Plain {t}",
    }
    ids = [
        call(sandbox, "POST", "/api/suppliers", body=supplier(name, number))["id"]
        for number, name in names.items()
    ]
    where = f"id in {','.join(map(str, ids))}"
    out = tmp_path / "suppliers.csv"
    result = coupa(
        sandbox, "query", "suppliers", "-w", where, "-f", "id,name,number", "--format", "csv",
        "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = {r["number"]: r["name"] for r in rows_of(out)}
    assert got == {
        f"FX1-{t}": f"'=cmd|' /C calc'!A0 {t}",
        minus: f"'@SUM(1+1) {t}",  # the number column holds a plain number: left alone
        f"FX3-{t}": f"'+1 555 {t}",
        f"FX4-{t}": f"''=already {t}",
        f"FX5-{t}": f"Plain {t}",
    }
    kept = coupa(
        sandbox, "query", "suppliers", "-w", where, "-f", "id,name,number", "--format", "csv",
        "--csv-formulas", "keep",
    )  # fmt: skip
    assert kept.exit_code == 0, kept.output
    assert {r["number"]: r["name"] for r in csv.DictReader(io.StringIO(kept.stdout))} == names
    # Other formats are not spreadsheets: values as Coupa holds them.
    jsonl = coupa(sandbox, "query", "suppliers", "-w", where, "-f", "name")
    assert f"\"=cmd|' /C calc'!A0 {t}\"" in jsonl.stdout


def test_query_csv_in_processes_neutralises_too(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    call(sandbox, "POST", "/api/suppliers", body=supplier(f'=HYPERLINK("x") {t}', f"FP-{t}"))
    out = tmp_path / "all.csv"
    result = coupa(
        sandbox, "query", "suppliers", "-f", "id,name,number", "--format", "csv", "-o", str(out),
        "--processes", "2", "--concurrency", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = [r for r in rows_of(out) if r["number"] == f"FP-{t}"]
    assert row["name"] == f'\'=HYPERLINK("x") {t}'


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_rejects_csv_fed_back_sends_coupa_the_values_as_given(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    minus = plain_number()
    hostile = f'=HYPERLINK("http://evil.example/{t}","open")'
    given = [
        {"name": hostile, "number": minus, "status": "active", "po-method": "pigeon"},
        {"name": f"-{t} minus first", "number": f"FR2-{t}", "status": "active",
         "po-method": "pigeon"},
        # A spreadsheet's own quote before a formula character means "text": it is taken off.
        {"name": f"'@quoted {t}", "number": f"FR3-{t}", "status": "active",
         "po-method": "pigeon"},
    ]  # fmt: skip
    sent = [row["name"] for row in given[:2]] + [f"@quoted {t}"]
    source = write_csv(tmp_path / "in.csv", given)
    rejects = tmp_path / "rejects.csv"
    first = coupa(sandbox, "create", "suppliers", str(source), "--rejects", str(rejects))
    assert first.exit_code == 1, first.output
    text = rejects.read_text(encoding="utf-8")
    rows = rows_of(rejects)
    assert [r["name"] for r in rows] == ["'" + name for name in sent]
    assert rows[0]["number"] == minus  # a plain number stays a number
    assert "pigeon" in text

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace("pigeon", "email"), encoding="utf-8")
    again = coupa(sandbox, "create", "suppliers", str(fixed))
    assert again.exit_code == 0, again.output
    for row, name in zip(given, sent, strict=True):
        [stored] = find(sandbox, "suppliers", number=row["number"])
        assert stored["name"] == name


def test_with_keep_the_rejects_csv_holds_and_reads_cells_verbatim(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    given = [{"name": f"=1+1 {t}", "number": f"FK-{t}", "po-method": "pigeon"}]
    source = write_csv(tmp_path / "in.csv", given)
    rejects = tmp_path / "rejects.csv"
    first = coupa(
        sandbox, "create", "suppliers", str(source), "--rejects", str(rejects),
        "--csv-formulas", "keep",
    )  # fmt: skip
    assert first.exit_code == 1, first.output
    assert rows_of(rejects)[0]["name"] == f"=1+1 {t}"
    quoted = tmp_path / "quoted.csv"
    write_csv(quoted, [{"name": f"'=2+2 {t}", "number": f"FK2-{t}", "po-method": "email"}])
    kept = coupa(sandbox, "create", "suppliers", str(quoted), "--csv-formulas", "keep")
    assert kept.exit_code == 0, kept.output
    assert find(sandbox, "suppliers", number=f"FK2-{t}")[0]["name"] == f"'=2+2 {t}"


OPERATIONS = """
connection: {env: true}
vars: {input: in.csv, out: out}
operations:
  suppliers-in:
    source: {type: file, path: "${input}"}
    transform:
      mapping: {name: name, number: number, status: "default(status, 'active')",
                po-method: po_method}
    target: {type: coupa.create, object: suppliers}
    rejects: "${out}/rejects.csv"
    on_success: suppliers-out
    on_failure: suppliers-out
  suppliers-out:
    source: {type: coupa.query, object: suppliers, where: "number^=%s",
             fields: [id, name, number]}
    target: {type: file, path: "${out}/suppliers.csv"}
    on_success: suppliers-raw
  suppliers-raw:
    source: {type: coupa.query, object: suppliers, where: "number^=%s",
             fields: [id, name, number]}
    target: {type: file, path: "${out}/raw.csv", csv_formulas: keep}
"""


def test_operation_csv_targets_and_rejects_neutralise_and_round_trip(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    prefix = f"OP{t}"
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(OPERATIONS % (prefix, prefix)), encoding="utf-8")
    given = [
        {"name": f"=cmd|' /C calc'!A0 {t}", "number": f"{prefix}-1", "po_method": "email"},
        {"name": f"@bad {t}", "number": f"{prefix}-2", "po_method": "pigeon"},
    ]
    write_csv(tmp_path / "in.csv", given)
    out = tmp_path / "out"
    args = ["run", str(ops), "--var", f"out={out}", "--log-db", str(tmp_path / "log.db")]
    first = coupa(sandbox, *args, "--var", f"input={tmp_path / 'in.csv'}")
    assert first.exit_code == 1, first.output  # one rejected: partial
    rejects = out / "rejects.csv"
    assert [r["name"] for r in rows_of(rejects)] == [f"'@bad {t}"]
    assert {r["name"] for r in rows_of(out / "suppliers.csv")} == {f"'=cmd|' /C calc'!A0 {t}"}
    assert {r["name"] for r in rows_of(out / "raw.csv")} == {f"=cmd|' /C calc'!A0 {t}"}

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejects.read_text(encoding="utf-8").replace("pigeon", "email"))
    again = coupa(sandbox, *args, "--var", f"input={fixed}")
    assert again.exit_code == 0, again.output
    assert find(sandbox, "suppliers", number=f"{prefix}-2")[0]["name"] == f"@bad {t}"


def test_an_unknown_csv_formulas_value_is_a_problem_with_its_line(tmp_path: Path) -> None:
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        textwrap.dedent(
            """
            operations:
              a:
                source: {type: file, path: in.csv}
                target:
                  type: file
                  path: out.csv
                  csv_formulas: strip
            """
        ).lstrip(),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate", str(ops)])
    assert result.exit_code != 0
    assert "ops.yaml:7: a: target" in result.output
    assert "csv_formulas must be escape or keep" in result.output
