"""Records' own secrets (a supplier's ``cxml-secret``, a user's ``password``) never reach the
operation log, ``coupa logs`` or the debug log in clear; the rejects file keeps the input as
given, for it to be fixed and fed back."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from _operations_support import config_for
from coupa_connector.catalog import load_catalog
from coupa_connector.cli._main import cli
from coupa_connector.client._redact import is_secret_field
from coupa_connector.operations import OpLog, RecordOutcome, read_records, run_operations
from coupa_connector.operations._masking import RecordMask
from coupa_connector.operations._transform import TransformSpec, compile_expression
from coupa_connector.sandbox import Sandbox

OPS = """
    connection: {env: true}
    operations:
      suppliers-in:
        debug: true
        source: {type: file, path: suppliers.csv}
        transform:
          mapping:
            number: number
            name: name
            status: "'active'"
            cxml-secret: cxml-secret
            cxml-http-password: cxml-http-password
            cxml-invoice-secret: "if(shared == 'shared-ZZZ-key', to_integer(shared), shared)"
        target: {type: coupa.create, object: suppliers}
        rejects: "${out}/rejects.csv"
"""


def secrets_of(tag: str) -> list[str]:
    return [f"cx-{tag}-secret", f"http-{tag}-pass", f"shared-{tag}-key"]


def row(number: str, name: str, tag: str) -> str:
    return ",".join([number, name, *secrets_of(tag)])


def test_failed_and_rejected_records_are_stored_and_shown_with_their_secrets_masked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.reset()
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(OPS).lstrip())
    header = "number,name,cxml-secret,cxml-http-password,shared\n"
    rows = [
        row("SEC-1", "Secret One", "AAA"),  # created
        row("SEC-1", "Secret Again", "BBB"),  # the same number: Coupa refuses it (failed)
        row("SEC-2", "", "CCC"),  # no name: rejected by validation before it is sent
        row("SEC-3", "Secret Three", "ZZZ"),  # the mapping fails on it, quoting the value
    ]
    (tmp_path / "suppliers.csv").write_text(header + "\n".join(rows) + "\n")
    log_db = tmp_path / "oplog.sqlite"
    [result] = run_operations(
        ops,
        variables={"out": str(tmp_path / "out")},
        log_db=log_db,
        connection=config_for(sandbox),
        debug=True,
    )
    assert (result.counts.written, result.counts.failed, result.counts.rejected) == (1, 1, 2)
    kept = secrets_of("BBB") + secrets_of("CCC") + secrets_of("ZZZ")

    # The operation log's file, every byte of it (and its write-ahead log).
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("oplog.sqlite*"))
    assert b"SEC-2" in stored  # the records are there...
    for secret in kept:
        assert secret.encode() not in stored, secret  # ...their secrets are not

    runner = CliRunner()
    shown = runner.invoke(cli, ["logs", str(result.run_id), "--log-db", str(log_db)])
    as_json = runner.invoke(
        cli, ["logs", str(result.run_id), "--log-db", str(log_db), "--format", "json"]
    )
    assert shown.exit_code == 0 and as_json.exit_code == 0, shown.output
    assert "SEC-2" in shown.output and "**********" in shown.output
    failures = json.loads(as_json.output)["failures"]
    assert [f["outcome"] for f in failures] == ["failed", "rejected", "rejected"]
    for f in failures:
        assert f["record"]["cxml-secret"] == "**********"
        assert f["record"]["shared"] == "**********"  # mapped to cxml-invoice-secret
    assert failures[2]["messages"] == ["cxml-invoice-secret: '**********' is not a number"]
    assert result.debug_log is not None
    debug_text = Path(result.debug_log).read_text()
    for secret in kept:
        assert secret not in shown.output and secret not in as_json.output, secret
        assert secret not in debug_text, secret

    # The rejects file holds the input as given, to be fixed and fed back.
    rejects = list(read_records(tmp_path / "out" / "rejects.csv"))
    assert [r["cxml-secret"] for r in rejects] == [
        "cx-BBB-secret",
        "cx-CCC-secret",
        "cx-ZZZ-secret",
    ]


def test_coupa_logs_masks_records_of_a_log_that_kept_them_in_clear(tmp_path: Path) -> None:
    # An operation log written by an earlier version stored failed records as they came.
    db = tmp_path / "log.sqlite"
    with OpLog(db) as log:
        run_id = log.start_run("users-in", "/ops.yaml")
        log.finish_run(run_id, "partial")
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO failures (run_id, position, outcome, messages, record, at) "
            "VALUES (?, 0, 'failed', '[\"HTTP 400\"]', ?, '2026-01-01T00:00:00Z')",
            (run_id, json.dumps({"login": "jdoe", "password": "clear-pass-1"})),
        )
    out = CliRunner().invoke(cli, ["logs", str(run_id), "--log-db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert "clear-pass-1" not in out.output
    assert json.loads(out.output)["failures"][0]["record"] == {
        "login": "jdoe",
        "password": "**********",
    }


def test_messages_lose_the_secret_values_they_quote(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        run_id = log.start_run("op", "/ops.yaml")
        log.record_batch(
            run_id,
            [
                RecordOutcome(
                    "0",
                    0,
                    "failed",
                    messages=["cxml-secret 'hunter22' is too long"],
                    record={"cxml-secret": "hunter22", "name": "Acme"},
                )
            ],
        )
        [failure] = log.run(run_id)["failures"]  # type: ignore[index]
    assert failure["messages"] == ["cxml-secret '**********' is too long"]
    assert failure["record"] == {"cxml-secret": "**********", "name": "Acme"}


def test_input_fields_mapped_to_a_secret_field_are_masked_too() -> None:
    spec = TransformSpec(
        mapping=(
            ("name", compile_expression("vendor_name")),
            ("cxml-secret", compile_expression("trim(shared_key)")),
            ("cxml-http-password", compile_expression("creds.http")),
        )
    )
    mask = RecordMask.for_transform(spec)
    record = {"vendor_name": "Acme", "shared_key": " k1 ", "creds": {"http": "p1"}}
    assert mask.record(record) == {
        "vendor_name": "Acme",
        "shared_key": "**********",
        "creds": {"http": "**********"},
    }


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        ("suppliers", "cxml-secret"),
        ("suppliers", "cxml-http-password"),
        ("suppliers", "cxml-invoice-secret"),
        ("suppliers", "coupa-connect-secret"),
        ("users", "password"),
        ("supplier-user", "password"),
        ("punchout-site", "secret"),
        ("supplier_sites", "cxml-secret"),
    ],
)
def test_every_secret_field_of_the_catalog_is_on_the_masking_list(obj: str, name: str) -> None:
    assert name in load_catalog().get(obj).fields
    assert is_secret_field(name) and is_secret_field(name.replace("-", "_"))
