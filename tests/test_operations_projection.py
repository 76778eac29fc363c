"""Projection from mappings: an operation's Coupa query asks only for the fields its mapping
reads, and the records it delivers are the same as with whole records."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from _operations_support import config_for
from coupa_connector.catalog import load_catalog
from coupa_connector.operations import OpLog, load_operation_file, read_records
from coupa_connector.operations import Runner as OpRunner
from coupa_connector.operations._projection import mapping_projection, source_paths
from coupa_connector.operations._transform import TransformSpec, compile_expression
from coupa_connector.sandbox import Sandbox


def spec(mapping: dict[str, Any], **kw: Any) -> TransformSpec:
    return TransformSpec(
        mapping=tuple((k, compile_expression(v)) for k, v in mapping.items()), **kw
    )


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        ("invoice-number", ["invoice-number"]),
        ("supplier.name", ["supplier.name"]),
        ("invoice-lines[0].price", ["invoice-lines.price"]),
        ("invoice-lines[*].price", ["invoice-lines.price"]),
        ("invoice-lines[].account.code", ["invoice-lines.account.code"]),
        ("invoice-lines[?quantity > `1`].price", ["invoice-lines.price", "invoice-lines.quantity"]),
        ("sort_by(invoice-lines, &price)[0].description", ["invoice-lines"]),
        ("invoice-lines[0].price || length(invoice-lines)", ["invoice-lines"]),
        ("currency.code || 'USD'", ["currency.code"]),
        ("{a: status, b: supplier.number}", ["status", "supplier.number"]),
        ("to_string(invoice-lines[*])", ["invoice-lines"]),
        ("length(invoice-lines)", ["invoice-lines"]),
        ("'constant'", []),
    ],
)
def test_source_paths_follow_each_expression_to_the_fields_it_reads(
    expression: str, paths: list[str]
) -> None:
    assert sorted(source_paths(spec({"x": expression})) or []) == sorted(paths)


@pytest.mark.parametrize("expression", ["@", "to_string(@)", "keys(@)", "@ | status"])
def test_an_expression_on_the_whole_record_asks_for_whole_records(expression: str) -> None:
    assert source_paths(spec({"x": expression, "y": "status"})) is None


def test_keep_and_identity_ask_for_whole_records() -> None:
    assert source_paths(TransformSpec()) is None
    assert source_paths(spec({"x": "status"}, keep=True)) is None


def test_group_by_and_lines_mapping_are_read_too() -> None:
    grouped = TransformSpec(
        mapping=(("number", compile_expression("invoice-number")),),
        group_by=(compile_expression("supplier.number"),),
        lines_field="invoice-lines",
        lines_mapping=(("price", compile_expression("total")),),
    )
    assert source_paths(grouped) == ["invoice-number", "supplier.number", "total"]


def test_the_projection_adds_the_keys_and_falls_back_on_unknown_fields() -> None:
    catalog = load_catalog()
    invoices = catalog.get("invoices")
    wanted = mapping_projection(
        spec({"n": "invoice-number", "s": "supplier.name"}), invoices, catalog
    )
    assert wanted == ["id", "updated-at", "invoice-number", "supplier.name"]
    # A name the catalog does not list may be an instance's custom field: ask for everything
    # rather than silently empty the column.
    assert mapping_projection(spec({"n": "invoice-nmuber"}), invoices, catalog) is None
    assert mapping_projection(spec({"n": "status"}), invoices, catalog, also=["created-at"]) == [
        "id",
        "updated-at",
        "status",
        "created-at",
    ]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


OPERATION = """
    connection: {{env: true}}
    operations:
      invoices-out:
        debug: true
        source:
          type: coupa.query
          object: invoices
          where: {{status: approved}}
          {extra}
        transform:
          mapping:
            number: invoice-number
            supplier: supplier.name
            first_price: invoice-lines[0].price
            accounts: invoice-lines[*].account.code
            total: gross-total
        target:
          type: file
          path: {out}
          format: jsonl
"""


def _run(sandbox: Sandbox, tmp_path: Path, name: str, extra: str) -> tuple[list[Any], str]:
    out = tmp_path / f"{name}.jsonl"
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(OPERATION.format(extra=extra, out=out)).lstrip())
    with OpLog(tmp_path / f"{name}.sqlite") as log:
        [result] = OpRunner(
            load_operation_file(path, {}),
            oplog=log,
            connection=config_for(sandbox),
            debug_dir=tmp_path / name,
        ).run()
    assert result.status == "success", result.error
    assert result.debug_log is not None
    return list(read_records(str(out))), Path(result.debug_log).read_text()


def _in_one_order(records: list[Any]) -> list[Any]:
    return sorted(records, key=lambda r: json.dumps(r, sort_keys=True))


def _fields_sent(debug_log: str) -> set[str]:
    return {unquote(m) for m in re.findall(r"fields=([^&\s)]+)", debug_log)}


def test_an_operation_asks_only_for_what_its_mapping_reads_and_delivers_the_same(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    projected, log = _run(sandbox, tmp_path, "projected", "")
    whole, whole_log = _run(sandbox, tmp_path, "whole", "projection: false")
    # Keyset slices are fetched concurrently and interleave their pages (docs/query.md), so
    # the two runs deliver the same records, in an order that depends on which page came first.
    assert projected and _in_one_order(projected) == _in_one_order(whole)
    [sent] = _fields_sent(log)
    assert json.loads(sent) == [
        "id",
        "updated_at",
        "invoice_number",
        {"supplier": ["name"]},
        {"invoice_lines": ["price", {"account": ["code"]}]},
        "gross_total",
    ]
    assert _fields_sent(whole_log) == set()


def test_fields_given_by_the_operation_are_never_replaced(sandbox: Sandbox, tmp_path: Path) -> None:
    records, log = _run(sandbox, tmp_path, "given", "fields: [id, invoice-number]")
    assert records and not any("supplier" in r for r in records)  # nulls are left out
    [sent] = _fields_sent(log)
    assert json.loads(sent) == ["id", "invoice_number"]
