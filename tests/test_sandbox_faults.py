"""Fault injection: configuration, deterministic choices, and each fault as a client sees it.

The HTTP tests use a real server with a tiny ``/api`` behind the fault layer, so "the record
was saved although the client saw an error" is checked directly in its store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from _sandbox_tiny import TinySandbox, client, mint_token
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox import FaultConfig, FaultRule
from coupa_connector.sandbox._faults import FaultInjector


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called in these tests")


def _kinds(injector: FaultInjector, n: int, method: str = "GET", path: str = "/api/x") -> list[Any]:
    return [injector.decide(method, path).kind for _ in range(n)]


# ---------------------------------------------------------------------------- unit


def test_inline_settings_and_rules_list_parse_to_the_same_config() -> None:
    inline = FaultConfig.from_dict({"seed": 3, "error_rate": 0.5, "methods": ["get"]})
    listed = FaultConfig.from_dict({"seed": 3, "rules": [{"error_rate": 0.5, "methods": ["GET"]}]})
    assert inline == listed
    assert inline.rules[0].methods == ("GET",)
    assert FaultConfig.from_dict(inline.to_dict()) == inline
    assert FaultConfig.from_dict({}) == FaultConfig()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"drop_count": -1}, "drop_count"),
        ({"latency_ms": "slow"}, "latency_ms"),
        ({"error_statuses": [404]}, "error_statuses"),
        ({"path": "("}, "path"),
        ({"methods": ["G ET"]}, "methods"),
        ({"explode": True}, "explode"),
        ({"seed": -1}, "seed"),
        ({"rules": [{"drop_rate": 2}]}, "rules[0].drop_rate"),
        ({"rules": "all"}, "rules"),
        ({"rules": [], "drop_rate": 0.1}, "rules"),
    ],
)
def test_bad_settings_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError) as info:
        FaultConfig.from_dict(data)
    assert str(info.value).startswith(field)


def test_same_seed_same_faults_and_rates_are_honoured() -> None:
    config = FaultConfig.from_dict({"seed": 11, "error_rate": 0.3})
    first = _kinds(FaultInjector(_nothing, config), 2000)
    second = _kinds(FaultInjector(_nothing, config), 2000)
    assert first == second
    share = first.count("error") / len(first)
    assert 0.25 < share < 0.35
    other = _kinds(
        FaultInjector(_nothing, FaultConfig.from_dict({"seed": 12, "error_rate": 0.3})), 2000
    )
    assert other != first


def test_error_statuses_are_drawn_from_the_list() -> None:
    injector = FaultInjector(_nothing, FaultConfig.from_dict({"seed": 1, "error_rate": 1.0}))
    statuses = {injector.decide("GET", "/api/x").status for _ in range(200)}
    assert statuses == {500, 502, 503}
    injector.configure(FaultConfig.from_dict({"error_rate": 1.0, "error_statuses": [503]}))
    assert {injector.decide("GET", "/api/x").status for _ in range(20)} == {503}


def test_counts_are_the_next_n_matching_requests() -> None:
    config = FaultConfig.from_dict({"throttle_count": 3, "drop_count": 1, "methods": ["POST"]})
    injector = FaultInjector(_nothing, config)
    assert _kinds(injector, 2, "GET") == [None, None]
    assert _kinds(injector, 6, "POST") == ["throttle"] * 3 + ["drop", None, None]
    assert injector.snapshot()["remaining"][0]["throttle"] == 0
    assert injector.snapshot()["injected"]["throttle"] == 3


def test_commit_drop_applies_to_writes_only() -> None:
    injector = FaultInjector(_nothing, FaultConfig.from_dict({"commit_drop_count": 1}))
    assert _kinds(injector, 3, "GET") == [None] * 3
    assert _kinds(injector, 2, "PUT") == ["commit_drop", None]


def test_path_regex_and_reserved_paths() -> None:
    injector = FaultInjector(_nothing, FaultConfig.from_dict({"error_rate": 1.0}))
    assert injector.decide("GET", "/api/invoices").kind == "error"
    # The token endpoint is faulted only when a rule's path names it.
    assert injector.decide("POST", "/oauth2/token").kind is None
    injector.configure(FaultConfig.from_dict({"error_rate": 1.0, "path": r"^/oauth2/"}))
    assert injector.decide("POST", "/oauth2/token").kind == "error"
    assert injector.decide("GET", "/api/invoices").kind is None
    injector.configure(FaultConfig.from_dict({"error_rate": 1.0, "path": r"/api/invoices/\d+$"}))
    assert injector.decide("GET", "/api/invoices/12").kind == "error"
    assert injector.decide("GET", "/api/invoices").kind is None


def test_latency_and_jitter_add_up_over_rules() -> None:
    config = FaultConfig.from_dict(
        {"seed": 5, "rules": [{"latency_ms": 100}, {"latency_ms": 50, "jitter_ms": 20}]}
    )
    injector = FaultInjector(_nothing, config)
    latencies = [injector.decide("GET", "/api/x").latency for _ in range(100)]
    assert all(0.15 <= lat <= 0.17 for lat in latencies)
    assert len(set(latencies)) > 50


# ---------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinySandbox]:
    with TinySandbox() as server:
        yield server


@pytest.fixture
def http(tiny: TinySandbox) -> Iterator[httpx2.Client]:
    tiny.clear_faults()
    tiny.reset()
    tiny.reset_stats()
    token = mint_token(tiny, tiny.client_id, tiny.client_secret)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with client(tiny.url, headers) as conn:
        yield conn
    tiny.clear_faults()


def test_latency_is_added(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(latency_ms=300)
    started = time.perf_counter()
    assert http.get("/api/things").status_code == 200
    # A lower bound only: a slow machine can add time, never remove it.
    assert time.perf_counter() - started >= 0.3
    tiny.clear_faults()
    assert tiny.faults()["rules"] == []


def test_server_errors_share_is_deterministic(tiny: TinySandbox, http: httpx2.Client) -> None:
    def run() -> list[int]:
        tiny.set_faults(seed=9, error_rate=0.5)
        return [http.get("/api/things").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert set(first) <= {200, 500, 502, 503}
    assert 5 < sum(s != 200 for s in first) < 35
    tiny.set_faults(error_count=1, error_statuses=[502])
    r = http.get("/api/things")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    tiny.set_faults(error_count=1, error_statuses=[500])
    r = http.get("/api/things")
    assert r.status_code == 500 and r.json()["errors"]["base"]


def test_429_storm_then_recovery(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(throttle_count=3, retry_after=2)
    answers = [http.get("/api/things") for _ in range(4)]
    assert [r.status_code for r in answers] == [429, 429, 429, 200]
    assert all(r.headers["retry-after"] == "2" for r in answers[:3])
    assert tiny.faults()["remaining"][0]["throttle"] == 0


def test_dropped_connection_loses_the_request(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(drop_count=1, methods=["POST"])
    with pytest.raises(httpx2.RemoteProtocolError):
        http.post("/api/things", json={"name": "never saved"})
    names = [t["name"] for t in http.get("/api/things").json()]
    assert "never saved" not in names
    stats = tiny.stats()
    assert stats["by_route"]["POST /api/things"]["by_status"] == {"dropped": 1}
    assert stats["faults"] == {"drop": 1}


def test_truncated_body(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(truncate_count=1, path=r"^/api/big$")
    with pytest.raises(httpx2.RemoteProtocolError, match="complete message body"):
        http.get("/api/big")
    assert len(http.get("/api/big").content) > 100_000


def test_truncated_body_while_streaming(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(truncate_count=1)
    received = bytearray()
    with pytest.raises(httpx2.RemoteProtocolError), http.stream("GET", "/api/big") as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            received.extend(chunk)
    assert 0 < len(received) < int(r.headers["content-length"])


def test_commit_then_drop_saves_the_record(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(commit_drop_count=1)
    assert http.get("/api/things").status_code == 200  # reads are untouched
    with pytest.raises(httpx2.RemoteProtocolError):
        http.post("/api/things", json={"name": "saved anyway"})
    assert "saved anyway" in [t["name"] for t in tiny.store.things.values()]
    assert "saved anyway" in [t["name"] for t in http.get("/api/things").json()]
    assert tiny.stats()["faults"] == {"commit_drop": 1}


def test_admin_api_is_never_faulted(tiny: TinySandbox, http: httpx2.Client) -> None:
    tiny.set_faults(error_rate=1.0, drop_rate=0.0, path=".*")
    assert http.get("/api/things").status_code >= 500
    assert tiny.faults()["rules"][0]["error_rate"] == 1.0
    assert tiny.stats()["total"] >= 1
    tiny.clear_faults()
    assert http.get("/api/things").status_code == 200


def test_bad_fault_settings_are_refused_over_http(tiny: TinySandbox) -> None:
    with pytest.raises(ConfigurationError, match="error_rate"):
        tiny.set_faults(error_rate=2)
    with pytest.raises(ConfigurationError, match="unknown fault setting"):
        tiny.set_faults(chaos=True)


def test_faults_at_start() -> None:
    config = FaultConfig(seed=1, rules=(FaultRule(error_count=1, error_statuses=(503,)),))
    with TinySandbox(faults=config) as server, client(server.url) as conn:
        r = conn.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": server.client_id,
                "client_secret": server.client_secret,
            },
        )
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert conn.get("/api/things", headers=headers).status_code == 503
        assert conn.get("/api/things", headers=headers).status_code == 200
