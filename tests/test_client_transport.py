"""The request path against httpx2.MockTransport: auth flow, retries, throttling, errors.

Every test asserts the exact calls the fake saw, so a stub that was not used fails the test.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx2
import pytest

from _client_fakes import SECRET, FakeCoupa, config, invoices
from coupa_connector import AsyncConnection, Connection
from coupa_connector.client import NetworkError
from coupa_connector.client._auth import OAuthFlow
from coupa_connector.client._transport import RawResponse
from coupa_connector.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_token_minted_once_for_concurrent_requests() -> None:
    fake = FakeCoupa(records=invoices(3))

    async def go() -> None:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            await asyncio.gather(*(conn.request("GET", "/api/invoices") for _ in range(8)))
            assert conn.stats.requests == 9

    run(go())
    token_calls = [c for c in fake.calls if c.url.path == "/oauth2/token"]
    assert len(token_calls) == 1 and len(fake.api_calls()) == 8
    form = token_calls[0].content.decode()
    assert "grant_type=client_credentials" in form and "scope=core.invoice.read" in form
    assert all(c.headers["authorization"] == "Bearer tok-1-abcdef" for c in fake.api_calls())
    assert all(c.headers["accept"] == "application/json" for c in fake.api_calls())


def test_401_remints_once_and_resends() -> None:
    fake = FakeCoupa(records=invoices(2))
    with Connection(config(), transport=fake.transport()) as conn:
        assert len(conn.request("GET", "/api/invoices")) == 2
        fake.valid_tokens.clear()  # the server forgets the token (expired, revoked)
        assert len(conn.request("GET", "/api/invoices")) == 2
        assert conn.stats.reauths == 1
    assert [c.url.path for c in fake.calls] == [
        "/oauth2/token",
        "/api/invoices",
        "/api/invoices",
        "/oauth2/token",
        "/api/invoices",
    ]


def test_a_token_is_refreshed_before_it_expires() -> None:
    # A 4 s token is refreshed a tenth of its life (0.4 s) before it runs out, so a request
    # is never sent with a token about to die on the way.
    now = [1000.0]
    forms: list[Mapping[str, str]] = []

    async def send(form: Mapping[str, str], basic: tuple[str, str] | None) -> RawResponse:
        forms.append(form)
        body = json.dumps({"access_token": f"tok-{len(forms)}", "expires_in": 4}).encode()
        return RawResponse(200, {"content-type": "application/json"}, body, 0.0)

    async def go() -> list[str]:
        flow = OAuthFlow(config(), send, clock=lambda: now[0])
        seen = [(await flow.headers())["Authorization"]]
        now[0] += 3.5
        seen.append((await flow.headers())["Authorization"])
        now[0] += 0.15  # 3.65 s: inside the last tenth
        seen.append((await flow.headers())["Authorization"])
        return seen

    assert run(go()) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert len(forms) == 2


def test_second_401_is_final() -> None:
    fake = FakeCoupa()
    fake.script = [
        lambda r: None,  # token
        lambda r: httpx2.Response(401, json={"errors": {"base": ["Token revoked"]}}),
        lambda r: None,  # token again
        lambda r: httpx2.Response(401, json={"errors": {"base": ["Token revoked"]}}),
    ]
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(AuthenticationError) as info,
    ):
        conn.request("GET", "/api/invoices")
    assert info.value.messages == ("Token revoked",) and len(fake.calls) == 4


def test_bad_secret_is_an_authentication_error_without_the_secret() -> None:
    fake = FakeCoupa()
    cfg = config(client_secret="wrong-secret-xyz")
    with (
        Connection(cfg, transport=fake.transport()) as conn,
        pytest.raises(AuthenticationError) as info,
    ):
        conn.request("GET", "/api/invoices")
    text = str(info.value) + repr(info.value)
    assert "invalid_client" in text and "wrong-secret-xyz" not in text
    assert len(fake.calls) == 1


def test_429_with_retry_after_then_success() -> None:
    fake = FakeCoupa(records=invoices(1))
    throttle = httpx2.Response(
        429, headers={"Retry-After": "0"}, json={"errors": {"base": ["Rate limit"]}}
    )
    fake.script = [lambda r: None, lambda r: throttle, lambda r: throttle]
    with Connection(config(rate_limit=100.0), transport=fake.transport()) as conn:
        assert conn.request("GET", "/api/invoices") == [invoices(1)[0]]
        assert conn.stats.throttled == 2 and conn.stats.retries == 2
    assert len(fake.api_calls()) == 3


def test_retry_after_longer_than_allowed_fails_fast() -> None:
    fake = FakeCoupa()
    fake.script = [lambda r: None, lambda r: httpx2.Response(429, headers={"Retry-After": "3600"})]
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(RateLimitError) as info,
    ):
        conn.request("GET", "/api/invoices")
    assert info.value.retry_after == 3600 and "longer than allowed" in str(info.value)
    assert len(fake.api_calls()) == 1


def test_5xx_retried_until_the_bound_then_raised() -> None:
    fake = FakeCoupa()
    fake.script = [lambda r: None] + [lambda r: httpx2.Response(503)] * 3
    with (
        Connection(config(max_retries=2), transport=fake.transport()) as conn,
        pytest.raises(ServerError) as info,
    ):
        conn.request("GET", "/api/invoices")
    assert "gave up after 3 attempts" in str(info.value) and len(fake.api_calls()) == 3


def test_no_retry_on_other_4xx_and_messages_are_kept() -> None:
    fake = FakeCoupa()
    fake.script = [
        lambda r: None,
        lambda r: httpx2.Response(
            400, json={"errors": {"invoice_header": ["Supplier can't be blank"]}}
        ),
        lambda r: httpx2.Response(403, json={"errors": {"base": ["missing scope"]}}),
    ]
    with Connection(config(), transport=fake.transport()) as conn:
        with pytest.raises(ValidationError) as info:
            conn.request("POST", "/api/invoices", body={"invoice-number": "X"})
        assert (
            info.value.messages == ("Supplier can't be blank",)
            and info.value.path == "/api/invoices"
        )
        with pytest.raises(PermissionDeniedError):
            conn.request("GET", "/api/invoices")
        with pytest.raises(NotFoundError):
            conn.request("GET", "/api/invoices/999")
    assert len(fake.api_calls()) == 3


def _connect_error(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


def _read_error(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadError("connection reset", request=request)


def test_post_retried_only_when_it_provably_did_not_land() -> None:
    fake = FakeCoupa()
    created = httpx2.Response(201, json={"id": 1})
    fake.script = [lambda r: None, _connect_error, lambda r: created]
    with Connection(config(), transport=fake.transport()) as conn:
        assert conn.request("POST", "/api/invoices", body={"a": 1}) == {"id": 1}
    assert len(fake.api_calls()) == 2

    fake = FakeCoupa()
    fake.script = [lambda r: None, _read_error]
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(NetworkError) as info,
    ):
        conn.request("POST", "/api/invoices", body={"a": 1})
    assert info.value.kind == "dropped" and info.value.retryable is False
    assert len(fake.api_calls()) == 1


def test_dropped_get_is_retried_and_retry_false_sends_once() -> None:
    fake = FakeCoupa(records=invoices(1))
    fake.script = [lambda r: None, _read_error]
    with Connection(config(), transport=fake.transport()) as conn:
        assert len(conn.request("GET", "/api/invoices")) == 1
        fake.script = [lambda r: httpx2.Response(503)]
        with pytest.raises(ServerError):
            conn.request("GET", "/api/invoices", retry=False)
    assert len(fake.api_calls()) == 3


def test_xml_wire_format_and_empty_answer() -> None:
    fake = FakeCoupa(records=[])
    with Connection(config(wire_format="xml"), transport=fake.transport()) as conn:
        assert conn.request("GET", "/api/invoices", params={"status": "approved"}) == []
    call = fake.api_calls()[0]
    assert call.headers["accept"] == "application/xml" and call.url.params["status"] == "approved"


def test_xml_body_uses_the_objects_element_as_root() -> None:
    fake = FakeCoupa()
    seen: list[bytes] = []

    def capture(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.content)
        return httpx2.Response(
            201,
            content=b'<invoice-header><id type="integer">5</id></invoice-header>',
            headers={"content-type": "application/xml"},
        )

    fake.script = [lambda r: None, capture]
    with Connection(config(wire_format="xml"), transport=fake.transport()) as conn:
        assert conn.request("POST", "/api/invoices", body={"invoice-number": "A"}) == {"id": 5}
    assert seen[0].startswith(b'<?xml version="1.0" encoding="UTF-8"?><invoice-header>')


def test_api_key_mode_sends_the_header_and_no_token_request() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=[])

    cfg = config(client_id=None, client_secret=None, api_key="k" * 40)
    with Connection(cfg, transport=httpx2.MockTransport(handler)) as conn:
        assert conn.request("GET", "/api/suppliers") == []
    assert len(seen) == 1 and seen[0].headers["x-coupa-api-key"] == "k" * 40


def test_credentials_never_sent_to_another_host() -> None:
    fake = FakeCoupa()
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(Exception, match="another host"),
    ):
        conn.request("GET", "https://evil.example.com/api/invoices")
    assert fake.calls == []


def test_debug_log_has_one_line_per_request_and_no_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeCoupa(records=invoices(2))
    with (
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="coupa_connector"),
        Connection(config(), transport=fake.transport()) as conn,
    ):
        conn.request("GET", "/api/invoices", params={"status": "approved", "client_secret": SECRET})
    text = caplog.text
    assert SECRET not in text and "tok-1-abcdef" not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "coupa_connector.transport"]
    assert any(
        line.startswith("GET /api/invoices?status=approved") and "-> 200" in line for line in lines
    )
    assert any("token request" in line for line in lines)


def _read_timeout(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


def test_read_timeout_retried_for_reads_but_not_for_creates() -> None:
    fake = FakeCoupa(records=invoices(1))
    fake.script = [lambda r: None, _read_timeout, _read_timeout]
    with Connection(config(), transport=fake.transport()) as conn:
        assert len(conn.request("GET", "/api/invoices")) == 1
        assert conn.stats.failures["read_timeout"] == 2
        fake.script = [_read_timeout]
        with pytest.raises(NetworkError) as info:
            conn.request("POST", "/api/invoices", body={"invoice-number": "X"})
    assert info.value.kind == "read_timeout" and not info.value.retryable
    assert [c.method for c in fake.api_calls()] == ["GET", "GET", "GET", "POST"]
