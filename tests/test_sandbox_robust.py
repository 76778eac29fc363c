"""The sandbox survives bad input: every hostile or broken request gets a clean 4xx, quickly.

Malformed XML and JSON bodies, entity bombs, huge and deeply nested bodies, wrong content
types and absurd query parameters, against the real Coupa API app over HTTP. None may answer
5xx or hang (each request has a short timeout), and the server must still serve afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from _sandbox_tiny import client, loopback, mint_token
from coupa_connector.sandbox import Sandbox

TIMEOUT = httpx2.Timeout(20.0)


@pytest.fixture(scope="module")
def bearer(sandbox_server: Sandbox) -> str:
    return mint_token(sandbox_server, sandbox_server.client_id, sandbox_server.client_secret)


@pytest.fixture(params=["application/json", "application/xml"], ids=["json", "xml"])
def http(request: pytest.FixtureRequest, sandbox: Sandbox, bearer: str) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Bearer {bearer}", "Accept": request.param}
    with client(sandbox.url, headers) as conn:
        yield conn
    # Whatever happened, the server still answers.
    with client(sandbox.url, headers) as conn:
        assert conn.get("/api/currencies", params={"limit": 1}).status_code == 200


def _clean_4xx(r: httpx2.Response) -> None:
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.headers.get("content-type", "").startswith("application/json"):
        assert "errors" in r.json()
    elif r.content:
        assert b"<errors>" in r.content or r.status_code in (405, 413, 415)


def _nested_json(depth: int) -> bytes:
    return b'{"invoice-number": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def _nested_xml(depth: int) -> bytes:
    return b"<invoice-header>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</invoice-header>"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<invoice-header><invoice-number>&lol4;</invoice-number></invoice-header>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<invoice-header><invoice-number>&xxe;</invoice-number></invoice-header>"""

JSON = "application/json"
XML = "application/xml"

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("json-syntax", b'{"invoice-number": ', JSON),
    ("json-trailing", b'{"invoice-number": "A"} trailing', JSON),
    ("json-array", b'[{"invoice-number": "A"}]', JSON),
    ("json-scalar", b'"just a string"', JSON),
    ("json-null", b"null", JSON),
    ("json-empty", b"", JSON),
    ("json-not-utf8", b'{"invoice-number": "\xff\xfe"}', JSON),
    ("json-nan", b'{"invoice-number": NaN}', JSON),
    ("json-deep", _nested_json(5000), JSON),
    ("json-deep-list", b'{"invoice-lines": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON),
    ("xml-syntax", b"<invoice-header><invoice-number>A</invoice-header>", XML),
    ("xml-not-xml", b"this is not xml", XML),
    ("xml-empty", b"", XML),
    ("xml-deep", _nested_xml(5000), XML),
    ("xml-entity-bomb", BILLION_LAUGHS, XML),
    ("xml-external-entity", EXTERNAL_ENTITY, XML),
    ("xml-wrong-root", b"<supplier><name>x</name></supplier>", XML),
    (
        "xml-not-utf8",
        b"<invoice-header><invoice-number>\xff</invoice-number></invoice-header>",
        XML,
    ),
    ("text-plain", b"invoice-number=A", "text/plain"),
    ("form", b"invoice-number=A", "application/x-www-form-urlencoded"),
    ("multipart", b"--x\r\n\r\nA\r\n--x--", "multipart/form-data; boundary=x"),
    ("json-as-xml", b'{"invoice-number": "A"}', XML),
    ("xml-as-json", b"<invoice-header/>", JSON),
]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b, c) for _, b, c in BAD_BODIES],
    ids=[name for name, _, _ in BAD_BODIES],
)
def test_bad_bodies_on_create(http: httpx2.Client, body: bytes, content_type: str) -> None:
    _clean_4xx(http.post("/api/invoices", content=body, headers={"Content-Type": content_type}))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b, c) for name, b, c in BAD_BODIES if "deep" in name or "syntax" in name],
    ids=[name for name, _, _ in BAD_BODIES if "deep" in name or "syntax" in name],
)
def test_bad_bodies_on_update(http: httpx2.Client, body: bytes, content_type: str) -> None:
    _clean_4xx(http.put("/api/invoices/1", content=body, headers={"Content-Type": content_type}))


