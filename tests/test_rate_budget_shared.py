"""One rate budget for every process of an instance: the Redis backend, its fallback, config.

The Redis tests run a real ``redis-server`` (tests/_redis_server.py) and real worker
processes against a sandbox with Coupa's throttle on; they skip locally without one and fail
under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _client_sandbox import server_records
from _rate_worker import BURST, RATE, run_workers
from _redis_server import RedisServer
from coupa_connector import ConfigurationError, ConnectionConfig, RateLimit
from coupa_connector.client._ratelimit import (
    RETRY_SHARED_AFTER,
    BudgetUnavailable,
    TokenBucket,
    bucket_for,
)
from coupa_connector.operations import load_operation_file
from coupa_connector.operations.opfile._yaml import OperationFileError
from coupa_connector.sandbox import Sandbox

SECRET_URL = "redis://:s3cret-redis-pass@127.0.0.1:6390/0"

# ------------------------------------------------------------------ config


def _config(**kw: Any) -> ConnectionConfig:
    return ConnectionConfig(url="https://acme.coupahost.com", api_key="k" * 20, **kw)


def test_backend_from_code_env_and_profile(tmp_path: Path) -> None:
    assert _config().rate_limit_backend is None
    assert _config(rate_limit_backend="memory").rate_limit_backend is None
    backend = _config(rate_limit_backend="redis://r:6379/1").rate_limit_backend
    assert backend is not None and backend.get_secret_value() == "redis://r:6379/1"
    env = {
        "COUPA_URL": "https://acme.coupahost.com",
        "COUPA_API_KEY": "k" * 20,
        "COUPA_RATE_LIMIT_BACKEND": "rediss://cache.internal:6380/0",
        "COUPA_RATE_LIMIT_FALLBACK_SHARE": "0.5",
    }
    config = ConnectionConfig.from_env(env)
    assert config.rate_limit_backend is not None
    assert config.rate_limit_backend.get_secret_value() == "rediss://cache.internal:6380/0"
    assert config.rate_limit_fallback_share == 0.5
    file = tmp_path / "config.toml"
    file.write_text(
        '[profiles.prod]\nurl = "https://acme.coupahost.com"\napi_key_env = "K"\n'
        'rate_limit_backend = "unix:///run/redis.sock"\n'
    )
    profile = ConnectionConfig.from_profile("prod", file, {"K": "k" * 20})
    assert profile.rate_limit_backend is not None
    assert profile.rate_limit_backend.get_secret_value() == "unix:///run/redis.sock"


def test_a_profile_takes_the_redis_password_only_from_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    head = '[profiles.prod]\nurl = "https://acme.coupahost.com"\napi_key_env = "K"\n'
    file.write_text(head + f'rate_limit_backend = "{SECRET_URL}"\n')
    with pytest.raises(ConfigurationError, match="rate_limit_backend: a password in the url"):
        ConnectionConfig.from_profile("prod", file, {"K": "k" * 20})
    file.write_text(head + 'rate_limit_backend = "redis://:${REDIS_PW}@127.0.0.1:6390/0"\n')
    profile = ConnectionConfig.from_profile("prod", file, {"K": "k" * 20, "REDIS_PW": "pw-9"})
    assert profile.rate_limit_backend is not None
    assert profile.rate_limit_backend.password == "pw-9"


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"rate_limit_backend": "memcached://x:1"}, "neither memory nor a Redis URL"),
        ({"rate_limit_backend": 5}, "rate_limit_backend must be memory or a redis:// URL"),
        ({"rate_limit_fallback_share": 0}, "above 0 and at most 1"),
        ({"rate_limit_fallback_share": 1.5}, "above 0 and at most 1"),
    ],
)
def test_bad_backend_settings_are_refused(kw: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        _config(**kw)


def test_redis_password_is_a_secret() -> None:
    config = _config(rate_limit_backend=SECRET_URL)
    assert "s3cret-redis-pass" not in repr(config)
    assert "redis://:**********@127.0.0.1:6390/0" in repr(config)
    assert "s3cret-redis-pass" in config.secrets()  # the log scrubber learns it
    assert "s3cret-redis-pass" not in repr(vars(config))
    assert "s3cret-redis-pass" not in repr(config.__getstate__())
    with pytest.raises(ConfigurationError) as caught:
        _config(rate_limit_backend="memcached://u:s3cret-redis-pass@x:1")
    assert "s3cret-redis-pass" not in str(caught.value)


def _opfile(tmp_path: Path, backend: str) -> Path:
    path = tmp_path / "ops.yaml"
    path.write_text(
        "connection:\n"
        "  url: https://acme.coupahost.com\n"
        "  client_id: me\n"
        "  client_secret_env: ACME_SECRET\n"
        f"  rate_limit_backend: {backend}\n"
        "operations:\n"
        "  out:\n"
        "    source: {type: coupa.query, object: invoices}\n"
        "    target: {type: file, path: out.jsonl}\n"
    )
    return path


def test_operation_file_refuses_a_literal_redis_password(tmp_path: Path) -> None:
    with pytest.raises(OperationFileError) as caught:
        load_operation_file(_opfile(tmp_path, SECRET_URL))
    text = str(caught.value)
    assert "ops.yaml:5: connection: rate_limit_backend: a password in the url" in text
    assert "${VARIABLE}" in text
    assert "s3cret-redis-pass" not in text


def test_operation_file_takes_the_redis_password_from_a_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", "from-the-environment")
    opfile = load_operation_file(_opfile(tmp_path, "redis://:${REDIS_PASSWORD}@127.0.0.1:6390/0"))
    assert opfile.connection is not None
    backend = opfile.connection.settings["rate_limit_backend"]
    assert backend == "redis://:from-the-environment@127.0.0.1:6390/0"


# ------------------------------------------------------------------ fallback (no Redis needed)


class _Store:
    """A shared budget whose store can be switched off."""

    where = "redis://store:6379/0"

    def __init__(self) -> None:
        self.up = True
        self.asked = 0

    async def acquire(self) -> None:
        self.asked += 1
        if not self.up:
            raise BudgetUnavailable("ConnectionError: Connection refused")

    async def aclose(self) -> None:
        pass


def test_lost_store_falls_back_to_the_local_share_warns_once_and_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    store = _Store()
    bucket = TokenBucket(
        RateLimit(RATE, BURST), clock=lambda: now[0], shared=store, fallback_share=0.25
    )

    async def take(n: int) -> None:
        for _ in range(n):
            await bucket.acquire()

    caplog.set_level(logging.WARNING, "coupa_connector.ratelimit")
    asyncio.run(take(3))
    assert (store.asked, bucket.rate, bucket.on_fallback) == (3, RATE, False)
    store.up = False
    asyncio.run(take(3))  # the first failure switches; the store is not asked again soon
    assert bucket.on_fallback and bucket.rate == pytest.approx(RATE * 0.25)
    assert store.asked == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0] and "25% of the rate limit (6.2 requests/s)" in warnings[0]
    store.up = True
    now[0] += RETRY_SHARED_AFTER
    asyncio.run(take(1))
    assert not bucket.on_fallback and bucket.rate == RATE
    assert "is back" in caplog.records[-1].getMessage()


def test_unreachable_redis_never_fails_a_request(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("pyrate_limiter")
    from _redis_server import free_port

    config = _config(rate_limit_backend=f"redis://:s3cret-redis-pass@127.0.0.1:{free_port()}/0")
    bucket = bucket_for(config)
    assert bucket is not None

    async def take() -> None:
        for _ in range(3):
            await bucket.acquire()
        await bucket.aclose()

    caplog.set_level(logging.WARNING, "coupa_connector.ratelimit")
    asyncio.run(take())
    assert bucket.on_fallback
    (warning,) = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert "s3cret-redis-pass" not in warning and "**********" in warning


# ------------------------------------------------------------------ a real Redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


def test_two_connections_share_one_redis_budget(redis_server: RedisServer) -> None:
    config = _config(rate_limit_backend=redis_server.url, rate_limit=RATE, burst=BURST)
    other_instance = ConnectionConfig(
        url="https://other.coupahost.com", api_key="k" * 20, rate_limit_backend=redis_server.url
    )

    async def run() -> tuple[float, float]:
        a, b, c = bucket_for(config), bucket_for(config), bucket_for(other_instance)
        assert a is not None and b is not None and c is not None
        start = time.monotonic()
        await asyncio.gather(*(x.acquire() for x in [a, b] * 30))
        shared = time.monotonic() - start
        start = time.monotonic()
        await asyncio.gather(*(c.acquire() for _ in range(10)))  # another instance: its own
        alone = time.monotonic() - start
        for x in (a, b, c):
            await x.aclose()
        return shared, alone

    shared, alone = asyncio.run(run())
    # 60 slots of one 25/s budget, the first 10 at once: at least 2 s whoever takes them.
    assert shared >= (60 - BURST // 2) / RATE * 0.95
    assert alone < 0.5


@pytest.fixture(scope="module")
def throttled_sandbox() -> Iterator[Sandbox]:
    """Coupa's throttle on (25/s, burst 20, per client) and 50 ms per request."""
    with Sandbox(seed_size=1000, rate_limit=True, latency_ms=50) as server:
        yield server


