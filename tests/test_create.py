"""Create against the sandbox: every input format, validation, Coupa's refusals, counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _write_support import (
    FAST,
    call,
    env_for,
    find,
    invoice,
    invoice_refs,
    invoke_cli,
    json_summary,
    run_writes,
    supplier,
    tag,
    write_jsonl,
)
from coupa_connector.activities.write._results import WriteOutcome
from coupa_connector.activities.write.create import create
from coupa_connector.cli._main import cli
from coupa_connector.errors import ConfigurationError, UnknownObjectError
from coupa_connector.sandbox import Sandbox


def _write_xml(path: Path, invoices: list[dict[str, Any]]) -> None:
    def element(name: str, value: Any) -> str:
        if isinstance(value, dict):
            return f"<{name}>" + "".join(element(k, v) for k, v in value.items()) + f"</{name}>"
        if isinstance(value, list):
            child = name[:-1]
            inner = "".join(element(child, v) for v in value)
            return f'<{name} type="array">{inner}</{name}>'
        if isinstance(value, bool):
            return f'<{name} type="boolean">{str(value).lower()}</{name}>'
        if isinstance(value, int):
            return f'<{name} type="integer">{value}</{name}>'
        return f"<{name}>{value}</{name}>"

    body = "".join(element("invoice-header", inv) for inv in invoices)
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<invoice-headers type="array">{body}'
        "</invoice-headers>\n",
        encoding="utf-8",
    )


def _write_csv(path: Path, invoices: list[dict[str, Any]]) -> None:
    rows = []
    for inv in invoices:
        row = {
            "invoice-number": inv["invoice-number"],
            "invoice-date": inv["invoice-date"],
            "supplier.number": inv["supplier"]["number"],
            "currency.code": "USD",
            "account-type.name": inv["account-type"]["name"],
            "bill-to-address.location-code": inv["bill-to-address"]["location-code"],
            "line-level-taxation": "false",
        }
        for i, line in enumerate(inv["invoice-lines"]):
            p = f"invoice-lines[{i}]."
            row.update(
                {
                    p + "line-num": str(line["line-num"]),
                    p + "type": line["type"],
                    p + "description": line["description"],
                    p + "quantity": line["quantity"],
                    p + "price": line["price"],
                    p + "uom.code": "EA",
                    p + "account.code": line["account"]["code"],
                    p + "account.account-type.name": "US COA",
                }
            )
        rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as fh:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "xml"])
def test_create_invoices_with_lines_from_each_format(
    sandbox: Sandbox, tmp_path: Path, fmt: str
) -> None:
    refs = invoice_refs(sandbox)
    t = tag()
    invoices = [invoice(refs, f"INV-{fmt}-{t}-{n}", lines=n + 1) for n in range(3)]
    path = tmp_path / f"invoices.{fmt}"
    if fmt == "csv":
        _write_csv(path, invoices)
    elif fmt == "jsonl":
        write_jsonl(path, invoices)
    elif fmt == "json":
        path.write_text(json.dumps(invoices), encoding="utf-8")
    else:
        _write_xml(path, invoices)
    results = tmp_path / "results.jsonl"

    outcome = invoke_cli(
        sandbox, ["create", "invoices", str(path), "--results", str(results), "--summary", "json"]
    )

    assert outcome.exit_code == 0, outcome.output
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["position"] for r in rows] == [1, 2, 3]
    assert all(r["outcome"] == "created" and isinstance(r["id"], int) for r in rows)
    for row, sent in zip(rows, invoices, strict=True):
        stored = call(sandbox, "GET", f"/api/invoices/{row['id']}")
        assert stored["invoice-number"] == sent["invoice-number"]
        assert stored["status"] == "draft"
        assert stored["supplier"]["number"] == refs["supplier"]["number"]
        lines = stored["invoice-lines"]
        assert [ln["description"] for ln in lines] == [
            ln["description"] for ln in sent["invoice-lines"]
        ]
        assert [ln["price"] for ln in lines] == [ln["price"] for ln in sent["invoice-lines"]]


def test_mixed_batch_rejects_invalid_records_and_reports_coupa_refusals(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    existing = find(sandbox, "suppliers", fields='["id","name"]')[0]["name"]
    records: list[dict[str, Any]] = [
        supplier(f"Good {t} 1", f"G-{t}-1"),  # 1 created
        {"number": f"N-{t}"},  # 2 required: name missing
        supplier(f"Unknown {t}", f"U-{t}", colour="blue"),  # 3 unknown field
        supplier(f"ReadOnly {t}", f"R-{t}", **{"created-at": "2024-01-01T00:00:00Z"}),  # 4
        supplier(f"Type {t}", f"T-{t}", **{"savings-pct": "lots"}),  # 5 wrong type
        supplier("x" * 300, f"L-{t}"),  # 6 too long
        supplier(f"Allowed {t}", f"A-{t}", **{"po-method": "pigeon"}),  # 7 not allowed
        supplier(f"Ref {t}", f"F-{t}", **{"payment-term": ["Net 30"]}),  # 8 reference shape
        supplier(existing, f"D-{t}"),  # 9 Coupa: name already taken
        supplier(f"BadRef {t}", f"B-{t}", **{"payment-term": {"code": f"NOPE-{t}"}}),  # 10
        supplier(f"Good {t} 2", f"G-{t}-2"),  # 11 created
        supplier(f"Coll {t}", f"C-{t}", **{"remit-to-addresses": "not a list"}),  # 12
        supplier(f"Custom {t}", f"CF-{t}", **{"custom-fields": "flat"}),  # 13
    ]
    path = tmp_path / "suppliers.jsonl"
    write_jsonl(path, records)
    results_path = tmp_path / "results.csv"
    rejects_path = tmp_path / "rejects.jsonl"

    outcome = invoke_cli(
        sandbox,
        [
            "create",
            "suppliers",
            str(path),
            "--results",
            str(results_path),
            "--rejects",
            str(rejects_path),
            "--summary",
            "json",
            # Strict: the read-only and the unknown field refuse their records too.
            "--strict",
        ],
    )

    assert outcome.exit_code == 1, outcome.output
    summary = json_summary(outcome)
    assert summary["read"] == 13
    assert (summary["created"], summary["rejected"], summary["failed"]) == (2, 9, 2)
    assert summary["read"] == summary["created"] + summary["rejected"] + summary["failed"]
    with results_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    outcomes = {int(r["position"]): r["outcome"] for r in rows}
    assert outcomes == {
        1: "created",
        2: "rejected",
        3: "rejected",
        4: "rejected",
        5: "rejected",
        6: "rejected",
        7: "rejected",
        8: "rejected",
        9: "failed",
        10: "failed",
        11: "created",
        12: "rejected",
        13: "rejected",
    }
    messages = {int(r["position"]): r["messages"] for r in rows}
    assert "name" in messages[2] and "[required]" in messages[2]
    assert "colour" in messages[3] and "[unknown_field]" in messages[3]
    assert "created-at" in messages[4] and "[read_only]" in messages[4]
    assert "savings-pct" in messages[5] and "[type]" in messages[5]
    assert "[max_length]" in messages[6]
    assert "pigeon" in messages[7] and "[allowed]" in messages[7]
    assert "payment-term" in messages[8] and "[reference]" in messages[8]
    assert "already been taken" in messages[9]
    assert rows[8]["status"] == "400" and rows[9]["status"] == "400"
    assert "payment" in messages[10].lower()
    # Rejected records never reached Coupa; refused ones did not get in either.
    assert "remit-to-addresses" in messages[12] and "[collection]" in messages[12]
    assert "custom-fields" in messages[13] and "[custom_fields]" in messages[13]
    for n in (2, 3, 4, 5, 6, 7, 8, 10, 12, 13):
        name = records[n - 1].get("name")
        if name:
            assert find(sandbox, "suppliers", name=name) == []
    # The rejects file holds every record not written, as given, plus its reasons.
    rejects = [json.loads(line) for line in rejects_path.read_text().splitlines()]
    assert len(rejects) == 11
    assert rejects[0] == {**records[1], "_errors": rejects[0]["_errors"]}
    assert rejects[0]["_errors"][0].startswith("rejected: ")
    assert rejects[7]["name"] == existing and "failed: " in rejects[7]["_errors"][0]


def test_rejects_file_can_be_fixed_and_fed_back(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = tmp_path / "in.csv"
    path.write_text(
        "name,number,status,po-method\n"
        f"Fixme {t},FX-{t},active,pigeon\n"
        f"Fine {t},FN-{t},active,email\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    first = invoke_cli(sandbox, ["create", "suppliers", str(path), "--rejects", str(rejects)])
    assert first.exit_code == 1
    text = rejects.read_text(encoding="utf-8")
    assert text.splitlines()[0].split(",")[-1] == "_errors"
    assert "pigeon" in text and f"Fine {t}" not in text

    fixed = rejects.read_text(encoding="utf-8").replace("pigeon", "email")
    rejects.write_text(fixed, encoding="utf-8")
    second = invoke_cli(sandbox, ["create", "suppliers", str(rejects), "--summary", "json"])
    assert second.exit_code == 0, second.output
    assert json_summary(second)["created"] == 1
    assert find(sandbox, "suppliers", number=f"FX-{t}")[0]["po-method"] == "email"


def test_python_api_takes_any_iterable_and_async_iterables(sandbox: Sandbox) -> None:
    t = tag()

    async def records() -> Any:
        for n in range(5):
            yield supplier(f"Async {t} {n}", f"AS-{t}-{n}")

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "supplier", records(), options=FAST)
    )
    assert summary.created == 5 and summary.read == 5
    assert [r.position for r in results] == [1, 2, 3, 4, 5]
    stored = {
        s["number"]: s["id"]
        for s in find(sandbox, "suppliers", **{"number[starts_with]": f"AS-{t}"})
    }
    assert {r.id for r in results} == set(stored.values())


def test_dry_run_validates_without_sending(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps(supplier(f"Dry {t}", f"DRY-{t}")) + "\n" + json.dumps({"number": "x"}) + "\n",
        encoding="utf-8",
    )
    sandbox.reset_stats()
    outcome = invoke_cli(
        sandbox, ["create", "suppliers", str(path), "--dry-run", "--summary", "json"]
    )
    assert outcome.exit_code == 1
    summary = json_summary(outcome)
    assert (summary["valid"], summary["rejected"], summary["read"]) == (1, 1, 2)
    assert sandbox.stats()["total"] == 0  # nothing at all was sent
    assert find(sandbox, "suppliers", number=f"DRY-{t}") == []


def test_stdin_input_and_unreadable_lines_are_rejected_not_fatal(sandbox: Sandbox) -> None:
    t = tag()
    text = (
        json.dumps(supplier(f"Stdin {t}", f"SI-{t}"))
        + "\n{broken json\n"
        + json.dumps(supplier(f"Stdin2 {t}", f"SI2-{t}"))
        + "\n"
    )
    outcome = CliRunner().invoke(
        cli,
        [
            "create",
            "suppliers",
            "-",
            "--input-format",
            "jsonl",
            "--summary",
            "json",
            "--allow-partial",
        ],
        input=text,
        env=env_for(sandbox),
    )
    assert outcome.exit_code == 0, outcome.output
    summary = json_summary(outcome)
    assert (summary["read"], summary["created"], summary["rejected"]) == (3, 2, 1)


def test_unknown_object_and_uncreatable_objects_fail_before_reading() -> None:
    with pytest.raises(UnknownObjectError):
        create(None, "invoicez", [])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="no create"):
        create(None, "currencies", [])  # type: ignore[arg-type]
    outcome = CliRunner().invoke(cli, ["create", "invoicez", "x.csv"])
    assert outcome.exit_code == 2 and "invoices" in outcome.output


def test_results_carry_outcome_enum(sandbox: Sandbox) -> None:
    t = tag()
    results, _ = run_writes(
        sandbox,
        lambda conn: create(
            conn, "departments", [{"name": f"Dept {t}"}, {"name": f"Dept {t}"}], options=FAST
        ),
    )
    assert [r.outcome for r in results] == [WriteOutcome.CREATED, WriteOutcome.FAILED]
    assert results[1].status == 400 and any("taken" in m for m in results[1].messages)
