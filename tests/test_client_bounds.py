"""Bounds on what a server can make the client hold: decoded body size and nesting depth.

A hostile server on 127.0.0.1 (``_hostile_server``: Python's http.server, not our HTTP layer)
answers compression bombs, oversize bodies and bodies nested 100,000 levels deep. The client
must fail each request quickly, with a clear error naming the request and the bound, never a
traceback, and hold little memory while doing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _hostile_server import HostileServer, hostile_server
from coupa_connector import Connection
from coupa_connector.client import ConnectionConfig, ResponseTooLargeError
from coupa_connector.client._depth import MAX_DEPTH, json_too_deep
from coupa_connector.client._wire import DecodeError, decode, error_messages
from coupa_connector.errors import ConfigurationError, CoupaError, ServerError, TransportError

MiB = 1 << 20


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


def config(url: str, **kw: Any) -> ConnectionConfig:
    values: dict[str, Any] = {"api_key": "hostile-test-key", "rate_limit": None}
    values.update(kw)
    return ConnectionConfig(url, **values)


# ------------------------------------------------------------------------ the size bound

# Runs in a fresh interpreter, so its peak RSS is its own: warmed up by one small request,
# then the hostile one; prints the outcome and how much the peak grew.
_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from coupa_connector import Connection, ConnectionConfig

    url, route = sys.argv[1], sys.argv[2]
    config = ConnectionConfig(url, api_key="hostile-test-key", rate_limit=None)
    with Connection(config) as conn:
        conn.request("GET", "/ok/api/invoices")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        try:
            answer = conn.request("GET", f"/{route}/api/invoices", params={"limit": 50})
            outcome = {"error": None, "size": len(answer) if answer is not None else 0}
        except Exception as exc:
            outcome = {"error": type(exc).__name__, "message": str(exc)}
        outcome["seconds"] = time.perf_counter() - started
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        outcome["grown_mb"] = grown / 1024
    print(json.dumps(outcome))
    """
)


@pytest.mark.parametrize("route", ["gzip-bomb", "deflate-bomb"])
def test_a_compression_bomb_fails_fast_with_bounded_memory(
    hostile: HostileServer, route: str
) -> None:
    # About 1 MB on the wire that inflates to 1 GiB; the default bound is 64 MiB.
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, hostile.url, route],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["error"] == "ResponseTooLargeError", outcome
    assert f"GET /{route}/api/invoices?limit=50" in outcome["message"]
    assert "max_response_bytes (64 MiB)" in outcome["message"]
    assert "COUPA_MAX_RESPONSE_BYTES" in outcome["message"]
    assert outcome["seconds"] < 10, outcome
    # At most the bound (64 MiB) and one inflated piece are ever held.
    assert outcome["grown_mb"] < 64 + 60, outcome


@pytest.mark.parametrize("route", ["big", "big-chunked"])
def test_a_plain_oversize_body_fails_with_or_without_a_length(
    hostile: HostileServer, route: str
) -> None:
    before = hostile.requests[route]
    with (
        Connection(config(hostile.url, max_response_bytes="1MiB")) as conn,
        pytest.raises(ResponseTooLargeError) as caught,
    ):
        conn.request("GET", f"/{route}/api/invoices", params={"limit": 50, "token": "t0ps3cret"})
    error = caught.value
    assert isinstance(error, TransportError) and isinstance(error, CoupaError)
    assert error.method == "GET" and error.status == 200 and error.limit == MiB
    assert error.path == f"/{route}/api/invoices?limit=50&token=**********"
    assert "t0ps3cret" not in str(error) and "t0ps3cret" not in repr(error)
    assert "max_response_bytes (1 MiB)" in str(error)
    # The same request would get the same answer: not retried.
    assert error.retryable is False and hostile.requests[route] == before + 1


def test_an_oversize_error_body_is_refused_too(hostile: HostileServer) -> None:
    with (
        Connection(config(hostile.url, max_response_bytes=MiB)) as conn,
        pytest.raises(ResponseTooLargeError) as caught,
    ):
        conn.request("GET", "/big-error/api/invoices")
    assert caught.value.status == 500
    # Within the bound, Coupa's messages are still cut to fit an error line.
    with (
        Connection(config(hostile.url, max_retries=0)) as conn,
        pytest.raises(ServerError) as server_error,
    ):
        conn.request("GET", "/big-error/api/invoices")
    [message] = server_error.value.messages
    assert len(message) < 2100 and message.endswith(f"[{4 * MiB} characters]")