def test_huge_body_is_refused(http: httpx2.Client) -> None:
    body = b'{"invoice-number": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    r = http.post("/api/invoices", content=body, headers={"Content-Type": JSON})
    _clean_4xx(r)


def test_huge_body_without_content_length_is_refused(http: httpx2.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"invoice-number": "'
        for _ in range(12):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    r = http.post("/api/invoices", content=chunks(), headers={"Content-Type": JSON})
    _clean_4xx(r)


HUGE = 99_999_999_999_999_999_999_999

OUT_OF_RANGE_BODIES: list[tuple[str, str, dict[str, object]]] = [
    ("POST", "/api/users", {"login": "huge-manager", "manager": {"id": HUGE}}),
    ("PUT", "/api/users/1", {"manager": {"id": HUGE}}),
    ("PUT", "/api/uoms/1", {"allowable-precision": HUGE}),
    ("PUT", "/api/payment_terms/1", {"discount-due-month": HUGE}),
    ("POST", "/api/lookup_values", {"name": "huge", "account-type": {"id": HUGE}}),
    ("PUT", "/api/budget_lines/1", {"overrun-calculation": 1e308}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    OUT_OF_RANGE_BODIES,
    ids=[f"{m} {p}" for m, p, _ in OUT_OF_RANGE_BODIES],
)
def test_out_of_range_numbers_in_bodies(
    http: httpx2.Client, method: str, path: str, body: dict[str, object]
) -> None:
    r = http.request(method, path, json=body)
    # Refused (4xx) or, where Coupa would ignore the value, accepted: never a server error.
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"


ABSURD_QUERIES: list[tuple[str, str]] = [
    ("limit-negative", "limit=-1"),
    ("limit-text", "limit=abc"),
    ("limit-huge", "limit=99999999999999999999999999"),
    ("limit-float", "limit=1e309"),
    ("offset-negative", "offset=-5"),
    ("offset-huge", "offset=99999999999999999999999999"),
    ("offset-text", "offset=%00"),
    ("order-by-unknown", "order_by=no_such_field"),
    ("order-by-injection", "order_by=id;DROP TABLE records"),
    ("dir-sideways", "dir=sideways"),
    ("fields-not-json", "fields=not-json"),
    ("fields-deep", "fields=" + "[" * 3000 + "]" * 3000),
    ("fields-unknown", 'fields=["no_such_field"]'),
    ("fields-object", 'fields={"a":1}'),
    ("return-object-bogus", "return_object=everything"),
    ("unknown-field", "no_such_field=1"),
    ("unknown-operator", "status[sounds_like]=approved"),
    ("operator-on-operator", "status[contains][contains]=a"),
    ("deep-association", "supplier" + "[supplier]" * 200 + "[name]=x"),
    ("id-text", "id=abc"),
    ("id-huge", "id=99999999999999999999999999"),
    ("id-in-junk", "id[in]=1,,x,%00"),
    ("id-infinite", "id[lt]=1e999"),
    ("association-id-huge", "supplier[id][gt]=-99999999999999999999"),
    ("decimal-empty", "total="),
    ("decimal-infinite", "total[gt]=1e999"),
    ("date-junk", "created-at[gt]=not-a-date"),
    ("date-huge", "created-at[gt]=99999-99-99T99:99:99"),
    ("blank-junk", "status[blank]=maybe"),
    ("bad-percent", "status=%ZZ%"),
    ("nul-byte", "status=a%00b"),
    ("long-value", "status=" + "x" * 6000),
    ("many-params", "&".join(f"status[not_eq]=s{i}" for i in range(500))),
    ("bracket-junk", "status[=x&[]=y&]=z"),
    ("exported-junk", "exported=perhaps"),
]


@pytest.mark.parametrize(
    "query", [q for _, q in ABSURD_QUERIES], ids=[n for n, _ in ABSURD_QUERIES]
)
def test_absurd_query_params_never_fail_the_server(http: httpx2.Client, query: str) -> None:
    r = http.get(f"/api/invoices?{query}")
    # Coupa ignores some oddities (an unknown parameter may be dropped); what must never
    # happen is a server error or a hang.
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:
        _clean_4xx(r)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/invoices/abc"),
        ("GET", "/api/invoices/99999999999999999999999999"),
        ("GET", "/api/invoices/-1"),
        ("GET", "/api/invoices/1/nonsense"),
        ("GET", "/api/no_such_resource"),
        ("GET", "/api/" + "x" * 3000),
        ("PUT", "/api/invoices/99999999999999999999999999"),
        ("PUT", "/api/invoices/1/no_such_action"),
        ("PUT", "/api/approvals/99999999/approve"),
        ("DELETE", "/api/invoices/1"),
        ("PATCH", "/api/currencies/1"),
        ("POST", "/api/invoices/1"),
    ],
)
def test_odd_paths_and_methods(http: httpx2.Client, method: str, path: str) -> None:
    r = http.request(method, path, content=b"{}", headers={"Content-Type": JSON})
    _clean_4xx(r)


