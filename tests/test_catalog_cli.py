"""``coupa objects`` and ``coupa schema`` through click's test runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from coupa_connector.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_objects_table(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["objects"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "invoice-header" in result.output
    assert "/api/purchase_orders" in result.output
    assert "(nested)" in result.output  # invoice-line and friends


def test_objects_json_lists_every_object(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["objects", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_name = {o["name"]: o for o in data}
    assert by_name["invoices"]["element"] == "invoice-header"
    assert by_name["invoices"]["resource"] == "/api/invoices"
    assert "submit" in by_name["invoices"]["actions"]
    assert by_name["invoice-line"]["resource"] is None
    assert by_name["attachments"]["supported"] is False
    assert "out of scope" in by_name["attachments"]["unsupported_reason"]


def test_objects_resources_only(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["objects", "--resources", "--format", "json"])
    data = json.loads(result.output)
    assert data and all(o["resource"] for o in data)
    assert "invoice-line" not in {o["name"] for o in data}


def test_schema_table_for_create(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoices", "--for", "create"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "invoice-number" in lines and "string(40)" in lines["invoice-number"]
    assert "yes" in lines["invoice-number"].split("│")[3]  # required
    assert "[invoice-line]" in lines["invoice-lines"]  # markup-looking text survives
    assert "status" not in lines  # read-only fields are not create input


def test_schema_table_for_update_names_the_keys(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "suppliers", "--for", "update"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "id or number or name" in result.output


def test_schema_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["schema", "purchase-order", "--for", "update", "--format", "json-schema"]
    )
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"required": ["po-number"]} in schema["anyOf"]


def test_unknown_object_is_a_usage_error_with_suggestions(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoces"])
    assert result.exit_code == 2
    assert "Unknown Coupa object 'invoces'" in result.output
    assert "invoices" in result.output
    assert "Traceback" not in result.output


def test_bad_option_value_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoices", "--for", "delete"])
    assert result.exit_code == 2


def test_schema_and_objects_show_natural_keys() -> None:
    shown = CliRunner().invoke(cli, ["schema", "suppliers"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Natural keys" in shown.output and "number" in shown.output
    listed = CliRunner().invoke(cli, ["objects", "--format", "json", "--resources"])
    suppliers = next(o for o in json.loads(listed.output) if o["name"] == "suppliers")
    assert ["number"] in suppliers["lookup_keys"]


def test_schema_shows_uniqueness_scoped_to_other_fields() -> None:
    shown = CliRunner().invoke(cli, ["schema", "invoices"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "per supplier" in shown.output
