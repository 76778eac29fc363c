"""Operation files and validation levels: a Coupa target's ``validate:`` (lenient, strict,
off), warnings counted per record and written to the run's log."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from _operations_support import config_for, query
from _write_support import tag
from coupa_connector.catalog import InstanceField, Overlay, save_overlay
from coupa_connector.cli._ops_cmds import results_table
from coupa_connector.errors import CoupaError
from coupa_connector.operations import load_operation_file, run_operations
from coupa_connector.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A rejected record goes to rejects/ under the working directory: the test's own, not the
    # checkout's, where every xdist worker would write the same file.
    monkeypatch.chdir(tmp_path)


def _opfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "op.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _suppliers_in(tmp_path: Path, t: str, validate: str | None) -> Path:
    (tmp_path / "in.csv").write_text(
        f"number,name,made\nOL-{t}-1,Ops {t} 1,2001-02-03T04:05:06Z\n", encoding="utf-8"
    )
    # Under the target's other keys, before the text is dedented.
    setting = f"\n{' ' * 14}validate: {validate}" if validate is not None else ""
    return _opfile(
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          in:
            source:
              type: file
              path: {tmp_path / "in.csv"}
            transform:
              mapping:
                number: number
                name: name
                status: "'active'"
                created-at: made
            target:
              type: coupa.create
              object: suppliers{setting}
        """,
    )


def _run(sandbox: Sandbox, path: Path, tmp_path: Path) -> object:
    [result] = run_operations(
        path, log_db=tmp_path / "oplog.sqlite", connection=config_for(sandbox)
    )
    return result


