"""Coupa's throttle in the sandbox: a leaky bucket per client, 429 with Retry-After.

The bucket arithmetic is tested with a fake clock (no sleeping); the HTTP tests check the
burst, the 429 answer and the per-client keying on a real server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _sandbox_tiny import TinySandbox, client, mint_token
from coupa_connector.sandbox._ratelimit import RateLimiter, retry_after_header


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=25, burst=20, clock=clock)
    assert [limiter.acquire("a") for _ in range(20)] == [0.0] * 20
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1 / 25)
    clock.now += wait
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_sustained_rate_is_admitted_and_faster_is_not() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=25, burst=20, clock=clock)
    admitted = 0
    for _ in range(1000):  # 40 s at exactly 25/s
        clock.now += 0.04
        admitted += limiter.acquire("a") == 0.0
    assert admitted == 1000
    limiter.configure(enabled=True, rate=25, burst=20)
    admitted = 0
    for _ in range(1000):  # 20 s at 50/s: the burst plus 25/s get through
        clock.now += 0.02
        admitted += limiter.acquire("a") == 0.0
    assert 20 + 25 * 20 - 2 <= admitted <= 20 + 25 * 20 + 1


def test_refused_requests_do_not_fill_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=2, clock=clock)
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") == 0.0
    for _ in range(50):
        assert limiter.acquire("a") > 0
    clock.now += 0.1
    assert limiter.acquire("a") == 0.0


def test_buckets_are_per_key_and_can_be_switched_off() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0
    limiter.configure(enabled=False, rate=1, burst=1)
    assert all(limiter.acquire("a") == 0.0 for _ in range(100))


@pytest.mark.parametrize(("rate", "burst"), [(0, 20), (-1, 20), (float("inf"), 20), (25, 0)])
def test_bad_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=rate, burst=burst)


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (0.04, "1"), (1.0, "1"), (1.2, "2")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header


# ---------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinySandbox]:
    with TinySandbox() as server:
        server.add_client("other", "other-secret", ["core.common.read"])
        yield server


def _bearer(server: TinySandbox, client_id: str, secret: str) -> dict[str, str]:
    token = mint_token(server, client_id, secret)
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_burst_then_429_with_retry_after(tiny: TinySandbox) -> None:
    # A rate so slow that no request leaks out during the test: timing cannot matter.
    tiny.set_rate_limit(True, rate=0.01, burst=5)
    try:
        main = _bearer(tiny, tiny.client_id, tiny.client_secret)
        other = _bearer(tiny, "other", "other-secret")
        with client(tiny.url) as http:
            statuses = [http.get("/api/things", headers=main).status_code for _ in range(5)]
            assert statuses == [200] * 5
            refused = http.get("/api/things", headers=main)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert "Rate limit exceeded" in refused.json()["errors"]["base"][0]
            # Another client has its own bucket; unauthenticated callers share one.
            assert http.get("/api/things", headers=other).status_code == 200
            anonymous = [http.get("/api/things").status_code for _ in range(6)]
            assert anonymous == [401] * 5 + [429]
            xml = http.get("/api/things", headers={**main, "Accept": "application/xml"})
            assert xml.status_code == 429 and "<errors>" in xml.text
            # The token endpoint and the admin API are not throttled.
            assert _bearer(tiny, tiny.client_id, tiny.client_secret)
            assert tiny.stats()["by_status"]["429"] >= 2
    finally:
        tiny.set_rate_limit(False)
    assert tiny.admin("GET", "rate-limit") == {"enabled": False, "rate": 25.0, "burst": 20}


def test_rate_limit_admin_validation(tiny: TinySandbox) -> None:
    from coupa_connector.errors import ConfigurationError

    for body, field in [
        ({"rate": 0}, "rate"),
        ({"burst": 0}, "burst"),
        ({"enabled": "yes"}, "enabled"),
        ({"speed": 3}, "speed"),
    ]:
        with pytest.raises(ConfigurationError, match=field):
            tiny.admin("PUT", "rate-limit", body)
