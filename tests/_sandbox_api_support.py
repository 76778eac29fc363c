"""A plain HTTP client for the sandbox's Coupa API, for the sandbox's own tests.

It talks real HTTP with httpx2 and nothing of the project's client side, so the sandbox is
tested as an independent implementation of Coupa. The ``api`` fixture (in the conftest)
hands tests an ``Api``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx

from _sandbox_tiny import mint_token
from coupa_connector.sandbox import Sandbox

__all__ = ["Api", "messages", "mint_token"]

_TOKENS: dict[tuple[str, str], str] = {}


class Api:
    """Requests against ``/api`` with a bearer token; JSON unless asked for XML."""

    def __init__(self, sandbox: Sandbox, token: str | None = None) -> None:
        key = (sandbox.url, sandbox.client_id)
        if token is None:
            token = _TOKENS.get(key)
            if token is None:
                token = mint_token(sandbox, sandbox.client_id, sandbox.client_secret)
                _TOKENS[key] = token
        self.sandbox = sandbox
        self.http = httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _headers(fmt: str) -> dict[str, str]:
        media = "application/json" if fmt == "json" else "application/xml"
        return {"Accept": media}

    def get(self, path: str, params: Any = None, fmt: str = "json") -> httpx.Response:
        return self.http.get(path, params=params, headers=self._headers(fmt))

    def post(
        self, path: str, body: Any = None, params: Any = None, fmt: str = "json", **kw: Any
    ) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        headers = {**self._headers(fmt), **kw.pop("headers", {})}
        return self.http.post(path, params=params, headers=headers, **kw)

    def put(
        self, path: str, body: Any = None, params: Any = None, fmt: str = "json", **kw: Any
    ) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        headers = {**self._headers(fmt), **kw.pop("headers", {})}
        return self.http.put(path, params=params, headers=headers, **kw)

    def post_xml(self, path: str, xml: str, params: Any = None) -> httpx.Response:
        return self.http.post(
            path,
            content=xml.encode(),
            params=params,
            headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        )

    def put_xml(self, path: str, xml: str, params: Any = None) -> httpx.Response:
        return self.http.put(
            path,
            content=xml.encode(),
            params=params,
            headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        )

    def pages(
        self, resource: str, params: dict[str, Any] | None = None, limit: int = 50
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a JSON query, paging by offset until a short page."""
        offset = 0
        while True:
            query = {**(params or {}), "limit": limit, "offset": offset}
            response = self.get(f"/api/{resource}", query)
            assert response.status_code == 200, response.text
            page = response.json()
            yield page
            if len(page) < limit:
                return
            offset += limit

    def all(
        self, resource: str, params: dict[str, Any] | None = None, fields: Any = None
    ) -> list[dict[str, Any]]:
        query = dict(params or {})
        if fields is not None:
            query["fields"] = json.dumps(fields)
        return [r for page in self.pages(resource, query) for r in page]

    def ids(self, resource: str, params: dict[str, Any] | None = None) -> list[int]:
        return [r["id"] for r in self.all(resource, params, ["id"])]

    def one(self, resource: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.get(f"/api/{resource}", {**(params or {}), "limit": 1})
        assert response.status_code == 200, response.text
        [record] = response.json()
        return dict(record)


def messages(response: httpx.Response) -> list[str]:
    """Coupa's error messages from a JSON or XML error body."""
    if response.headers.get("content-type", "").startswith("application/json"):
        errors = response.json()["errors"]
        return [m for msgs in errors.values() for m in msgs]
    import xml.etree.ElementTree as ET

    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [e.text or "" for e in root.findall("error")]
