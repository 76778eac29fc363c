"""Conditions Coupa answers with a 400 are refused before any request, where the sandbox
draws the same line: an empty custom field name, integers past Coupa's 64-bit range. (The
refusals by the query's own validation are rows of test_query_units.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from _sandbox_api_support import Api
from _write_support import env_for, invoke_cli, json_summary, run_writes
from coupa_connector.activities.query import build_query
from coupa_connector.activities.write._target import parse_id
from coupa_connector.activities.write.update import update
from coupa_connector.catalog import MAX_INTEGER, MIN_INTEGER, coupa_integer, load_catalog
from coupa_connector.cli import cli
from coupa_connector.errors import QueryError
from coupa_connector.sandbox import Sandbox

THIRTY = "1" * 30
PAST = str(MAX_INTEGER + 1)


def test_the_range_message_names_the_bounds() -> None:
    with pytest.raises(QueryError) as info:
        build_query(load_catalog(), "invoices", where=f"id={THIRTY}")
    assert str(MAX_INTEGER) in str(info.value) and str(MIN_INTEGER) in str(info.value)


@pytest.mark.parametrize(
    ("where", "param"),
    [
        (f"id={MAX_INTEGER}", ("id", str(MAX_INTEGER))),
        (f"id>={MIN_INTEGER}", ("id[gt_or_eq]", str(MIN_INTEGER))),
        ("custom-fields.cf-project=X", ("cf_project", "X")),
        ("custom-fields[cf-project]=X", ("cf_project", "X")),
    ],
)
def test_conditions_within_coupas_bounds_pass(where: str, param: tuple[str, str]) -> None:
    spec = build_query(load_catalog(), "invoices", where=where, paging="offset")
    assert spec.params() == [param]


def test_coupa_integer_reads_only_what_coupa_holds() -> None:
    assert coupa_integer(str(MAX_INTEGER)) == MAX_INTEGER
    assert coupa_integer(str(MIN_INTEGER)) == MIN_INTEGER
    assert coupa_integer(" +007 ") == 7
    for bad in (PAST, str(MIN_INTEGER - 1), THIRTY, "0" * 30 + "1x", "1.0", "", "9" * 5000):
        assert coupa_integer(bad) is None, bad
    assert coupa_integer("0" * 30 + "1") == 1  # leading zeros are no magnitude


def test_record_ids_past_coupas_range_are_no_ids() -> None:
    assert parse_id(str(MAX_INTEGER)) == MAX_INTEGER
    assert parse_id(MAX_INTEGER) == MAX_INTEGER
    for bad in (PAST, THIRTY, MAX_INTEGER + 1, 1e30, "9" * 5000, 0, "0"):
        assert parse_id(bad) is None, bad


@pytest.mark.parametrize(
    ("param", "value"),
    [("id", str(MAX_INTEGER)), ("id", PAST), ("id", THIRTY), ("id[in]", f"1,{THIRTY}")],
)
def test_client_and_sandbox_draw_the_integer_line_at_the_same_place(
    api: Api, param: str, value: str
) -> None:
    answer = api.get("/api/invoices", params={param: value, "limit": 1})
    where = f"id in {value}" if param.endswith("[in]") else f"id={value}"
    try:
        build_query(load_catalog(), "invoices", where=where)
    except QueryError:
        refused = True
    else:
        refused = False
    assert (answer.status_code == 400) is refused, answer.text
    if refused:
        assert "out of range" in answer.text


def test_client_and_sandbox_both_refuse_a_custom_field_without_a_name(api: Api) -> None:
    for param in ("custom_fields", "custom-fields"):
        assert api.get("/api/invoices", params={param: "1"}).status_code == 400
    with pytest.raises(QueryError):
        build_query(load_catalog(), "invoices", where="custom-fields.=1")


def test_cli_refuses_them_with_a_usage_error_and_no_request(sandbox: Sandbox) -> None:
    before = sandbox.stats()["total"]
    for where in ("custom-fields.=1", f"id={THIRTY}"):
        result = CliRunner().invoke(cli, ["query", "invoices", "-w", where], env=env_for(sandbox))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and where in result.stderr
    assert sandbox.stats()["total"] == before


def test_an_update_by_a_30_digit_id_is_rejected_not_sent(sandbox: Sandbox) -> None:
    results, summary = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", [{"id": THIRTY, "display-name": "x"}])
    )
    assert summary.rejected == 1 and summary.failed == 0
    assert f"id: '{THIRTY}' is not a Coupa id" in results[0].messages[0]


def test_action_ids_past_coupas_range_are_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    by_option = invoke_cli(sandbox, ["action", "invoices", "mark_exported", "--id", THIRTY])
    assert by_option.exit_code == 2 and str(MAX_INTEGER) in by_option.output
    ids_txt = tmp_path / "ids.txt"
    ids_txt.write_text(f"{THIRTY}\n{'9' * 5000}\n", encoding="utf-8")
    args = ["action", "invoices", "mark_exported", "--ids-file", str(ids_txt)]

    by_file = invoke_cli(sandbox, [*args, "--summary", "json"])

    assert "Traceback" not in by_file.output
    assert json_summary(by_file)["rejected"] == 2