def _run_workers(
    sandbox: Sandbox, tmp_path: Path, backend: str, count: int = 4, **env: str
) -> dict[str, Any]:
    sandbox.set_rate_limit(True, RATE, BURST)
    return run_workers(sandbox, tmp_path, backend, count, **env)


def _assert_exact(sandbox: Sandbox, reports: list[dict[str, Any]]) -> None:
    sandbox.set_rate_limit(False)  # the ground truth, fetched plainly
    expected = sorted(r["id"] for r in server_records(sandbox, "invoices"))
    for report in reports:
        assert sorted(report["ids"]) == expected  # none lost, none twice


def test_four_workers_share_the_budget_through_redis_and_not_without(
    throttled_sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path
) -> None:
    shared = _run_workers(throttled_sandbox, tmp_path / "redis", redis_server.url)
    alone = _run_workers(throttled_sandbox, tmp_path / "memory", "memory")
    for name, run in (("redis", shared), ("in-process", alone)):
        print(
            f"\n4 workers, {name} budget: {run['sent']} requests in {run['span']:.1f} s = "
            f"{run['rate']:.1f}/s ({run['rate'] / RATE:.0%} of {RATE:g}/s), "
            f"{run['throttled']} answered 429 ({run['throttled'] / run['sent']:.1%})"
        )
    _assert_exact(throttled_sandbox, shared["reports"])
    _assert_exact(throttled_sandbox, alone["reports"])
    # Shared: together at or under the limit (its burst allowed once), at most 1% 429s.
    assert shared["sent"] <= RATE * shared["span"] + BURST
    assert shared["throttled"] <= 0.01 * shared["sent"]
    # In-process: each worker holds the whole budget, so together they exceed it.
    assert alone["throttled"] >= 3 and alone["throttled"] > 2 * shared["throttled"]