@pytest.mark.parametrize("size", [20_000, 200_000])
def test_oversized_headers_are_refused(sandbox: Sandbox, bearer: str, size: int) -> None:
    # uvicorn refuses header blocks over its limit with a plain 400 (smaller ones reach the
    # auth gate and get a 401 there); when the client is still sending, the refusal can
    # arrive as a reset connection instead. Either way the request is refused quickly and
    # the server keeps serving.
    try:
        r = loopback().get(
            f"{sandbox.url}/api/invoices", headers={"X-Junk": "x" * size}, timeout=TIMEOUT
        )
    except (httpx2.ReadError, httpx2.WriteError, httpx2.RemoteProtocolError):
        pass
    else:
        assert 400 <= r.status_code < 500
    r = loopback().get(
        f"{sandbox.url}/api/currencies",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200


def test_slow_client_does_not_block_others(sandbox: Sandbox, bearer: str) -> None:
    import socket

    # A client that promises a body and never sends it holds one connection, not the server.
    host, port = sandbox.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    try:
        sock.sendall(
            b"POST /api/invoices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + bearer.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
        )
        r = loopback().get(
            f"{sandbox.url}/api/currencies",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {bearer}", "Accept": JSON},
            timeout=TIMEOUT,
        )
        assert r.status_code == 200
    finally:
        sock.close()


def test_sandbox_never_imports_the_client_side() -> None:
    # The sandbox is an independent implementation of Coupa: a test of the client against it
    # means something only if it shares no client code. Checked on the source, so an import
    # hidden in a function body counts too.
    import ast
    from pathlib import Path

    import coupa_connector.sandbox as package

    forbidden = (
        "coupa_connector.client",
        "coupa_connector.activities",
        "coupa_connector.operations",
    )
    offenders = []
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against coupa_connector.sandbox
                    parents = "coupa_connector.sandbox".rsplit(".", node.level - 1)[0]
                    base = f"{parents}.{base}" if base else parents
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert offenders == []


def test_sandbox_package_exports() -> None:
    import coupa_connector.sandbox as package

    assert sorted(package.__all__) == package.__all__
    assert set(package.__all__) == {
        "AuthContext",
        "FaultConfig",
        "FaultRule",
        "OAuthClient",
        "Sandbox",
        "SandboxSettings",
        "all_scopes",
        "build_sandbox_app",
        "default_api_key",
        "default_client_secret",
    }
    for name in package.__all__:
        assert getattr(package, name) is not None