def test_a_body_within_the_bound_is_read_whole(hostile: HostileServer) -> None:
    size = 4 * MiB + 2  # the "big" body exactly
    with Connection(config(hostile.url, max_response_bytes=size)) as conn:
        assert conn.request("GET", "/big/api/invoices") == []
    with (
        Connection(config(hostile.url, max_response_bytes=size - 1)) as conn,
        pytest.raises(ResponseTooLargeError),
    ):
        conn.request("GET", "/big-chunked/api/invoices")


def test_the_bound_is_a_setting_of_code_environment_and_profile(tmp_path: Path) -> None:
    assert ConnectionConfig("https://a.coupahost.com", api_key="k").max_response_bytes == 64 * MiB  # type: ignore[arg-type]
    env = {"COUPA_URL": "https://a.coupahost.com", "COUPA_API_KEY": "k"}
    for text, expected in (("1000", 1000), ("64MiB", 64 * MiB), ("100 MB", 100_000_000)):
        got = ConnectionConfig.from_env({**env, "COUPA_MAX_RESPONSE_BYTES": text})
        assert got.max_response_bytes == expected
    with pytest.raises(ConfigurationError, match="COUPA_MAX_RESPONSE_BYTES='lots' is not valid"):
        ConnectionConfig.from_env({**env, "COUPA_MAX_RESPONSE_BYTES": "lots"})
    for bad in (0, -5, True, 1.5, "64 parsecs"):
        with pytest.raises(ConfigurationError, match="max_response_bytes"):
            ConnectionConfig("https://a.coupahost.com", api_key="k", max_response_bytes=bad)  # type: ignore[arg-type]
    profile = tmp_path / "config.toml"
    profile.write_text(
        '[profiles.big]\nurl = "https://a.coupahost.com"\napi_key_env = "K"\n'
        'max_response_bytes = "256MiB"\n'
    )
    loaded = ConnectionConfig.from_profile("big", profile, {"K": "k"})
    assert loaded.max_response_bytes == 256 * MiB


# ------------------------------------------------------------------------ the depth bound


def _nest(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_depth_is_counted_exactly_around_the_bound() -> None:
    assert not json_too_deep(_nest(MAX_DEPTH)) and json_too_deep(_nest(MAX_DEPTH + 1))
    objects = b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    assert json_too_deep(objects) and not json_too_deep(objects[5:-1])
    # Interleaved values and never-closed openers are depth too.
    assert json_too_deep(b"[0," * 1000 + b"0" + b"]" * 1000)
    assert json_too_deep(b"[" * 100_000)


@pytest.mark.parametrize(
    "text",
    [
        # Brackets inside strings are text, escaped quotes do not end a string, and an
        # escaped backslash before a quote does.
        '["' + "[" * 500 + '"]',
        '["\\"' + "[" * 500 + '"]',
        '["\\\\", "' + "{" * 500 + '"]',
        '[{"a\\n\\u00e9": "' + "]" * 300 + '"}, "' + "[" * 300 + '"]',
    ],
)
def test_brackets_inside_strings_are_not_depth(text: str) -> None:
    content = text.encode()
    assert len(json.dumps(json.loads(content))) > 2 * MAX_DEPTH
    assert not json_too_deep(content)


def test_json_depth_matches_a_reference_on_random_documents() -> None:
    import random

    rng = random.Random(20260614)
    alphabet = ["a", "[", "]", "{", "}", '"', "\\", "\n", "é", " "]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    def value(depth: int, most: int) -> Any:
        if depth >= most or rng.random() < 0.2:
            return rng.choice([1, None, True, text(), 2.5])
        if rng.random() < 0.5:
            return [value(depth + 1, most) for _ in range(rng.randint(0, 3))]
        return {text(): value(depth + 1, most) for _ in range(rng.randint(0, 3))}

    def depth_of(item: Any) -> int:
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            return 1 + max((depth_of(c) for c in children), default=0)
        return 0

    for _ in range(2000):
        doc = value(0, rng.randint(1, 12))
        content = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
        for limit in (1, 2, 3, 5, 8):
            assert json_too_deep(content, limit) == (depth_of(doc) > limit), (limit, content)


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b"<a>" * 100_000 + b"</a>" * 100_000, "application/xml"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "application/json"),
        (b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1), "application/xml"),
    ],
)
def test_decoders_refuse_deep_bodies_with_a_clear_error(content: bytes, ctype: str) -> None:
    with pytest.raises(DecodeError, match=f"nested more than {MAX_DEPTH} levels deep"):
        decode(content, ctype)
    # Error bodies and debug logging must not recurse into them either.
    assert isinstance(error_messages(content, ctype), list)
    from coupa_connector.client._redact import mask_body

    assert len(mask_body(content)) == len(content)


