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
        "a: source type 'ftp' is not an endpoint; use one of coupa.query, coupa.attachments, "
        "file, sql",
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


SQL_PASSWORDS = """
    vars: {pw: Sup3rSecret}
    operations:
      a:
        source: {type: sql, url: "postgresql://erp:Sup3rSecret@db/erp", query: "select 1"}
        target: {type: sql, url: "postgresql://erp:${pw}@db/erp", table: t}
      b:
        source: {type: sql, url: "mssql+pyodbc://db/erp?password=Sup3rSecret", query: "select 1"}
        target: {type: sql, url: "postgresql://erp:${ERP_DB_PASSWORD}@db/erp", table: t}
"""


def test_sql_urls_with_a_literal_password_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, SQL_PASSWORDS)
    monkeypatch.setenv("ERP_DB_PASSWORD", "from-the-environment")
    found = problems(path)
    assert [line for line, _ in found] == [4, 5, 7]
    assert all("secrets never go in an operation file" in m for _l, m in found)
    assert all("${VARIABLE}" in m and "Sup3rSecret" not in m for _l, m in found)
    assert "a password in vars: in the file" in found[1][1]
    # From the command line or the environment, ${VAR} fills the password in.
    text = SQL_PASSWORDS.replace("Sup3rSecret@", "").replace("?password=Sup3rSecret", "")
    opfile = load_operation_file(write(tmp_path, text, "ok.yaml"), {"pw": "given"})
    assert opfile.operations["a"].target.options["url"] == "postgresql://erp:given@db/erp"
    url = opfile.operations["b"].target.options["url"]
    assert url == "postgresql://erp:from-the-environment@db/erp"


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


def test_connection_settings_of_the_wrong_type_or_unknown(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        connection:
          url: https://acme.coupahost.com
          client_id: abc
          client_secret_env: ACME_SECRET
          rate_limit: fast
          concurrency: "many"
          bogus: 1
        operations:
          a:
            source: {type: coupa.query, object: invoices}
            target: {type: file, path: out.csv}
        """,
    )
    found = problems(path)
    assert [line for line, _ in found] == [5, 6, 7]
    assert found[0][1].startswith("connection: rate_limit must be a number")
    assert found[1][1] == "connection: concurrency must be a whole number, not 'many'."
    assert found[2][1].startswith("connection: unknown key 'bogus'; known: allow_http, ")
    assert "client_secret_env" in found[2][1]
    sandbox = write(
        tmp_path,
        """
        connection:
          sandbox:
            seed_size: abc
            latency_ms: -5
            rate_limit: 1
            seed: 7
        operations:
          a:
            source: {type: coupa.query, object: invoices}
            target: {type: file, path: out.csv}
        """,
        "sandbox.yaml",
    )
    assert problems(sandbox) == [
        (
            3,
            "connection.sandbox.seed_size must be a whole number of invoices, 0 or more, not 'abc'",
        ),
        (
            4,
            "connection.sandbox.latency_ms must be a whole number of milliseconds, 0 or more, "
            "not -5",
        ),
        (5, "connection.sandbox.rate_limit must be true or false, not 1"),
    ]


def test_sql_target_columns_are_checked_against_the_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: in.csv}
            transform:
              mapping:
                po_number: n
                totl: t
                supplier: s
            target:
              type: sql
              table: staging
              mode: upsert
              key: [po_number, id]
              columns:
                po_number: text
                total: money
                supplier.name: text
        """,
    )
    assert problems(path) == [
        (
            7,
            "a: transform.mapping.totl: the sql target declares no column 'totl'; "
            "columns: po_number, total, supplier.name",
        ),
        (13, "a: target: key column(s) id are not among the declared columns"),
        (
            16,
            "a: target: column total has unknown type 'money'; use one of bigint, boolean, "
            "date, datetime, decimal, float, integer, numeric, string, text",
        ),
    ]


def test_incremental_needs_a_datetime_and_since_an_iso_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        connection: {env: true}
        operations:
          a:
            source:
              type: coupa.query
              object: purchase_orders
              incremental: status
              since: yesterday
            target: {type: file, path: out.csv}
          b:
            source: {type: coupa.query, object: invoices, since: 2024-01-01}
            target: {type: file, path: out2.csv}
          c:
            source: {type: coupa.query, object: invoices, incremental: true, since: 2024-01-01}
            target: {type: file, path: out3.csv}
        """,
    )
    assert problems(path) == [
        (
            7,
            "a: source: incremental: purchase_orders.status is a string, not a datetime; "
            "track a timestamp such as updated-at (or give true)",
        ),
        (8, "a: source: since: 'yesterday' is not an ISO 8601 date or datetime"),
        (11, "b: source: since: applies only with incremental:"),
    ]


def test_lookups_and_function_arity_are_checked_before_the_run(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        connection: {env: true}
        operations:
          a:
            source: {type: file, path: in.csv}
            transform:
              mapping:
                name: upper(vendor, x)
                number: "lookup_coupa('supplierz', 'number', v, 'id')"
                status: "lookup_coupa('suppliers', 'numbr', v, 'statuz')"
                id: "lookup_coupa('suppliers', 'number', v, 'primary-contact.email')"
                flag: "if(a, 'x')"
            target: {type: coupa.create, object: suppliers}
        """,
    )
    found = problems(path)
    assert [line for line, _ in found] == [7, 8, 9, 9, 11]
    assert found[0][1] == (
        "a: transform.mapping.name: bad expression 'upper(vendor, x)': "
        "upper() takes 1 argument, got 2"
    )
    assert found[1][1].startswith(
        "a: transform.mapping.number: lookup_coupa: Unknown Coupa object 'supplierz'."
    )
    assert "suppliers has no field 'numbr'" in found[2][1] and "number" in found[2][1]
    assert "suppliers has no field 'statuz'" in found[3][1]
    assert found[4][1].endswith("if() takes 3 arguments, got 2")


def test_every_problem_of_a_query_is_listed_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        connection: {env: true}
        operations:
          a:
            source:
              type: coupa.query
              object: invoices
              where:
                - statuz=approved
                - status=approved
                - gross-total>=abc
              order_by: numbr
              dir: up
            target: {type: file, path: out.csv}
        """,
    )
    found = problems(path)
    assert [line for line, _ in found] == [8, 10, 11, 12]
    assert "invoices has no field 'statuz'" in found[0][1]
    assert "'abc'" in found[1][1]
    assert "invoices has no field 'numbr'" in found[2][1]
    assert found[3][1] == "a: source: dir must be 'asc' or 'desc', not 'up'."
