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
    result = runner.invoke(cli, ["objects", "--format", "table"], env={"COLUMNS": "200"})
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
    result = runner.invoke(
        cli,
        ["schema", "invoices", "--for", "create", "--format", "table"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "invoice-number" in lines and "string(40)" in lines["invoice-number"]
    assert "yes" in lines["invoice-number"].split("│")[3]  # required
    assert "[invoice-line]" in lines["invoice-lines"]  # markup-looking text survives
    assert "status" not in lines  # read-only fields are not create input


def test_schema_table_for_update_names_the_keys(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["schema", "suppliers", "--for", "update", "--format", "table"],
        env={"COLUMNS": "200"},
    )
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
    shown = CliRunner().invoke(
        cli, ["schema", "suppliers", "--format", "table"], env={"COLUMNS": "200"}
    )
    assert shown.exit_code == 0, shown.output
    assert "Natural keys" in shown.output and "number" in shown.output
    listed = CliRunner().invoke(cli, ["objects", "--format", "json", "--resources"])
    suppliers = next(o for o in json.loads(listed.output) if o["name"] == "suppliers")
    assert ["number"] in suppliers["lookup_keys"]


def test_schema_shows_uniqueness_scoped_to_other_fields() -> None:
    shown = CliRunner().invoke(
        cli, ["schema", "invoices", "--format", "table"], env={"COLUMNS": "250"}
    )
    assert shown.exit_code == 0, shown.output
    assert "per supplier" in shown.output


def test_objects_list_the_swagger_objects_with_their_source(runner: CliRunner) -> None:
    listed = json.loads(runner.invoke(cli, ["objects", "--format", "json"]).output)
    by_name = {o["name"]: o for o in listed}
    assert by_name["invoice_emails"]["sources"] == ["swagger"]
    assert by_name["invoice_emails"]["resource"] == "/api/invoice_emails"
    assert by_name["invoices"]["sources"] == ["swagger", "tables"]
    assert by_name["invoices"]["routes"] > 20
    assert by_name["workers"]["sources"] == ["tables"]  # no Swagger definition of its own
    table = runner.invoke(cli, ["objects", "--format", "table"], env={"COLUMNS": "320"})
    rows = {line.split("│")[1].strip(): line for line in table.output.splitlines() if "│" in line}
    assert rows["invoice_emails"].rstrip(" │").endswith("S")
    assert "T+S" in rows["invoices"]
    assert "S (R39 only)" in rows["supplier-tax-detail"]
    assert "T Coupa's reference tables" in table.output  # the legend


def test_schema_table_shows_each_fields_source(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoices", "--format", "table"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    source = {name: row.split("│")[-2].strip() for name, row in rows.items()}
    assert source["invoice-number"] == "T+S"
    assert source["amount-due"] == "S"  # a field only Swagger lists
    assert source["custom-fields"] == "C"
    assert source["confirmation"] == "T+S  !"  # the table says 50 characters, Swagger 255


def test_schema_json_gives_sources_releases_and_disagreements(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoices", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "invoices" and data["for"] == "query"
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["amount-due"]["sources"] == ["swagger"]
    assert fields["amount-due"]["releases"] == ["R38", "R39"]
    assert fields["confirmation"]["disputed"] == {"max_length": {"tables": 50, "swagger": 255}}
    assert fields["confirmation"]["max_length"] == 255
    assert fields["custom-fields"]["releases"] == []


def test_schema_of_an_object_only_swagger_knows(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "invoice_emails", "--format", "json"])
    assert result.exit_code == 0, result.output
    fields = {f["name"]: f for f in json.loads(result.output)["fields"]}
    assert fields["email"]["kind"] == "string" and fields["email"]["max_length"] == 255
    assert all(f["sources"] == ["swagger"] for n, f in fields.items() if n != "custom-fields")
