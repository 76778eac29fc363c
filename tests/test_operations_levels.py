"""Operation files and validation levels: a Coupa target's ``validate:`` (lenient, strict,
off), warnings counted per record and written to the run's log."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest

from _operations_support import config_for, query
from _write_support import tag
from coupa_connector.errors import CoupaError
from coupa_connector.operations import load_operation_file, run_operations
from coupa_connector.sandbox import Sandbox


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


def test_a_query_source_sends_raw_coupa_params(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    path = _opfile(
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          out:
            source:
              type: coupa.query
              object: invoices
              fields: [id, status]
              params:
                status[in]: approved,voided
            target:
              type: file
              path: {out}
        """,
    )
    result = _run(sandbox, path, tmp_path)
    assert result.status == "success", result.as_dict()  # type: ignore[attr-defined]
    statuses = {json.loads(line)["status"] for line in out.read_text().splitlines()}
    expected = {r["status"] for r in query(sandbox, "invoices", where="status in approved,voided")}
    assert statuses == expected and statuses <= {"approved", "voided"}


def test_query_source_checks_name_the_params_escape(tmp_path: Path) -> None:
    path = _opfile(
        tmp_path,
        """
        connection:
          env: true
        operations:
          out:
            source:
              type: coupa.query
              object: invoices
              where: statuz=approved
              params:
                status: [approved]
            target: {type: file, path: out.jsonl}
        """,
    )
    with pytest.raises(CoupaError) as caught:
        load_operation_file(path)
    text = str(caught.value)
    assert "op.yaml:8:" in text and "Did you mean: status" in text and "params:" in text
    assert "op.yaml:9:" in text and "params must map Coupa parameter names to values" in text
