"""``coupa.attachments`` in operations: files out of Coupa with a manifest, files into Coupa
matched by a natural key, each file a record in the operation log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from _client_sandbox import sandbox_config
from _operations_support import config_for
from coupa_connector import Connection
from coupa_connector.operations import run_operations
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed_size=40) as server:
        yield server


def _run(sb: Sandbox, tmp_path: Path, text: str) -> list[object]:
    path = tmp_path / "ops.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return run_operations(path, log_db=tmp_path / "oplog.sqlite", connection=config_for(sb))


def test_scans_matched_by_invoice_number_are_uploaded(sb: Sandbox, tmp_path: Path) -> None:
    with Connection(sandbox_config(sb)) as conn:
        numbers = [
            r["invoice-number"]
            for r in conn.query("invoices", limit=3, fields=["id", "invoice-number"])
        ]
    scans = tmp_path / "scans"
    scans.mkdir()
    rows = []
    for n, number in enumerate(numbers):
        (scans / f"{number}.pdf").write_bytes(f"%PDF-1.4 scan {n}".encode())
        rows.append({"invoice": number, "file": f"scans/{number}.pdf"})
    rows.append({"invoice": "NO-SUCH-INVOICE", "file": "scans/x.pdf"})
    (scans / "x.pdf").write_bytes(b"%PDF")
    rows.append({"invoice": numbers[0], "file": "scans/missing.pdf"})
    index = tmp_path / "scans.csv"
    with index.open("w", newline="") as out:
        writer = csv.DictWriter(out, ["invoice", "file"])
        writer.writeheader()
        writer.writerows(rows)
    [result] = _run(
        sb,
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          scans-in:
            source: {{type: file, path: {index}}}
            transform:
              mapping:
                invoice-number: invoice
                path: file
            target:
              type: coupa.attachments
              object: invoices
              match: invoice-number
              intent: Supplier
            rejects: {tmp_path}/rejects.csv
        """,
    )
    counts = result.counts  # type: ignore[attr-defined]
    assert (counts.read, counts.written, counts.rejected + counts.failed) == (5, 3, 2)
    with Connection(sandbox_config(sb)) as conn:
        for number in numbers:
            [invoice] = conn.query("invoices", where={"invoice-number": number}, fields=["id"])
            names = {a.name: a for a in conn.attachments("invoices", invoice["id"])}
            assert names[f"{number}.pdf"].intent == "Supplier"
    rejects = (tmp_path / "rejects.csv").read_text()
    assert "NO-SUCH-INVOICE" in rejects and "missing.pdf" in rejects


def test_attachments_source_downloads_with_a_manifest(sb: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    [result] = _run(
        sb,
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          files-out:
            source:
              type: coupa.attachments
              object: invoices
              where: id<=9
              kinds: [attachments, scan]
              download_to: {tmp_path}/files
            transform:
              mapping:
                invoice: parent-number
                kind: kind
                name: file-file-name
                sha256: sha256
                path: path
            target: {{type: file, path: {out}}}
        """,
    )
    counts = result.counts  # type: ignore[attr-defined]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert counts.read == counts.written == len(records) > 9
    for record in records:
        assert hashlib.sha256(Path(record["path"]).read_bytes()).hexdigest() == record["sha256"]
    manifest = list(csv.DictReader(io.StringIO((tmp_path / "files" / "manifest.csv").read_text())))
    assert len(manifest) == len(records)


def test_a_file_that_cannot_be_downloaded_is_rejected_and_the_rest_go_on(
    sb: Sandbox, tmp_path: Path
) -> None:
    with Connection(sandbox_config(sb)) as conn:
        [first, *_] = conn.attachments("invoices", 1)
    sb.set_faults(short_rate=1.0, path=rf"/attachments/{first.id}$")
    [result] = _run(
        sb,
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          files-out:
            source:
              type: coupa.attachments
              object: invoices
              where: id<=9
              download_to: {tmp_path}/files
            transform:
              mapping:
                name: file-file-name
                path: path
            target: {{type: file, path: {tmp_path}/records.jsonl}}
            rejects: {tmp_path}/rejects.jsonl
        """,
    )
    counts = result.counts  # type: ignore[attr-defined]
    assert counts.rejected == 1 and counts.written >= 2
    assert counts.read == counts.written + counts.rejected + counts.failed
    assert "download failed" in (tmp_path / "rejects.jsonl").read_text()


def test_attachments_source_lists_without_downloading(sb: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "list.jsonl"
    [result] = _run(
        sb,
        tmp_path,
        f"""
        connection:
          env: true
        operations:
          list-out:
            source: {{type: coupa.attachments, object: contracts}}
            transform:
              mapping:
                contract: parent-number
                name: file-file-name
                size: file-file-size
            target: {{type: file, path: {out}}}
        """,
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert result.counts.written == len(records) > 0  # type: ignore[attr-defined]
    assert all(r["contract"].startswith("CTR-") and r["name"] for r in records)
    assert not (tmp_path / "files").exists()