def test_decoders_take_bodies_at_the_bound() -> None:
    page = decode(_nest(MAX_DEPTH), "application/json")
    levels = 0
    while isinstance(page, list) and page:
        page, levels = page[0], levels + 1
    assert levels == MAX_DEPTH - 1 and page == []
    record = decode(b"<a>" * MAX_DEPTH + b"x" + b"</a>" * MAX_DEPTH, "application/xml")
    levels = 1  # the root element is the record itself
    while isinstance(record, dict):
        record, levels = record["a"], levels + 1
    assert levels == MAX_DEPTH and record == "x"


def test_a_page_becomes_records_only_within_the_bound() -> None:
    from coupa_connector.activities.query._batch import RecordBatch

    deep = b'[{"id": 1, "a": ' + _nest(200) + b'}, {"id": 2}]'
    batch = RecordBatch.from_json(deep)
    assert batch is not None and batch.ids == [1, 2]
    # Split into lines, a record keeps its text as sent: nothing nested is built.
    assert [bytes(line) for line in batch.json_lines()][1] == b'{"id": 2}'
    with pytest.raises(DecodeError, match="nested more than 128 levels deep"):
        batch.records  # noqa: B018
    with pytest.raises(DecodeError, match="nested more than 128 levels deep"):
        batch.pick([0]).records  # noqa: B018
    assert batch.pick([1]).records == [{"id": 2}]
    # Past what the id scan itself can take, the page is refused at once.
    with pytest.raises(DecodeError, match="nested more than 128 levels deep"):
        RecordBatch.from_json(b'[{"id": 1, "a": ' + _nest(100_000) + b"}]")


@pytest.mark.parametrize(("route", "fmt"), [("deep-json", "json"), ("deep-xml", "xml")])
def test_a_deep_page_fails_the_query_in_the_library(
    hostile: HostileServer, route: str, fmt: str
) -> None:
    cfg = config(hostile.route(route), wire_format=fmt)
    with Connection(cfg) as conn, pytest.raises(DecodeError) as caught:
        list(conn.query("invoices"))
    assert isinstance(caught.value, CoupaError) and not caught.value.retryable
    assert "nested more than 128 levels deep" in str(caught.value)
    assert caught.value.method == "GET" and caught.value.path == "/api/invoices"


def test_a_deep_error_body_keeps_its_status_error(hostile: HostileServer) -> None:
    with (
        Connection(config(hostile.url, max_retries=0)) as conn,
        pytest.raises(CoupaError) as caught,
    ):
        conn.request("GET", "/deep-json-error/api/invoices")
    assert caught.value.status == 400 and not isinstance(caught.value, ServerError)


@pytest.mark.parametrize(
    ("route", "fmt", "expected"),
    [
        ("deep-json", "json", "nested more than 128 levels deep"),
        ("deep-xml", "xml", "nested more than 128 levels deep"),
        ("gzip-bomb", "json", "larger than max_response_bytes (64 MiB)"),
    ],
)
def test_coupa_query_prints_a_clean_error_and_exits_1(
    hostile: HostileServer, tmp_path: Path, route: str, fmt: str, expected: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COUPA_CONFIG_FILE": str(tmp_path / "none.toml"),
        "COUPA_URL": hostile.route(route),
        "COUPA_API_KEY": "hostile-test-key",
        "COUPA_RATE_LIMIT": "off",
        "COUPA_WIRE_FORMAT": fmt,
    }
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", "query", "invoices", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert expected in done.stderr and "/api/invoices" in done.stderr and "GET" in done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert not out.exists()
