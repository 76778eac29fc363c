#!/usr/bin/env python3
"""Projection: bytes per record and the sandbox's server time per page, full against
projected (``fields=`` through the public query API).

    python bench/projection.py            # 2,000 invoices
    python bench/projection.py --quick    # 500 invoices

The sandbox runs in this process with a timing layer around its ASGI app (the seam
``Sandbox._build_app`` offers), so "server time" is the time the sandbox spends from a
request's arrival to its last body byte, without the client's decoding. Each query pages
through every invoice once to warm the sandbox's render cache, then again to measure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

PROJECTIONS: dict[str, list[str] | None] = {
    "full records": None,
    "5 header fields": ["id", "invoice-number", "status", "gross-total", "updated-at"],
    "header + line prices": [
        "id",
        "invoice-number",
        "gross-total",
        "updated-at",
        "invoice-lines.id",
        "invoice-lines.price",
        "invoice-lines.quantity",
    ],
}


def mapping_fields(example: str) -> list[str] | None:
    """What an example operation's mapping reads: the projection ``coupa run`` sends."""
    from pathlib import Path

    from coupa_connector.catalog import load_catalog
    from coupa_connector.operations import load_operation_file
    from coupa_connector.operations._projection import mapping_projection

    path = Path(__file__).resolve().parent.parent / "examples" / example
    [op] = load_operation_file(path, {"out": "unused"}).operations.values()
    catalog = load_catalog()
    return mapping_projection(op.transform, catalog.get("invoices"), catalog)


def timed_sandbox(seed_size: int) -> tuple[Any, list[float]]:
    from coupa_connector.sandbox import Sandbox

    times: list[float] = []

    class Timing:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope.get("type") != "http" or not scope.get("path", "").startswith("/api/"):
                await self.app(scope, receive, send)
                return
            started = time.perf_counter()
            await self.app(scope, receive, send)
            times.append(time.perf_counter() - started)

    class TimedSandbox(Sandbox):
        def _build_app(self) -> Any:
            app = super()._build_app()
            app._app = Timing(app._app)
            return app

    return TimedSandbox(seed_size=seed_size), times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    from coupa_connector import Connection, ConnectionConfig, SecretStr

    projections = {**PROJECTIONS, "invoices-to-erp mapping": mapping_fields("invoices-to-erp.yaml")}
    sandbox, times = timed_sandbox(500 if opts.quick else 2_000)
    with sandbox:
        config = ConnectionConfig(
            url=sandbox.url,
            client_id=sandbox.client_id,
            client_secret=SecretStr(sandbox.client_secret),
            rate_limit=None,
            concurrency=1,
        )
        print(f"\n{'projection':<26}{'records':>8}{'bytes/rec':>11}{'x full':>8}{'ms/page':>9}")
        full: tuple[float, float] | None = None
        for name, fields in projections.items():
            with Connection(config) as conn:
                sum(1 for _ in conn.query("invoices", fields=fields))  # warm the render cache
            times.clear()
            with Connection(config) as conn:
                records = sum(1 for _ in conn.query("invoices", fields=fields))
                received = conn.stats.bytes_received
            per_record = received / records
            per_page = statistics.median(times) * 1000
            full = full or (per_record, per_page)
            print(
                f"{name:<26}{records:>8}{per_record:>11,.0f}{per_record / full[0]:>8.2f}"
                f"{per_page:>9.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
