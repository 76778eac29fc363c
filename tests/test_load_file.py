"""Coupa CSV imports loaded through data_file_sources: the sandbox's loads and the library's
``load_file``, over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from _client_sandbox import sandbox_config, server_records
from _sandbox_tiny import mint_token
from coupa_connector import AsyncConnection, Connection
from coupa_connector.activities.flatfile import FileLoad, PollPolicy, load_file
from coupa_connector.activities.flatfile._load import poll
from coupa_connector.operations.files.coupa_csv import write_coupa_csv
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")

FAST = PollPolicy(first=0.02, factor=1.5, cap=0.2, deadline=60)


def _load(sandbox: Sandbox, path: Path, policy: PollPolicy = FAST, **config: Any) -> FileLoad:
    async def go() -> FileLoad:
        async with AsyncConnection(sandbox_config(sandbox, **config)) as conn:
            return await load_file(conn, "suppliers", path, policy=policy)

    return asyncio.run(go())


def _suppliers(sandbox: Sandbox, prefix: str) -> dict[str, dict[str, Any]]:
    found = server_records(sandbox, "suppliers", {"name[starts_with]": prefix})
    return {r["name"]: r for r in found}


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx2.Client]:
    token = mint_token(sandbox, sandbox.client_id, sandbox.client_secret, " ".join(sandbox.scopes))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx2.Client(base_url=sandbox.url, headers=headers) as client:
        yield client


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_supplier_import_loads_with_errors_per_row(
    sandbox: Sandbox, tmp_path: Path, wire: str
) -> None:
    tag = f"LF {wire}"
    records = [
        {"name": f"{tag} Alpha", "number": f"{tag}-1", "status": "active"},
        {"number": f"{tag}-nameless"},  # Coupa: Name can't be blank
        {"name": f"{tag} Beta", "number": f"{tag}-2", "primary-address": {"city": "Lyon"}},
        {"name": f"{tag} Gamma", "status": "sleeping"},  # not an allowed status
    ]
    [path] = write_coupa_csv("suppliers", records, tmp_path, validate=False)
    load = _load(sandbox, path, wire_format=wire)
    assert load.ok and load.status == "done"
    assert (load.records_count, load.records_created, load.records_updated) == (4, 2, 0)
    errors = load.row_errors()
    assert sorted(errors) == [3, 5]  # the header is row 1
    assert errors[3][0].messages == ("Name can't be blank",)
    assert errors[5][0].field == "status" and errors[5][0].value == "sleeping"
    assert "Status" in errors[5][0].text()
    held = _suppliers(sandbox, tag)
    assert sorted(held) == [f"{tag} Alpha", f"{tag} Beta"]
    assert held[f"{tag} Beta"]["primary-address"]["city"] == "Lyon"
    assert held[f"{tag} Alpha"]["number"] == f"{tag}-1"


def test_rows_naming_a_record_update_it(sandbox: Sandbox, tmp_path: Path) -> None:
    [first] = write_coupa_csv(
        "suppliers", [{"name": "LF Upd", "number": "LFU-1"}], tmp_path / "a", validate=False
    )
    with Connection(sandbox_config(sandbox)) as conn:  # the blocking face does the same
        assert conn.load_file("suppliers", first, policy=FAST).records_created == 1
    rid = _suppliers(sandbox, "LF Upd")["LF Upd"]["id"]
    changes = [
        {"name": "LF Upd", "display-name": "By name"},  # found by its name
        {"id": rid, "number": "LFU-2"},  # found by its id
        {"id": 999999999, "name": "LF Nowhere"},
    ]
    [second] = write_coupa_csv("suppliers", changes, tmp_path / "b", validate=False)
    load = _load(sandbox, second)
    assert (load.records_created, load.records_updated) == (0, 2)
    assert "does not match" in load.row_errors()[4][0].text()
    held = _suppliers(sandbox, "LF Upd")["LF Upd"]
    assert (held["id"], held["display-name"], held["number"]) == (rid, "By name", "LFU-2")


def test_a_file_coupa_cannot_read_fails_and_loads_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.csv"
    bogus.write_bytes(b'"Name*","Favourite Colour"\r\n"LF Bogus","teal"\r\n')
    load = _load(sandbox, bogus)
    assert load.finished and not load.ok and load.status == "failed"
    problem = load.problem()
    assert problem is not None and "Column header Favourite Colour is not valid." in problem
    assert [e.kind for e in load.errors] == ["UploadHeaderError"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b'\xef\xbb\xbf"Name*"\r\n"LF Bom"\r\n')
    assert "byte order mark" in (_load(sandbox, bom).problem() or "")
    assert _suppliers(sandbox, "LF Bo") == {}


def test_a_load_is_pending_until_coupa_gets_to_it(
    sandbox: Sandbox, tmp_path: Path, http: httpx2.Client
) -> None:
    [path] = write_coupa_csv("suppliers", [{"name": "LF Held"}], tmp_path, validate=False)
    sandbox.set_file_loads(hold=True)
    try:
        answer = http.post(
            "/api/data_file_sources/load_file",
            files={"file": (path.name, path.read_bytes(), "text/csv")},
            data={"source_for": "Supplier"},
        )
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert (made["status"], made["source-for"], made["file-file-name"]) == (
            "pending",
            "Supplier",
            path.name,
        )
        rid = made["id"]
        listed = http.get("/api/data_file_sources", params={"status": "pending"}).json()
        assert rid in [r["id"] for r in listed]
        assert _suppliers(sandbox, "LF Held") == {}
    finally:
        sandbox.set_file_loads(hold=False)

    async def wait() -> FileLoad:
        async with AsyncConnection(sandbox_config(sandbox)) as conn:
            load = FileLoad(path=path, id=rid, status="pending")
            await poll(conn, load, FAST, time.monotonic())
            return load

    done = asyncio.run(wait())
    assert done.ok and done.records_created == 1
    assert "LF Held" in _suppliers(sandbox, "LF Held")


def test_a_load_past_its_deadline_is_reported_not_taken_for_done(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    [path] = write_coupa_csv("suppliers", [{"name": "LF Late"}], tmp_path, validate=False)
    sandbox.set_file_loads(hold=True)
    try:
        load = _load(sandbox, path, PollPolicy(first=0.02, cap=0.05, deadline=0.3))
    finally:
        sandbox.set_file_loads(hold=False)
    assert load.timed_out and not load.finished and load.status == "pending"
    problem = load.problem()
    assert problem is not None and f"data file source {load.id}" in problem


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("POST", "/api/data_file_sources", 405, "Creating data file source is not supported"),
        ("PUT", "/api/data_file_sources/1", 405, "Updating data file source is not supported"),
        ("POST", "/api/data_file_sources/load_from_sftp", 400, "does not emulate"),
    ],
)
def test_what_coupa_refuses(
    http: httpx2.Client, method: str, path: str, status: int, text: str
) -> None:
    answer = http.request(method, path, json={})
    assert answer.status_code == status and text in answer.text


def test_uploads_coupa_refuses(sandbox: Sandbox, http: httpx2.Client) -> None:
    url = "/api/data_file_sources/load_file"
    csv = ("s.csv", b'"Name*"\r\n"x"\r\n', "text/csv")
    no_source = http.post(url, files={"file": csv})
    assert no_source.status_code == 400 and "Source for can't be blank" in no_source.text
    unknown = http.post(url, files={"file": csv}, data={"source_for": "Spaceship"})
    assert unknown.status_code == 400 and "Supplier" in unknown.text  # the loaders are named
    no_file = http.post(url, data={"source_for": "Supplier"}, files={"other": ("x", b"")})
    assert no_file.status_code == 400
    sandbox.add_client("lf-reader", "lf-secret", ["core.integration.read"])
    try:
        token = mint_token(sandbox, "lf-reader", "lf-secret", "core.integration.read")
        refused = httpx2.post(
            sandbox.url + url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            files={"file": csv},
            data={"source_for": "Supplier"},
        )
        assert refused.status_code == 403 and "core.integration.write" in refused.text
    finally:
        sandbox.remove_client("lf-reader")


def test_a_load_over_coupas_row_limit_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b'"Name*"\r\n' + b"".join(b'"LF Big %d"\r\n' % i for i in range(5001)))
    load = _load(sandbox, big, dataclasses.replace(FAST, deadline=120))
    assert load.status == "failed" and "more than 5000 rows" in (load.problem() or "")
    assert _suppliers(sandbox, "LF Big") == {}
