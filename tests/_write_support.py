"""Helpers for the write activities' tests against the sandbox."""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from coupa_connector import (
    AsyncConnection,
    Connection,
    ConnectionConfig,
    RetryPolicy,
    WriteOptions,
    WriteResult,
    WriteSummary,
)
from coupa_connector.cli._main import cli
from coupa_connector.sandbox import Sandbox

# Retries in tests are real but quick: the waits, not the decisions, are shortened.
FAST = WriteOptions(retry_delay=0.01, retry_delay_cap=0.05)


def config_for(sb: Sandbox, **overrides: Any) -> ConnectionConfig:
    """A connection to the sandbox with quick retries and no client-side rate limit."""
    values: dict[str, Any] = {
        "url": sb.url,
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "rate_limit": None,
        "concurrency": 6,
        "max_retries": 6,
        "retry": RetryPolicy(backoff_base=0.01, backoff_cap=0.05),
    }
    values.update(overrides)
    return ConnectionConfig(**values)


def env_for(sb: Sandbox) -> dict[str, str]:
    """COUPA_* variables pointing the CLI at the sandbox."""
    return {
        "COUPA_URL": sb.url,
        "COUPA_CLIENT_ID": sb.client_id,
        "COUPA_CLIENT_SECRET": sb.client_secret,
        "COUPA_RATE_LIMIT": "off",
        "COUPA_PROFILE": "",
    }


def invoke_cli(sb: Sandbox, args: list[str]) -> Result:
    """Run one ``coupa`` command line against the sandbox."""
    return CliRunner().invoke(cli, args, env=env_for(sb))


def json_summary(result: Result) -> dict[str, Any]:
    """The ``--summary json`` counts a write command printed (after any other output)."""
    summary: dict[str, Any] = json.loads(result.output[result.output.index("{") :])
    return summary


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    """Write records as JSON lines; the path, for passing on."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def tag() -> str:
    """A short unique marker, so tests never collide on unique fields."""
    return uuid.uuid4().hex[:8]


_OPEN: dict[str, Connection] = {}


def shared(sb: Sandbox) -> Connection:
    """One connection per sandbox for the whole session: no token minted per check."""
    conn = _OPEN.get(sb.url)
    if conn is None:
        conn = _OPEN[sb.url] = Connection(config_for(sb))
        atexit.register(conn.close)
    return conn


def run_writes(
    sb: Sandbox,
    make: Callable[[AsyncConnection], AsyncIterator[WriteResult]],
    **config: Any,
) -> tuple[list[WriteResult], WriteSummary]:
    """Run one write activity to the end; its results by position, and the summary.

    With ``config`` overrides the run gets a connection of its own.
    """

    async def go(conn: AsyncConnection) -> tuple[list[WriteResult], WriteSummary]:
        summary = WriteSummary()
        results: list[WriteResult] = []
        async for result in make(conn):
            results.append(summary.add(result))
        return sorted(results, key=lambda r: r.position), summary

    async def fresh() -> tuple[list[WriteResult], WriteSummary]:
        async with AsyncConnection(config_for(sb, **config)) as conn:
            return await go(conn)

    if config:
        return asyncio.run(fresh())
    conn = shared(sb)
    return conn.run(go(conn.async_connection))


def call(sb: Sandbox, method: str, path: str, **kw: Any) -> Any:
    """One request (for checking what Coupa holds)."""
    return shared(sb).request(method, path, **kw)


def find(sb: Sandbox, resource: str, **params: Any) -> list[dict[str, Any]]:
    """Every record of a filtered query (all pages)."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = call(sb, "GET", f"/api/{resource}", params={**params, "offset": offset, "limit": 50})
        out.extend(page)
        if len(page) < 50:
            return out
        offset += 50


@functools.cache
def _refs(url: str, sb: Sandbox) -> dict[str, Any]:
    return _fetch_refs(sb)


def invoice_refs(sb: Sandbox) -> dict[str, Any]:
    """References an invoice create needs, taken from the seed data (once per sandbox)."""
    return _refs(sb.url, sb)


def _fetch_refs(sb: Sandbox) -> dict[str, Any]:
    supplier = find(sb, "suppliers", status="active", fields='["id","name","number"]')[0]
    account = find(sb, "accounts", **{"account-type[name]": "US COA"})[0]
    address = find(sb, "addresses", fields='["id","location-code"]')[0]
    return {
        "supplier": {"number": supplier["number"]},
        "account-type": {"name": "US COA"},
        "bill-to-address": {"location-code": address["location-code"]},
        "currency": {"code": "USD"},
        "account": {"code": account["code"], "account-type": {"name": "US COA"}},
        "supplier_id": supplier["id"],
    }


def invoice(refs: dict[str, Any], number: str, lines: int = 2) -> dict[str, Any]:
    """A valid draft invoice with ``lines`` quantity lines."""
    return {
        "invoice-number": number,
        "invoice-date": "2024-05-01",
        "supplier": refs["supplier"],
        "currency": refs["currency"],
        "account-type": refs["account-type"],
        "bill-to-address": refs["bill-to-address"],
        "line-level-taxation": False,
        "invoice-lines": [
            {
                "line-num": n,
                "type": "InvoiceQuantityLine",
                "description": f"Toner {n}",
                "quantity": "2",
                "price": f"{10 + n}.50",
                "uom": {"code": "EA"},
                "account": refs["account"],
            }
            for n in range(1, lines + 1)
        ],
    }


def supplier(name: str, number: str, **extra: Any) -> dict[str, Any]:
    """A valid supplier."""
    return {"name": name, "number": number, "status": "active", "po-method": "email", **extra}
