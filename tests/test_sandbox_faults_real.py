"""Faults in front of the real Coupa API: what a client of the sandbox meets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx2
import pytest

from _sandbox_tiny import client, loopback, mint_token
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx2.Client]:
    token = mint_token(sandbox, sandbox.client_id, sandbox.client_secret)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with client(sandbox.url, headers) as conn:
        yield conn
    sandbox.clear_faults()


def _suppliers_named(http: httpx2.Client, name: str) -> list[dict[str, object]]:
    r = http.get("/api/suppliers", params={"name": name})
    assert r.status_code == 200
    return list(r.json())


def test_commit_then_drop_creates_the_supplier(sandbox: Sandbox, http: httpx2.Client) -> None:
    name = f"Commit Drop {uuid.uuid4().hex[:8]}"
    sandbox.set_faults(commit_drop_count=1, methods=["POST"], path="^/api/suppliers$")
    with pytest.raises(httpx2.RemoteProtocolError):
        http.post("/api/suppliers", json={"name": name, "number": name[-8:]})
    saved = _suppliers_named(http, name)
    assert len(saved) == 1 and saved[0]["name"] == name
    assert sandbox.faults()["injected"]["commit_drop"] == 1


def test_dropped_create_is_not_saved(sandbox: Sandbox, http: httpx2.Client) -> None:
    name = f"Dropped {uuid.uuid4().hex[:8]}"
    sandbox.set_faults(drop_count=1, methods=["POST"])
    with pytest.raises(httpx2.RemoteProtocolError):
        http.post("/api/suppliers", json={"name": name})
    assert _suppliers_named(http, name) == []
    created = http.post("/api/suppliers", json={"name": name})
    assert created.status_code == 201, created.text
    assert len(_suppliers_named(http, name)) == 1


def test_truncated_page_of_invoices(sandbox: Sandbox, http: httpx2.Client) -> None:
    sandbox.set_faults(truncate_count=1, path="^/api/invoices$")
    with pytest.raises(httpx2.RemoteProtocolError):
        http.get("/api/invoices")
    page = http.get("/api/invoices").json()
    assert len(page) == 50


def test_server_error_bodies_in_xml_and_json(sandbox: Sandbox, http: httpx2.Client) -> None:
    sandbox.set_faults(error_count=2, error_statuses=[500])
    assert http.get("/api/currencies").json() == {
        "errors": {"base": ["We're sorry, but something went wrong."]}
    }
    r = http.get("/api/currencies", headers={"Accept": "application/xml"})
    assert r.status_code == 500 and "<errors>" in r.text


def test_stats_follow_real_routes(sandbox: Sandbox, http: httpx2.Client) -> None:
    sandbox.reset_stats()
    first = http.get("/api/invoices", params={"limit": 1}).json()[0]
    http.get(f"/api/invoices/{first['id']}")
    http.get("/api/invoices/999999999")
    stats = sandbox.stats()
    assert stats["by_route"]["GET /api/invoices"]["by_status"] == {"200": 1}
    assert stats["by_route"]["GET /api/invoices/:id"]["by_status"] == {"200": 1, "404": 1}


def test_latency_at_start_and_reset_of_data(sandbox_db: object) -> None:
    import time

    with Sandbox(db=str(sandbox_db), seed_size=10, latency_ms=200) as server:
        token = mint_token(server, server.client_id, server.client_secret)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        started = time.perf_counter()
        invoices = loopback().get(f"{server.url}/api/invoices", headers=headers).json()
        assert time.perf_counter() - started >= 0.2
        assert len(invoices) == 10
        counts = server.reset(seed_size=3)
        assert counts["invoices"] == 3
    # The file keeps the data: a restart does not reseed it.
    with Sandbox(db=str(sandbox_db), seed_size=10) as again:
        token = mint_token(again, again.client_id, again.client_secret)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        assert len(loopback().get(f"{again.url}/api/invoices", headers=headers).json()) == 3
