"""A tiny in-process Coupa for unit tests of the client, driven through httpx2.MockTransport.

It records every request so tests can assert that exactly the expected calls happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx2

from coupa_connector.client import ConnectionConfig, RetryPolicy

SECRET = "s3cr3t-value-for-tests"
URL = "https://acme.coupahost.com"


def config(**kw: Any) -> ConnectionConfig:
    values: dict[str, Any] = {
        "url": URL,
        "client_id": "cid",
        "client_secret": SECRET,
        "scopes": ("core.invoice.read",),
        "rate_limit": None,
        "retry": RetryPolicy(backoff_base=0.001, backoff_cap=0.01, max_retry_after=5),
    }
    values.update(kw)
    return ConnectionConfig(**values)


def invoices(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "invoice-number": f"INV-{i:05d}",
            "status": "approved" if i % 2 else "draft",
            "total": f"{i}.50",
            "updated-at": f"2024-01-{1 + i % 28:02d}T10:00:00Z",
            "supplier": {"id": 100 + i % 3, "name": f"Supplier {i % 3}"},
            "invoice-lines": [
                {"id": i * 10 + k, "line-num": k + 1, "price": "1.00"} for k in range(2)
            ],
        }
        for i in range(1, n + 1)
    ]


@dataclass
class FakeCoupa:
    """Answers /oauth2/token and GET /api/invoices like Coupa's JSON API."""

    records: list[dict[str, Any]] = field(default_factory=list)
    token_ttl: int = 86399
    calls: list[httpx2.Request] = field(default_factory=list)
    script: list[Callable[[httpx2.Request], httpx2.Response | None]] = field(default_factory=list)
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.calls.append(request)
        if self.script:
            scripted = self.script.pop(0)(request)
            if scripted is not None:
                return scripted
        if request.url.path == "/oauth2/token":
            form = dict(parse_qsl(request.content.decode()))
            if form.get("client_secret") != SECRET:
                return httpx2.Response(401, json={"error": "invalid_client"})
            self.tokens_issued += 1
            token = f"tok-{self.tokens_issued}-abcdef"
            self.valid_tokens.add(token)
            return httpx2.Response(200, json={"access_token": token, "expires_in": self.token_ttl})
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return httpx2.Response(401, json={"errors": {"base": ["Invalid token"]}})
        if request.url.path == "/api/invoices" and request.method == "GET":
            return self.index(request)
        return httpx2.Response(404, json={"errors": {"base": ["Not found"]}})

    def index(self, request: httpx2.Request) -> httpx2.Response:
        q = dict(request.url.params.multi_items())
        rows = list(self.records)
        for key, value in q.items():
            if key == "status":
                rows = [r for r in rows if r["status"] == value]
            elif key == "id[gt]":
                rows = [r for r in rows if r["id"] > int(value)]
            elif key == "id[lt_or_eq]":
                rows = [r for r in rows if r["id"] <= int(value)]
            elif key == "id[lt]":
                rows = [r for r in rows if r["id"] < int(value)]
        if q.get("order_by") == "id" and q.get("dir") == "desc":
            rows = sorted(rows, key=lambda r: -r["id"])
        offset = int(q.get("offset", 0))
        limit = min(50, int(q.get("limit", 50)))
        page = rows[offset : offset + limit]
        if q.get("return_object") == "limited":
            page = [{"id": r["id"]} for r in page]
        if "xml" in request.headers.get("accept", "") and not page:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><errors>'
                "<error>No results match your search criteria.</error></errors>"
            )
            return httpx2.Response(
                404, content=body.encode(), headers={"content-type": "application/xml"}
            )
        return httpx2.Response(
            200, content=json.dumps(page).encode(), headers={"content-type": "application/json"}
        )

    def api_calls(self) -> list[httpx2.Request]:
        return [c for c in self.calls if c.url.path.startswith("/api/")]
