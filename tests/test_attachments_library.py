"""Attachments and documents through the library, sync and async, against the sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from _client_sandbox import sandbox_config
from coupa_connector import AsyncConnection, Connection
from coupa_connector.errors import (
    ConfigurationError,
    FileError,
    FileTooLargeError,
    IncompleteDownloadError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")

DATA = bytes(range(256)) * 3000  # 768 kB: several chunks each way


@pytest.fixture
def conn(sandbox: Sandbox) -> Iterator[Connection]:
    with Connection(sandbox_config(sandbox)) as connection:
        yield connection


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".coupa-part")]


def test_upload_list_download_round_trip(conn: Connection, tmp_path: Path) -> None:
    source = tmp_path / "Scan 1.pdf"
    source.write_bytes(DATA)
    made = conn.upload_attachment("invoices", 11, source, intent="Supplier")
    assert (made.name, made.size, made.intent, made.content_type) == (
        "Scan 1.pdf",
        len(DATA),
        "Supplier",
        "application/pdf",
    )
    assert made.id in [a.id for a in conn.attachments("invoices", 11)]
    got = conn.download_attachment("invoices", 11, made, tmp_path / "copy.pdf")
    assert got.path == tmp_path / "copy.pdf"
    assert got.path.read_bytes() == DATA
    assert got.sha256 == hashlib.sha256(DATA).hexdigest()
    into = tmp_path / "folder"
    into.mkdir()
    by_id = conn.download_attachment("invoices", 11, made.id, into)
    assert by_id.path == into / "Scan 1.pdf" and by_id.path.read_bytes() == DATA
    stream = io.BytesIO()
    conn.download_attachment("invoices", 11, made, stream)
    assert stream.getvalue() == DATA
    assert not _parts(tmp_path)


def test_bytes_url_and_text_attachments(conn: Connection, tmp_path: Path) -> None:
    made = conn.upload_attachment("contracts", 2, b"%PDF-1.4 bytes", filename="terms.pdf")
    assert made.name == "terms.pdf" and made.size == 14
    url = conn.upload_attachment("purchase_orders", 2, url="https://example.com/po.pdf")
    assert (url.type, url.url) == ("url", "https://example.com/po.pdf")
    text = conn.upload_attachment("purchase_orders", 2, text="Deliver to dock 4", intent="Supplier")
    assert (text.type, text.text, text.intent) == ("text", "Deliver to dock 4", "Supplier")
    with pytest.raises(FileError, match="is a text, not a file"):
        conn.download_attachment("purchase_orders", 2, text, tmp_path / "x")


def test_record_mode_follows_file_url(tmp_path: Path) -> None:
    with Sandbox(attachment_show="record") as sb, Connection(sandbox_config(sb)) as conn:
        made = conn.upload_attachment("invoices", 3, DATA, filename="r.bin")
        got = conn.download_attachment("invoices", 3, made.id, tmp_path)
        assert got.path == tmp_path / "r.bin" and got.path.read_bytes() == DATA
        sb.set_faults(short_count=1, path=r"/file$")
        again = conn.download_attachment("invoices", 3, made.id, tmp_path / "again.bin")
        assert again.path is not None and again.path.read_bytes() == DATA
        assert conn.stats.retries >= 1


def test_documents(conn: Connection, tmp_path: Path) -> None:
    scan = conn.download_document("invoices", 1, "scan", tmp_path)
    assert scan.path is not None and scan.path.read_bytes()[:4] == b"\x89PNG"
    legal = conn.download_document("invoices", 1, "retrieve_legal_invoice_pdf", tmp_path)
    assert legal.content_type == "application/pdf"
    agreement = conn.download_document("contracts", 1, "legal-agreement", tmp_path / "c.pdf")
    assert agreement.path == tmp_path / "c.pdf"
    receipts = conn.download_document("expense_reports", 2, "receipts", tmp_path)
    assert receipts.name.endswith(".zip")
    answer = conn.upload_document("invoices", 12, "scan", b"\x89PNG new", filename="s.png")
    assert answer["id"] == 12
    new = io.BytesIO()
    conn.download_document("invoices", 12, "scan", new)
    assert new.getvalue() == b"\x89PNG new"
    with pytest.raises(NotFoundError, match="No legal invoice pdf"):
        conn.download_document("invoices", 2, "legal-pdf", tmp_path)
    with pytest.raises(ConfigurationError, match="have no 'receipts' document"):
        conn.download_document("invoices", 2, "receipts", tmp_path)


def test_bad_input_is_refused_clearly(conn: Connection, tmp_path: Path) -> None:
    with pytest.raises(FileError, match="no such file"):
        conn.upload_attachment("invoices", 1, tmp_path / "missing.pdf")
    with pytest.raises(NotFoundError, match="id 987654"):
        conn.upload_attachment("invoices", 987654, b"x", filename="x.pdf")
    with pytest.raises(ValidationError, match="not allowed"):
        conn.upload_attachment("invoices", 1, b"MZ", filename="tool.exe")
    with pytest.raises(ConfigurationError, match="have no attachments"):
        conn.attachments("currencies", 1)
    with pytest.raises(ConfigurationError, match="one of file, url or text"):
        conn.upload_attachment("invoices", 1, b"x", text="y")


def test_size_cap_both_ways(sandbox: Sandbox, tmp_path: Path) -> None:
    with Connection(sandbox_config(sandbox)) as big:
        made = big.upload_attachment("invoices", 5, DATA, filename="big.bin")
    with Connection(sandbox_config(sandbox, max_file_bytes="100KiB")) as conn:
        with pytest.raises(FileTooLargeError, match=r"max_file_bytes \(100 KiB\)") as up:
            conn.upload_attachment("invoices", 5, DATA, filename="big.bin")
        assert up.value.limit == 100 * 1024
        assert conn.stats.requests == 0  # refused before sending
        with pytest.raises(FileTooLargeError):
            conn.download_attachment("invoices", 5, made.id, tmp_path / "big.bin")
    assert not (tmp_path / "big.bin").exists() and not _parts(tmp_path)


def test_cut_downloads_are_retried_and_never_kept(
    sandbox: Sandbox, conn: Connection, tmp_path: Path
) -> None:
    made = conn.upload_attachment("invoices", 6, DATA, filename="cut.bin")
    path = f"/attachments/{made.id}$"
    sandbox.set_faults(
        rules=[{"truncate_count": 1, "path": path}, {"short_count": 1, "path": path}]
    )
    got = conn.download_attachment("invoices", 6, made, tmp_path / "cut.bin")
    assert got.path is not None and got.path.read_bytes() == DATA
    sandbox.set_faults(short_rate=1.0, path=path)
    with pytest.raises(IncompleteDownloadError, match=f"of {len(DATA)}"):
        conn.download_attachment("invoices", 6, made, tmp_path / "never.bin")
    assert not (tmp_path / "never.bin").exists() and not _parts(tmp_path)


def test_checksum_catches_a_short_body_of_unknown_size(
    sandbox: Sandbox, conn: Connection, tmp_path: Path
) -> None:
    made = conn.upload_attachment("invoices", 8, DATA, filename="sum.bin")
    sandbox.set_faults(short_rate=1.0, path=f"/attachments/{made.id}$")
    # By id alone the size is unknown: only the Repr-Digest checksum tells the body is short.
    with pytest.raises(IncompleteDownloadError, match="checksum"):
        conn.download_attachment("invoices", 8, made.id, tmp_path / "sum.bin")


def test_throttle_and_server_errors_are_retried(
    sandbox: Sandbox, conn: Connection, tmp_path: Path
) -> None:
    made = conn.upload_attachment("invoices", 9, DATA, filename="t.bin")
    sandbox.set_faults(
        rules=[
            {"throttle_count": 1, "retry_after": 0, "path": "/attachments"},
            {"error_count": 1, "error_statuses": [503], "path": "/attachments"},
        ]
    )
    before = conn.stats.retries
    got = conn.download_attachment("invoices", 9, made, tmp_path / "t.bin")
    assert got.size == len(DATA) and conn.stats.retries >= before + 2


def test_scopes_apply(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_client("inv-reader", "inv-secret", ["core.invoice.read"])
    config = sandbox_config(
        sandbox, client_id="inv-reader", client_secret="inv-secret", scopes=["core.invoice.read"]
    )
    with Connection(config) as reader:
        assert reader.attachments("invoices", 1)
        with pytest.raises(PermissionDeniedError):
            reader.upload_attachment("invoices", 1, b"x", filename="x.pdf")
        with pytest.raises(PermissionDeniedError):
            reader.attachments("purchase_orders", 1)


def test_async_api(sandbox: Sandbox, tmp_path: Path) -> None:
    async def run() -> None:
        async with AsyncConnection(sandbox_config(sandbox)) as conn:
            made = await conn.upload_attachment("purchase_orders", 4, DATA, filename="a.bin")
            listed = await conn.attachments("purchase_orders", 4)
            assert made.id in [a.id for a in listed]
            got = await conn.download_attachment("purchase_orders", 4, made, tmp_path / "a.bin")
            assert got.sha256 == hashlib.sha256(DATA).hexdigest()
            scan = await conn.download_document("invoices", 2, "scan", tmp_path)
            assert scan.size > 0

    asyncio.run(run())


def test_bulk_goes_on_past_a_record_whose_list_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_faults(error_count=50, error_statuses=[503], path=r"^/api/invoices/2/attachments$")
    with Connection(sandbox_config(sandbox, max_retries=2)) as conn:
        result = conn.download_attachments("invoices", tmp_path, ids=[1, 2, 4])
    [failure] = result.failed
    assert (failure.parent_id, failure.kind) == (2, "attachments") and "503" in failure.reason
    assert result.found == result.downloaded + result.kept + len(result.failed)
    assert {r.parent_id for r in result.rows} == {1, 4}
