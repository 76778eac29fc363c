#!/usr/bin/env python3
"""Bulk loads: 20,000 suppliers one record per request, against the same records as Coupa
CSV flat files loaded through ``data_file_sources``, with the sandbox's rate limit on.

    .venv/bin/python bench/bulk_load.py            # 20,000 suppliers each way (~15 minutes)
    .venv/bin/python bench/bulk_load.py --quick    # 2,000 suppliers each way

The sandbox runs in a child process with Coupa's throttle on (25 requests/s per client,
burst 20), as on a real instance; the connection keeps to the same 25/s budget. Two phases,
measured in the same run, each on a freshly reseeded sandbox:

1. **record at a time** (the baseline): ``create`` of the suppliers, one POST each (plus the
   key lookups it makes before sending, one query per 50 records and key);
2. **flat files**: the same suppliers through ``write_via_files`` (what ``coupa create
   --via flat-file`` runs): the same validation and key lookups, then files of 5,000 rows,
   each uploaded once and polled until Coupa has loaded it.

Requests are counted by the sandbox (``/api`` only; token requests aside) and broken down by
route; seconds are wall time from the first record read to the last result; memory is the
client's Python heap peak during the phase (tracemalloc; the sandbox is another process)
and the client process's peak RSS. Each phase checks that every supplier is in the sandbox
once, and that the counts add up (read = created + rejected + failed).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _sandbox_child import start_sandbox, stop_sandbox
from coupa_connector import AsyncConnection, ConnectionConfig, RetryPolicy
from coupa_connector.activities.write._results import WriteSummary
from coupa_connector.activities.write.create import create
from coupa_connector.catalog import load_catalog
from coupa_connector.operations._file_writes import FileWrites, write_via_files
from coupa_connector.sandbox import Sandbox

RATE = 25.0


@dataclass
class Phase:
    """One measured phase."""

    name: str
    records: int
    seconds: float
    by_route: dict[str, int]
    summary: WriteSummary
    heap_mb: float
    rss_mb: float
    throttled: int = 0
    loads: FileWrites = field(default_factory=FileWrites)

    @property
    def requests(self) -> int:
        return sum(self.by_route.values())


def _config(sb: Sandbox) -> ConnectionConfig:
    return ConnectionConfig(
        url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        concurrency=8,
        rate_limit=RATE,
        max_retries=8,
        retry=RetryPolicy(backoff_base=0.05, backoff_cap=1.0),
    )


def _suppliers(tag: str, count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {
            "name": f"Bulk {tag} {i:06d}",
            "number": f"BL-{tag}-{i:06d}",
            "status": "active",
            "po-method": "email",
            "po-email": f"orders{i}@example.com",
        }


def _api_routes(stats: dict[str, Any]) -> dict[str, int]:
    """Requests the sandbox answered under /api, by route template."""
    return {
        route: int(counts.get("total", 0))
        for route, counts in stats.get("by_route", {}).items()
        if " /api/" in route
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _count_in_sandbox(config: ConnectionConfig, tag: str) -> int:
    names: set[str] = set()
    seen = 0
    async with AsyncConnection(config) as conn:
        where = {"name[starts_with]": f"Bulk {tag} "}
        async for record in conn.query("suppliers", where=where, fields=["id", "name"]):
            names.add(record["name"])
            seen += 1
    if seen != len(names):
        raise SystemExit(f"{seen - len(names)} suppliers were created twice")
    return seen


async def _phase(
    name: str,
    sb: Sandbox,
    count: int,
    run: Callable[[Any, Iterator[dict[str, Any]], FileWrites], AsyncIterator[Any]],
) -> Phase:
    sb.reset(seed_size=1)
    sb.reset_stats()
    tag = uuid.uuid4().hex[:6]
    config = _config(sb)
    summary = WriteSummary()
    report = FileWrites()
    tracemalloc.start()
    started = time.perf_counter()
    async with AsyncConnection(config) as conn:
        async for result in run(conn, _suppliers(tag, count), report):
            summary.add(result)
    seconds = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    stats = sb.stats()
    by_route = _api_routes(stats)
    if summary.read != count or summary.created != count:
        raise SystemExit(f"{name}: {summary.as_dict()} for {count} suppliers")
    held = await _count_in_sandbox(config, tag)
    if held != count:
        raise SystemExit(f"{name}: {held} suppliers in the sandbox, {count} sent")
    throttled = int(stats.get("by_status", {}).get("429", 0))
    return Phase(name, count, seconds, by_route, summary, heap, _peak_rss_mb(), throttled, report)


def _record_at_a_time(conn: Any, records: Iterator[Any], _: FileWrites) -> AsyncIterator[Any]:
    return create(conn, "suppliers", records)


def _flat_files(files: Path) -> Callable[[Any, Iterator[Any], FileWrites], AsyncIterator[Any]]:
    obj = load_catalog().get("suppliers")

    def run(conn: Any, records: Iterator[Any], report: FileWrites) -> AsyncIterator[Any]:
        return write_via_files(conn, obj, records, mode="create", directory=files, report=report)

    return run


def _print(phase: Phase) -> None:
    print(f"\n{phase.name}: {phase.records:,} suppliers")
    print(f"  requests   {phase.requests:>8,}   ({phase.throttled} answered 429)")
    for route, n in sorted(phase.by_route.items(), key=lambda kv: -kv[1]):
        print(f"    {n:>8,}  {route}")
    rate = phase.records / phase.seconds
    print(f"  wall time  {phase.seconds:>8.1f} s   ({rate:,.0f} records/s)")
    print(f"  heap peak  {phase.heap_mb:>8.1f} MB  (client, tracemalloc)")
    print(f"  RSS peak   {phase.rss_mb:>8.1f} MB  (client process so far)")
    if phase.loads.loads:
        print(
            f"  files      {phase.loads.uploads} uploads, {phase.loads.polls} status polls, "
            f"{phase.loads.lookups} key lookups"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 suppliers instead of 20,000")
    parser.add_argument("--records", type=int, help="suppliers per phase")
    args = parser.parse_args(argv)
    count = args.records or (2000 if args.quick else 20000)
    child, sb = start_sandbox(rate_limit=True, rate=RATE, burst=20)
    try:
        with tempfile.TemporaryDirectory(prefix="bulk-load-") as tmp:
            files = asyncio.run(_phase("flat files", sb, count, _flat_files(Path(tmp))))
            single = asyncio.run(_phase("record at a time", sb, count, _record_at_a_time))
    finally:
        stop_sandbox(child)
    print(f"rate limit: {RATE:.0f} requests/s per client (sandbox throttle and client budget)")
    _print(single)
    _print(files)
    requests = single.requests / files.requests
    seconds = single.seconds / files.seconds
    print(
        f"\nratio (record at a time / flat files): requests {requests:.1f}x, "
        f"wall time {seconds:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
