"""Pure policies: the retry decision table, backoff maths, the token bucket, redaction."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from coupa_connector.client import Action, Failure, RateLimit, RetryPolicy, decide, register_secret
from coupa_connector.client._ratelimit import TokenBucket
from coupa_connector.client._redact import get_logger, mask_body, sanitize_url, scrub
from coupa_connector.client._retry import Backoff, parse_retry_after
from coupa_connector.operations.endpoints.base import debug_json as _cap

POLICY = RetryPolicy()


@pytest.mark.parametrize(
    ("outcome", "method", "action"),
    [
        (200, "GET", Action.SUCCEED),
        (201, "POST", Action.SUCCEED),
        (400, "GET", Action.FAIL),
        (403, "GET", Action.FAIL),
        (404, "GET", Action.FAIL),
        (401, "GET", Action.REAUTH),
        (401, "POST", Action.REAUTH),
        (429, "GET", Action.THROTTLED),
        (429, "POST", Action.THROTTLED),
        (503, "POST", Action.THROTTLED),
        (502, "GET", Action.RETRY),
        (504, "PUT", Action.RETRY),
        (502, "POST", Action.FAIL),
        (500, "POST", Action.FAIL),
        (Failure.CONNECT, "POST", Action.RETRY),
        (Failure.CONNECT_TIMEOUT, "POST", Action.RETRY),
        (Failure.READ_TIMEOUT, "GET", Action.RETRY),
        (Failure.READ_TIMEOUT, "POST", Action.FAIL),
        (Failure.DROPPED, "POST", Action.FAIL),
        (Failure.DROPPED, "GET", Action.RETRY),
        (Failure.TLS, "GET", Action.FAIL),
    ],
)
def test_decision_table(outcome: int | Failure, method: str, action: Action) -> None:
    assert decide(outcome, method, POLICY) is action


def test_writes_never_retried_when_disabled() -> None:
    policy = RetryPolicy(retry_writes=False)
    assert decide(Failure.CONNECT, "POST", policy) is Action.FAIL
    assert decide(429, "POST", policy) is Action.FAIL
    assert decide(429, "GET", policy) is Action.THROTTLED


def test_full_jitter_backoff_is_capped_and_retry_after_replaces_it() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, max_retry_after=60)
    backoff = Backoff(policy, random.Random(1))
    ceilings: list[float] = []
    backoff.jitter = lambda ceiling: ceilings.append(ceiling) or ceiling  # type: ignore[method-assign]
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.delay(5, retry_after=3.0) == 3.0  # replaces, does not add
    assert backoff.delay(1, retry_after=61.0) is None  # longer than allowed: give up
    real = Backoff(policy, random.Random(7))
    assert all(0 <= real.delay(4) <= 8.0 for _ in range(100))


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def test_token_bucket_paces_to_rate_after_burst() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(rate=10.0, burst=3), clock=lambda: now[0])
    delays = [bucket._reserve() for _ in range(6)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:] == pytest.approx([0.1, 0.2, 0.3])
    now[0] = 10.0  # a quiet spell refills to the burst, not beyond
    assert [bucket._reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket._reserve() == pytest.approx(0.1)


def test_token_bucket_pause_holds_everyone() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(rate=100.0, burst=20), clock=lambda: now[0])
    bucket.pause(2.0)
    assert bucket._reserve() == pytest.approx(2.0)


def test_429_slows_the_bucket_and_successes_win_the_rate_back() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(rate=20.0, burst=5), clock=lambda: now[0])
    bucket.throttled(1.0)  # a short Retry-After: no pause, but no burst and a lower rate
    assert bucket.rate == pytest.approx(17.0)
    assert bucket._reserve() == pytest.approx(1 / 17.0)
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == 20.0
    for _ in range(50):
        bucket.throttled(None)
    assert bucket.rate == pytest.approx(8.0)  # floored at 40%
    now[0] = 100.0
    bucket.throttled(30.0)  # a long Retry-After holds everyone
    assert bucket._reserve() >= 30.0


def test_token_bucket_async_acquire() -> None:
    async def run() -> float:
        bucket = TokenBucket(RateLimit(rate=200.0, burst=2))
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(bucket.acquire() for _ in range(6)))
        return loop.time() - start

    assert asyncio.run(run()) >= 4 / 200.0 * 0.9


def test_scrubber_and_url_sanitizer() -> None:
    register_secret("hunter2-abcdefgh")
    register_secret("hunter2-abcdefgh-longer")
    assert scrub("x hunter2-abcdefgh-longer y") == "x ********** y"
    assert scrub("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer **********"
    url = sanitize_url("https://u:p@acme.coupahost.com/oauth2/token?client_secret=zz&limit=1")
    assert "zz" not in url and "u:p" not in url and "limit=1" in url


def test_logging_filter_redacts_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("tok-very-secret-999")
    log = get_logger("tests")
    with caplog.at_level(logging.DEBUG, logger="coupa_connector"):
        log.debug("sending %s", "tok-very-secret-999")
        try:
            raise RuntimeError("boom tok-very-secret-999")
        except RuntimeError:
            log.exception("failed")
    assert "tok-very-secret-999" not in caplog.text
    assert "**********" in caplog.text


def test_secret_fields_of_records_are_masked_in_bodies_and_debug_json() -> None:
    json_body = b'{"login":"u1","password":"pw-1","sub":[{"cxml_secret":"cx-1","n":2}]}'
    assert mask_body(json_body) == (
        '{"login":"u1","password":"**********","sub":[{"cxml_secret":"**********","n":2}]}'
    )
    xml_body = (
        b'<user><login>u1</login><password type="string">pw-1</password>'
        b"<cxml-http-password>pw-2</cxml-http-password><api-token/></user>"
    )
    masked = mask_body(xml_body)
    assert "pw-1" not in masked and "pw-2" not in masked and "<login>u1</login>" in masked
    # A body cut short is not JSON any more; its members are still masked.
    assert "pw-3" not in mask_body(b'{"login":"u1","password":"pw-3","x":"y')
    assert mask_body(b"[]") == "[]"
    debug = _cap([{"login": "u1", "password": "pw-4", "nested": {"sftp-secret": "s"}}])
    assert "pw-4" not in debug and '"login":"u1"' in debug and '"sftp-secret":"**********"' in debug