def test_a_coupa_target_sends_records_with_warnings_and_logs_them(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t = tag()
    with caplog.at_level(logging.WARNING, logger="coupa_connector.operations"):
        result = _run(sandbox, _suppliers_in(tmp_path, t, None), tmp_path)
    assert result.status == "success", result.as_dict()  # type: ignore[attr-defined]
    counts = result.as_dict()  # type: ignore[attr-defined]
    assert (counts["written"], counts["warned"], counts["warnings"]) == (1, 1, 1)
    logged = [r.getMessage() for r in caplog.records if "[read_only]" in r.getMessage()]
    assert logged and "created-at" in logged[0] and "2001-02-03" not in logged[0]
    console = Console(record=True, width=300)
    console.print(results_table([result]))  # type: ignore[list-item]
    assert "1 records with warnings (1 in all; see the log)" in console.export_text()
    assert [s["number"] for s in query(sandbox, "suppliers", where=f"number=OL-{t}-1")]


def test_validate_strict_refuses_and_off_sends_unchecked(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    strict = _run(sandbox, _suppliers_in(tmp_path, t, "strict"), tmp_path)
    assert strict.as_dict()["rejected"] == 1  # type: ignore[attr-defined]
    assert query(sandbox, "suppliers", where=f"number=OL-{t}-1") == []
    off = _run(sandbox, _suppliers_in(tmp_path, t, "off"), tmp_path)
    assert (off.as_dict()["written"], off.as_dict()["warned"]) == (1, 0)  # type: ignore[attr-defined]


def test_a_bad_validate_setting_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _suppliers_in(tmp_path, "x", "sometimes")
    with pytest.raises(
        CoupaError, match=r"op.yaml:17: in: target: validate must be one of lenient, strict, off"
    ):
        load_operation_file(path)


def _invoices_out(tmp_path: Path, source: list[str], mapping: list[str] | None = None) -> Path:
    """An operation file reading invoices into a JSONL file: the source's lines after
    ``object: invoices`` (from line 8 on), then the mapping's."""
    lines = [
        "connection:",
        "  env: true",
        "operations:",
        "  out:",
        "    source:",
        "      type: coupa.query",
        "      object: invoices",
        *(f"      {line}" for line in source),
    ]
    if mapping:
        lines += ["    transform:", "      mapping:", *(f"        {m}" for m in mapping)]
    lines += ["    target:", "      type: file", f"      path: {tmp_path / 'out.jsonl'}"]
    path = tmp_path / "op.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_query_source_sends_raw_coupa_params(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _invoices_out(
        tmp_path, ["fields: [id, status]", "params:", "  status[in]: approved,voided"]
    )
    result = _run(sandbox, path, tmp_path)
    assert result.status == "success", result.as_dict()  # type: ignore[attr-defined]
    out = (tmp_path / "out.jsonl").read_text().splitlines()
    statuses = {json.loads(line)["status"] for line in out}
    expected = {r["status"] for r in query(sandbox, "invoices", where="status in approved,voided")}
    assert statuses == expected and statuses <= {"approved", "voided"}


def test_query_source_checks_name_the_params_escape(tmp_path: Path) -> None:
    path = _invoices_out(tmp_path, ["where: statuz=approved", "params:", "  status: [approved]"])
    with pytest.raises(CoupaError) as caught:
        load_operation_file(path)
    text = str(caught.value)
    assert "op.yaml:8:" in text and "Did you mean: status" in text and "params:" in text
    assert "op.yaml:9:" in text and "params must map Coupa parameter names to values" in text


@pytest.mark.parametrize(
    ("mapping", "line", "message"),
    [
        ("nme: invoice-numbr", 11, "reads 'invoice-numbr': invoices has no field"),
        ("s: upper(supplier.nmae)", 11, "reads 'supplier.nmae': suppliers has no field 'nmae'"),
        ("t: \"if(statuz == 'x', id, id)\"", 11, "reads 'statuz'"),
        ('l: "invoice-lines[].{p: prise}"', 11, "invoice-line has no field 'prise'"),
    ],
)
def test_validate_reports_a_mapping_that_reads_a_field_coupa_records_lack(
    tmp_path: Path, mapping: str, line: int, message: str
) -> None:
    with pytest.raises(CoupaError) as caught:
        load_operation_file(_invoices_out(tmp_path, ["limit: 5"], [mapping]))
    text = str(caught.value)
    assert f"op.yaml:{line}: out: transform.mapping." in text and message in text
    assert "coupa discover" in text


def test_fields_coupa_records_carry_pass(tmp_path: Path) -> None:
    mapping = [
        "n: invoice-number",
        "s: supplier.name",
        "c: custom-fields.cost-center",
        'l: "invoice-lines[].{p: price, d: description}"',
        "k: id",
    ]
    assert load_operation_file(_invoices_out(tmp_path, ["limit: 5"], mapping)).operations["out"]


def test_a_mapped_field_empty_in_every_record_is_a_warning_in_the_log(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mapping = ["n: invoice-number", "gone: custom-fields.no-such-thing"]
    with caplog.at_level(logging.WARNING, logger="coupa_connector.operations"):
        result = _run(sandbox, _invoices_out(tmp_path, ["limit: 5"], mapping), tmp_path)
    assert result.status == "success"  # type: ignore[attr-defined]
    warned = [r.getMessage() for r in caplog.records if "came out empty" in r.getMessage()]
    assert len(warned) == 1
    assert "transform.mapping.gone came out empty in every one of the 5 records" in warned[0]


def test_file_checks_know_the_instance_fields_from_its_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COUPA_URL", "https://acme.coupahost.com")
    mapping = ["b: erp-batch", "r: custom-fields.erp-ref"]
    path = _invoices_out(tmp_path, ["where: erp-ref~X"], mapping)
    with pytest.raises(CoupaError) as caught:
        load_operation_file(path)
    text = str(caught.value)
    assert "no field 'erp-ref'" in text and "reads 'erp-batch'" in text
    fields = [
        InstanceField("erp-ref", "string", ("custom-fields",), custom=True),
        InstanceField("erp-batch", "string", ("top-level",), custom=True),
    ]
    save_overlay(Overlay.build("https://acme.coupahost.com", {"invoices": fields}))
    assert load_operation_file(path).operations["out"]
