"""The sandbox's Attachments API and document files, over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from _sandbox_api_support import Api, messages
from _sandbox_tiny import mint_token
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def _upload(
    api: Api, path: str, data: bytes, name: str = "report.pdf", **form: str
) -> httpx.Response:
    fields = {"attachment[type]": "file", **{f"attachment[{k}]": v for k, v in form.items()}}
    return api.http.post(
        path,
        files={"attachment[file]": (name, data, "application/pdf")},
        data=fields,
        headers={"Accept": "application/json"},
    )


def _digest(response: httpx.Response) -> str:
    value = response.headers["repr-digest"]
    return base64.b64decode(value.split(":")[1]).hex()


def test_upload_list_show_delete_round_trip(api: Api) -> None:
    data = bytes(range(256)) * 700
    created = _upload(api, "/api/invoices/3/attachments", data, intent="Supplier")
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["file-file-name"] == "report.pdf"
    assert record["file-file-size"] == str(len(data))
    assert record["intent"] == "Supplier" and record["type"] == "file"
    listed = api.get("/api/invoices/3/attachments").json()
    assert record["id"] in [a["id"] for a in listed]
    shown = api.get(f"/api/invoices/3/attachments/{record['id']}")
    assert shown.content == data
    assert shown.headers["content-length"] == str(len(data))
    assert _digest(shown) == hashlib.sha256(data).hexdigest()
    assert "report.pdf" in shown.headers["content-disposition"]
    # The same attachment is not under another invoice.
    assert api.get(f"/api/invoices/4/attachments/{record['id']}").status_code == 404
    assert api.http.delete(f"/api/invoices/3/attachments/{record['id']}").status_code == 200
    assert api.get(f"/api/invoices/3/attachments/{record['id']}").status_code == 404


def test_attachments_cannot_be_updated(api: Api) -> None:
    aid = _upload(api, "/api/purchase_orders/1/attachments", b"x").json()["id"]
    refused = api.put(f"/api/purchase_orders/1/attachments/{aid}", {"intent": "Internal"})
    assert refused.status_code == 405
    assert "cannot update" in messages(refused)[0]


def test_text_and_url_attachments_as_json(api: Api) -> None:
    text = api.post(
        "/api/contracts/1/attachments", {"type": "text", "text": "Note", "intent": "Supplier"}
    )
    assert text.status_code == 201 and text.json()["text"] == "Note"
    url = api.post(
        "/api/contracts/1/attachments",
        {"attachment": {"type": "url", "url": "https://example.com/a"}},
    )
    assert url.status_code == 201 and url.json()["url"] == "https://example.com/a"
    # A text attachment's show answers with its record: there is no file.
    shown = api.get(f"/api/contracts/1/attachments/{text.json()['id']}")
    assert shown.json()["text"] == "Note"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"type": "video"}, "Type is not included"),
        ({"type": "url", "url": "ftp://x"}, "not a web address"),
        ({"type": "text"}, "Text can't be blank"),
        ({"type": "file"}, "File can't be blank"),
    ],
)
def test_refused_attachments(api: Api, body: dict[str, str], needle: str) -> None:
    refused = api.post("/api/invoices/2/attachments", body)
    assert refused.status_code == 400
    assert needle in messages(refused)[0]


def test_refused_file_type_and_missing_parent(api: Api) -> None:
    refused = _upload(api, "/api/invoices/2/attachments", b"MZ", name="setup.exe")
    assert refused.status_code == 400 and "not allowed" in messages(refused)[0]
    assert _upload(api, "/api/invoices/999999/attachments", b"x").status_code == 404
    assert api.get("/api/currencies/1/attachments").status_code == 404


def test_upload_over_the_limit_is_refused_without_reading_it() -> None:
    def body() -> Iterator[bytes]:
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="attachment[type]"\r\n\r\nfile\r\n'
        yield boundary + b'Content-Disposition: form-data; name="attachment[file]"; '
        yield b'filename="a.bin"\r\n\r\n'
        for _ in range(10):
            yield b"0" * 500
        yield b"\r\n--xyz--\r\n"

    with Sandbox(attachment_max_bytes=1000) as sb:
        api = Api(sb)
        try:
            before = len(api.get("/api/attachments").json())
            response = api.http.post(
                "/api/invoices/1/attachments",
                content=body(),  # chunked: no Content-Length to refuse it by
                headers={
                    "Content-Type": "multipart/form-data; boundary=xyz",
                    "Accept": "application/json",
                },
            )
            assert response.status_code == 413, response.text
            assert "a.bin" in messages(response)[0] and "1000 bytes" in messages(response)[0]
            assert len(api.get("/api/attachments").json()) == before
            small = _upload(api, "/api/invoices/1/attachments", b"0" * 1000)
            assert small.status_code == 201
        finally:
            api.close()


def test_show_route_answers_the_record_when_asked(tmp_path: Path) -> None:
    with Sandbox(attachment_show="record") as sb:
        api = Api(sb)
        try:
            data = b"%PDF-1.4 record mode"
            aid = _upload(api, "/api/invoices/1/attachments", data).json()["id"]
            shown = api.get(f"/api/invoices/1/attachments/{aid}")
            assert shown.headers["content-type"].startswith("application/json")
            url = shown.json()["file-url"]
            assert url.endswith(f"/api/attachments/{aid}/file")
            assert api.http.get(url).content == data
            xml = api.get(f"/api/invoices/1/attachments/{aid}", fmt="xml")
            assert "<file-url>" in xml.text
        finally:
            api.close()


def test_top_level_attachments(api: Api) -> None:
    aid = _upload(api, "/api/requisitions/1/attachments", b"req file").json()["id"]
    assert aid in [a["id"] for a in api.get("/api/attachments").json()]
    assert api.get(f"/api/attachments/{aid}").content == b"req file"
    assert api.http.delete(f"/api/attachments/{aid}").status_code == 200
    assert api.get(f"/api/attachments/{aid}").status_code == 404


def test_files_live_next_to_the_database(sandbox_db: Path) -> None:
    with Sandbox(db=sandbox_db) as sb:
        api = Api(sb)
        try:
            aid = _upload(api, "/api/invoices/1/attachments", b"kept on disk").json()["id"]
        finally:
            api.close()
    files = list(Path(f"{sandbox_db}.files").iterdir())
    assert [f.read_bytes() for f in files] == [b"kept on disk"]
    with Sandbox(db=sandbox_db) as again:
        api = Api(again)
        try:
            assert api.get(f"/api/invoices/1/attachments/{aid}").content == b"kept on disk"
        finally:
            api.close()


def test_seeded_documents_are_valid_files(api: Api) -> None:
    scans = [api.get(f"/api/invoices/{n}/retrieve_image_scan") for n in (1, 2)]
    assert {s.headers["content-type"] for s in scans} == {"image/png", "application/pdf"}
    for scan in scans:
        assert scan.content[:4] in (b"\x89PNG", b"%PDF")
        assert _digest(scan) == hashlib.sha256(scan.content).hexdigest()
    legal = api.get("/api/invoices/1/retrieve_legal_invoice_pdf")
    assert legal.status_code == 200 and legal.content.rstrip().endswith(b"%%EOF")
    assert api.get("/api/invoices/1/retrieve_clearance_document").status_code == 200
    assert api.get("/api/invoices/2/retrieve_legal_invoice_pdf").status_code == 404
    agreement = api.get("/api/contracts/1/retrieve_legal_agreement")
    assert agreement.content.startswith(b"%PDF-1.4")
    receipts = api.get("/api/expense_reports/1/download")
    names = zipfile.ZipFile(io.BytesIO(receipts.content)).namelist()
    assert names == ["receipt-1-1.png", "receipt-1-2.png"]
    seeded = api.get("/api/invoices/1/attachments").json()
    assert seeded and seeded[0]["file-file-name"] == "delivery-note.pdf"


def test_image_scan_upload_replaces_the_scan(api: Api) -> None:
    response = api.http.put(
        "/api/invoices/7/image_scan",
        files={"file": ("scan-7.png", b"\x89PNG new scan", "image/png")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.json()["id"] == 7
    scan = api.get("/api/invoices/7/retrieve_image_scan")
    assert scan.content == b"\x89PNG new scan"
    assert "scan-7.png" in scan.headers["content-disposition"]
    wrong = api.get("/api/invoices/7/image_scan")
    assert wrong.status_code == 405


def test_scopes_are_the_parents(sandbox: Sandbox) -> None:
    sandbox.add_client("po-reader", "po-secret", ["core.purchase_order.read"])
    token = mint_token(sandbox, "po-reader", "po-secret")
    reader = Api(sandbox, token)
    try:
        assert reader.get("/api/purchase_orders/1/attachments").status_code == 200
        assert reader.get("/api/invoices/1/attachments").status_code == 403
        assert reader.get("/api/invoices/1/retrieve_image_scan").status_code == 403
        denied = _upload(reader, "/api/purchase_orders/1/attachments", b"x")
        assert denied.status_code == 403
        assert "core.purchase_order.write" in messages(denied)[0]
        listed = reader.get("/api/attachments").json()
        assert listed and all("file-url" in a for a in listed)
    finally:
        reader.close()


def _stream_get(url: str, headers: dict[str, str]) -> Iterator[bytes]:
    with httpx.Client() as http, http.stream("GET", url, headers=headers) as response:
        yield from response.iter_bytes()


def test_download_faults_cut_and_short(sandbox: Sandbox, api: Api) -> None:
    data = bytes(range(256)) * 4000
    aid = _upload(api, "/api/invoices/9/attachments", data).json()["id"]
    path = f"/api/invoices/9/attachments/{aid}"
    sandbox.set_faults(truncate_count=1, path=path)
    with pytest.raises(httpx.RemoteProtocolError):
        b"".join(_stream_get(sandbox.url + path, dict(api.http.headers)))
    sandbox.set_faults(short_count=1, path=path)
    short = api.get(path)
    assert short.status_code == 200 and 0 < len(short.content) < len(data)
    assert short.headers["content-length"] == str(len(short.content))
    assert _digest(short) == hashlib.sha256(data).hexdigest()  # the digest gives it away
    assert api.get(path).content == data


@pytest.mark.parametrize("piece", [1, 7, 64, 100_000])
def test_multipart_reader_whatever_the_chunking(piece: int) -> None:
    import asyncio

    from coupa_connector.sandbox._multipart import read_multipart

    payload = b"--b\r\n--bo\r\n" + bytes(range(256)) * 50 + b"\r\n--bou"
    body = (
        b"preamble\r\n--bound\r\n"
        b'Content-Disposition: form-data; name="attachment[intent]"\r\n\r\nSupplier\r\n'
        b"--bound\r\n"
        b'Content-Disposition: form-data; name="attachment[file]"; filename="x;y.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + payload + b"\r\n--bound--\r\n"
    )
    sink = io.BytesIO()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), piece):
            yield body[start : start + piece]

    form = asyncio.run(read_multipart(chunks(), b"bound", lambda *_: sink, max_file=len(payload)))
    assert form.fields == {"attachment[intent]": "Supplier"}
    assert form.files["attachment[file]"].filename == "x;y.bin"
    assert sink.getvalue() == payload


def test_multipart_reader_refuses_bad_forms() -> None:
    import asyncio

    from coupa_connector.sandbox._multipart import MultipartError, read_multipart

    async def once(data: bytes) -> AsyncIterator[bytes]:
        yield data

    def run(data: bytes, max_file: int = 100) -> None:
        asyncio.run(read_multipart(once(data), b"b", lambda *_: io.BytesIO(), max_file=max_file))

    with pytest.raises(MultipartError, match=r"closing boundary|inside a part"):
        run(b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue')
    with pytest.raises(MultipartError, match="no field name"):
        run(b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--")
    with pytest.raises(MultipartError, match="larger than 3 bytes") as big:
        run(
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n12345\r\n--b--',
            3,
        )
    assert big.value.status == 413
