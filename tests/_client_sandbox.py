"""Helpers for integration tests against the sandbox: configs and an independent ground truth."""

from __future__ import annotations

import itertools
from typing import Any

import httpx2

from _sandbox_tiny import mint_token
from coupa_connector.client import ConnectionConfig, RetryPolicy
from coupa_connector.sandbox import Sandbox

FAST_RETRY = RetryPolicy(max_retries=8, backoff_base=0.01, backoff_cap=0.05, max_retry_after=5)
_numbers = itertools.count(1)


def sandbox_config(sandbox: Sandbox, **kw: Any) -> ConnectionConfig:
    values: dict[str, Any] = {
        "url": sandbox.url,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "scopes": sandbox.scopes,
        "rate_limit": None,
        "retry": FAST_RETRY,
        "max_retries": FAST_RETRY.max_retries,
        "concurrency": 4,
    }
    values.update(kw)
    return ConnectionConfig(**values)


def _all_scopes_token(sandbox: Sandbox) -> str:
    return mint_token(sandbox, sandbox.client_id, sandbox.client_secret, " ".join(sandbox.scopes))


def server_records(
    sandbox: Sandbox, resource: str, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every record the server holds for a query, fetched plainly (sequential offsets)."""
    out: list[dict[str, Any]] = []
    with httpx2.Client(trust_env=False, timeout=60) as client:
        headers = {
            "Authorization": f"Bearer {_all_scopes_token(sandbox)}",
            "Accept": "application/json",
        }
        offset = 0
        while True:
            query = {**(params or {}), "limit": "50", "offset": str(offset), "order_by": "id"}
            response = client.get(f"{sandbox.url}/api/{resource}", params=query, headers=headers)
            response.raise_for_status()
            page = response.json()
            out.extend(page)
            if len(page) < 50:
                return out
            offset += len(page)


def new_invoice_body() -> dict[str, Any]:
    """A minimal valid invoice for the sandbox's default seed."""
    n = next(_numbers)
    return {
        "invoice-number": f"TEST-Q-{n:06d}",
        "invoice-date": "2024-05-01",
        "currency": {"code": "USD"},
        "supplier": {"id": 1},
        "account-type": {"id": 1},
        "bill-to-address": {"id": 1},
        "line-level-taxation": False,
        "invoice-lines": [
            {
                "line-num": 1,
                "type": "InvoiceQuantityLine",
                "description": "inserted during a query",
                "price": "1.00",
                "quantity": "1",
                "uom": {"code": "EA"},
                "account": {"id": 1},
            }
        ],
    }
