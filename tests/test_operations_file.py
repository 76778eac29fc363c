"""Operation files: every problem is found before the run, with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from coupa_connector.cli._main import cli
from coupa_connector.operations import OperationFileError, load_operation_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write(tmp_path: Path, text: str, name: str = "ops.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems(path: Path) -> list[tuple[int | None, str]]:
    with pytest.raises(OperationFileError) as info:
        load_operation_file(path)
    return [(p.line, p.message) for p in info.value.problems]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: in.csv
            target: {type: file, path: out.csv}
        """,
    )
    [(line, message)] = problems(path)
    assert line == 4
    assert message.startswith("YAML syntax:")


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: in.csv}
            target: {type: file, path: out.csv}
            target: {type: file, path: other.csv}
        """,
    )
    assert problems(path) == [(5, "duplicate key 'target' (first on line 4)")]


def test_unknown_endpoint_and_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source:
              type: ftp
              path: in.csv
            target:
              type: file
              path: out.csv
              compression: gzip
            retries: 3
        """,
    )
    found = problems(path)
    assert (
        4,
        "a: source type 'ftp' is not an endpoint; use one of coupa.query, file, sql",
    ) in found
    assert any(line == 9 and "has no option 'compression'" in m for line, m in found)
    assert any(line == 10 and "unknown key 'retries'" in m for line, m in found)


def test_unknown_fields_in_a_coupa_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        connection: {env: true}
        operations:
          a:
            source: {type: file, path: in.csv}
            transform:
              mapping:
                invoice-numbr: number
                supplier.nam: supplier
                currency.code: "'USD'"
                invoice-date.day: x
                custom-fields.anything: y
              group_by: number
              lines:
                field: invoice-lines
                mapping:
                  pricee: price
                  account.code: acct
            target: {type: coupa.create, object: invoices}
        """,
    )
    found = problems(path)
    assert found == [
        (
            7,
            "a: transform.mapping.invoice-numbr: invoices has no field 'invoice-numbr'. "
            "Did you mean: invoice-number, original-invoice-number, invoice-reference-number?",
        ),
        (8, "a: transform.mapping.supplier.nam: suppliers has no field 'nam'. Did you mean: name?"),
        (
            10,
            "a: transform.mapping.invoice-date.day: invoices.invoice-date is a datetime, "
            "not a reference",
        ),
        (16, found[3][1]),
    ]
    assert "invoice-line has no field 'pricee'" in found[3][1]


def test_missing_connection_and_literal_secrets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: coupa.query, object: invoices}
            target: {type: file, path: out.csv}
        """,
    )
    [(line, message)] = problems(path)
    assert line == 3
    assert "uses coupa.query but the file has no connection: block" in message
    secret = write(
        tmp_path,
        """
        connection:
          url: https://acme.coupahost.com
          client_id: abc
          client_secret: s3cr3t-value
        operations:
          a:
            source: {type: coupa.query, object: invoices}
            target: {type: file, path: out.csv}
        """,
        "secret.yaml",
    )
    found = problems(secret)
    assert found[0][0] == 4
    assert "secrets never go in an operation file" in found[0][1]
    assert all("s3cr3t-value" not in m for _l, m in found)


def test_bad_transform_expressions_and_chains(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: in.csv}
            transform:
              mapping:
                x: "format_numbr(total)"
                y: "a[["
            target: {type: file, path: out.jsonl}
            on_success: b
            on_failure: [c]
        """,
    )
    found = problems(path)
    assert found[0] == (
        6,
        "a: transform.mapping.x: bad expression 'format_numbr(total)': unknown function "
        "format_numbr(); see the operations guide",
    )
    assert found[1][0] == 7
    assert (9, "a: on_success names 'b', which is not an operation in this file") in found
    assert (10, "a: on_failure names 'c', which is not an operation in this file") in found


def test_variables_fill_from_vars_command_line_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_TEST_TABLE", "staging")
    path = write(
        tmp_path,
        """
        vars:
          out: ./out
        operations:
          a:
            source: {type: file, path: in.csv}
            target: {type: sql, url: "sqlite:///${out}/db.sqlite", table: "${OPS_TEST_TABLE}"}
        """,
    )
    opfile = load_operation_file(path, {"out": "/tmp/x"})
    target = opfile.operations["a"].target
    assert target.options == {"url": "sqlite:////tmp/x/db.sqlite", "table": "staging"}
    missing = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: "${nope_not_set}.csv"}
            target: {type: file, path: out.csv}
        """,
        "missing.yaml",
    )
    [(line, message)] = problems(missing)
    assert line == 3 and "${nope_not_set} is not set" in message


def test_every_example_validates() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        opfile = load_operation_file(path)
        assert opfile.operations, path


def test_validate_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", str(EXAMPLES / "suppliers-in.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "suppliers-in: file -> coupa.upsert" in ok.output
    bad = write(tmp_path, "operations:\n  a:\n    source: {type: nope}\n")
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: a: source type 'nope' is not an endpoint" in result.output
