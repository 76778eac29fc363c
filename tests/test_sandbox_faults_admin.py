"""The admin API under /__sandbox__/: its secret, validation, reset and request statistics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _sandbox_tiny import TinySandbox, client, loopback, mint_token
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox._admin import RequestStats, route_template


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/api/invoices", "GET /api/invoices"),
        ("GET", "/api/invoices/", "GET /api/invoices"),
        ("GET", "/api/invoices/42", "GET /api/invoices/:id"),
        ("PUT", "/api/invoices/42/void", "PUT /api/invoices/:id/void"),
        ("GET", "/api/suppliers/7/addresses/9", "GET /api/suppliers/:id/addresses/:id"),
        ("GET", "/", "GET /"),
    ],
)
def test_route_templates(method: str, path: str, template: str) -> None:
    assert route_template(method, path) == template


def test_stats_count_by_route_and_status_and_stay_bounded() -> None:
    stats = RequestStats(clock=lambda: 5.0)
    stats.record("GET", "/api/invoices/1", "200")
    stats.record("GET", "/api/invoices/2", "404")
    stats.record("POST", "/api/invoices", "dropped", "commit_drop")
    snap = stats.snapshot()
    assert snap["total"] == 3
    assert snap["by_status"] == {"200": 1, "404": 1, "dropped": 1}
    assert snap["by_route"]["GET /api/invoices/:id"] == {
        "total": 2,
        "by_status": {"200": 1, "404": 1},
    }
    assert snap["faults"] == {"commit_drop": 1}
    for i in range(5000):
        stats.record("GET", f"/api/x{i}", "404")
    assert len(stats.snapshot()["by_route"]) <= 2001
    stats.reset()
    assert stats.snapshot()["total"] == 0


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinySandbox]:
    with TinySandbox() as server:
        yield server


def test_admin_needs_the_secret(tiny: TinySandbox) -> None:
    assert loopback().get(f"{tiny.url}/__sandbox__/health").json() == {"status": "ok"}
    r = loopback().get(f"{tiny.url}/__sandbox__/stats")
    assert r.status_code == 401 and "X-Sandbox-Admin" in r.json()["error"]
    r = loopback().get(f"{tiny.url}/__sandbox__/stats", headers={"X-Sandbox-Admin": "guess"})
    assert r.status_code == 401
    r = loopback().get(
        f"{tiny.url}/__sandbox__/stats", headers={"X-Sandbox-Admin": tiny.admin_secret}
    )
    assert r.status_code == 200


def test_admin_routes_and_bodies_are_checked(tiny: TinySandbox) -> None:
    headers = {"X-Sandbox-Admin": tiny.admin_secret}
    assert loopback().get(f"{tiny.url}/__sandbox__/nothing", headers=headers).status_code == 404
    r = loopback().post(f"{tiny.url}/__sandbox__/faults", headers=headers)
    assert r.status_code == 405 and "PUT" in r.json()["error"]
    r = loopback().put(f"{tiny.url}/__sandbox__/faults", headers=headers, content=b"{not json")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = loopback().put(f"{tiny.url}/__sandbox__/faults", headers=headers, content=b"[1, 2]")
    assert r.status_code == 400
    r = loopback().put(f"{tiny.url}/__sandbox__/config", headers=headers, content=b"x" * 300_000)
    assert r.status_code == 413
    with pytest.raises(ConfigurationError, match="token_ttl"):
        tiny.set_token_ttl(0)
    with pytest.raises(ConfigurationError, match="api_key_mode"):
        tiny.admin("PUT", "config", {"api_key_mode": "on"})
    with pytest.raises(ConfigurationError, match="seed_size"):
        tiny.reset(seed_size=-3)
    with pytest.raises(ConfigurationError, match="client_secret"):
        tiny.admin("POST", "clients", {"client_id": "x", "scopes": []})
    with pytest.raises(ConfigurationError, match="client_id"):
        tiny.add_client("bad id with spaces", "s", [])
    with pytest.raises(ConfigurationError, match="scopes"):
        tiny.admin("POST", "clients", {"client_id": "x", "client_secret": "s", "scopes": [1]})
    with pytest.raises(ConfigurationError, match="No client"):
        tiny.remove_client("nobody")


def test_reset_reseeds_the_store(tiny: TinySandbox) -> None:
    before = tiny.store.resets
    assert tiny.reset(seed_size=5, seed=1) == {"things": 5}
    assert tiny.store.resets == before + 1
    assert len(tiny.store.things) == 5
    result = tiny.admin("POST", "reset", {})
    assert result["counts"] == {"things": 3} and result["seconds"] >= 0


def test_stats_over_http(tiny: TinySandbox) -> None:
    tiny.reset_stats()
    token = mint_token(tiny, tiny.client_id, tiny.client_secret)
    headers = {"Authorization": f"Bearer {token}"}
    with client(tiny.url, headers) as http:
        http.get("/api/things/1")
        http.get("/api/things/2")
        http.get("/api/things/999999")
        http.get("/api/things", headers={"Authorization": ""})
        http.get("/elsewhere")
    stats = tiny.stats()
    assert stats["total"] == 6  # admin calls are not counted
    assert stats["by_route"]["GET /api/things/:id"] == {
        "total": 3,
        "by_status": {"200": 2, "404": 1},
    }
    assert stats["by_route"]["GET /api/things"]["by_status"] == {"401": 1}
    assert stats["by_route"]["POST /oauth2/token"]["by_status"] == {"200": 1}
    assert stats["by_route"]["GET /elsewhere"]["by_status"] == {"404": 1}
    assert stats["by_status"] == {"200": 3, "401": 1, "404": 2}
    tiny.reset_stats()
    assert tiny.stats()["total"] == 0


def test_config_round_trip(tiny: TinySandbox) -> None:
    tiny.admin("PUT", "config", {"token_ttl": 120, "api_key_mode": True})
    assert tiny.admin("GET", "config") == {"token_ttl": 120, "api_key_mode": True}
    tiny.admin("PUT", "config", {"token_ttl": 86399, "api_key_mode": False})
    assert tiny.admin("GET", "config") == {"token_ttl": 86399, "api_key_mode": False}