# Added to every invoice request while Redis is up: no worker can finish before the kill.
HOLD_MS = 1500


def test_redis_killed_mid_run_falls_back_and_finishes(
    throttled_sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path
) -> None:
    import threading

    sb = throttled_sandbox
    paced = sb.faults()["rules"]
    sb.set_faults(rules=[*paced, {"latency_ms": HOLD_MS, "path": "^/api/invoices"}])
    killed_at: list[float] = []

    def kill_once_in_use() -> None:
        # Killed once the shared budget has handed out a slot: the run is under way, and
        # every worker still has most of its pages to fetch.
        try:
            redis_server.wait_for_keys()
        finally:
            redis_server.kill()
            killed_at.append(time.time())
            sb.set_faults(rules=paced)

    killer = threading.Thread(target=kill_once_in_use, daemon=True)
    killer.start()
    try:
        run = _run_workers(
            sb, tmp_path, redis_server.url, count=2, COUPA_RATE_LIMIT_FALLBACK_SHARE="0.5"
        )
    finally:
        killer.join(timeout=90)
        sb.set_faults(rules=paced)
    assert redis_server.process.poll() is not None, "Redis was still up at the end"
    assert all(r["ended"] > killed_at[0] for r in run["reports"])  # killed mid-run
    _assert_exact(sb, run["reports"])
    for stderr in run["stderr"]:
        assert "shared rate budget at redis://127.0.0.1" in stderr
        assert "is unreachable" in stderr and "50% of the rate limit" in stderr
    print(f"\nRedis killed mid-run: {run['sent']} requests, {run['throttled']} answered 429")
