#!/usr/bin/env python3
"""Delete detection: what finding the vanished records costs, against a full extract.

    python bench/detect_deletes.py            # 100,000 invoices
    python bench/detect_deletes.py --quick    # 10,000 invoices

The sandbox is seeded with invoices (with their lines) and runs in this process. Three
phases, measured in the same run:

1. **full extract** (the baseline): every invoice, full records, page by page over the keyset
   partitions (``AsyncConnection.query_pages``), each page split into its records' bytes as
   the extract to a file does;
2. **ids**: the ids of every invoice with ``return_object=limited`` over the same partitions
   (what ``detect_deletes`` sends);
3. **compare**: the ids compared with the set kept by the run before (37 of them deleted in
   between), the tombstones made, and the new set written (the ``IdSet`` file, 8 bytes an id).

Requests are counted by the sandbox; seconds are wall time; memory is the Python heap's
peak during the phase (tracemalloc, in a second run of the phase, as it slows Python down;
the sandbox shares the process, so its side counts too), the id set's file size, and the
process's peak RSS.
With Coupa's rate limit (25 requests/s) both fetches take one request per 50 records, so
there the figure that counts is requests; without it, the ids' smaller pages are the saving.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DELETED = 37


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kB; the sandbox runs in this process, so it counts too.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _full(conn: Any) -> int:
    records = 0
    async for page in conn.query_pages("invoices"):
        # Split into each record's JSON, as the extract to a JSON Lines file does.
        records += sum(1 for _ in page.batch.json_lines())
    return records


async def _ids(conn: Any) -> array[int]:
    from coupa_connector.operations._deletes import collect_ids

    return await collect_ids(conn.query_pages("invoices", return_object="limited"))


def _phase(sandbox: Any, name: str, work: Any, heap: bool) -> tuple[Any, dict[str, Any]]:
    """Run a phase: wall time and requests; with ``heap``, the Python heap's peak, measured
    in a second run of it (tracemalloc slows Python down, so never while timing)."""
    sandbox.reset_stats()
    started = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - started
    requests = int(sandbox.stats()["total"])
    peak_mb: float | None = None
    if heap:
        tracemalloc.start()
        work()
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return value, {"phase": name, "s": seconds, "requests": requests, "heap_mb": peak_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="10,000 invoices")
    parser.add_argument("--invoices", type=int, default=None)
    args = parser.parse_args()
    size = args.invoices or (10_000 if args.quick else 100_000)
    sys.path.insert(0, str(ROOT / "src"))
    from coupa_connector import AsyncConnection
    from coupa_connector.client import ConnectionConfig, SecretStr
    from coupa_connector.operations._deletes import DeleteDetector, IdSet, merged
    from coupa_connector.sandbox import Sandbox

    print(f"seeding {size:,} invoices ...", file=sys.stderr)
    started = time.perf_counter()
    with Sandbox(seed_size=size) as sandbox, tempfile.TemporaryDirectory() as tmp:
        print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        config = ConnectionConfig(
            url=sandbox.url,
            client_id=sandbox.client_id,
            client_secret=SecretStr(sandbox.client_secret),
            rate_limit=None,
        )

        def run(coro_fn: Any) -> Any:
            async def go() -> Any:
                async with AsyncConnection(config) as conn:
                    return await coro_fn(conn)

            return asyncio.run(go())

        # Warm both paths once (token, render cache), as a scheduled run would find them.
        run(_ids)
        records, full = _phase(sandbox, "full extract", lambda: run(_full), heap=False)
        ids, fetch = _phase(sandbox, "ids (return_object=limited)", lambda: run(_ids), heap=True)
        assert len(ids) == records, (len(ids), records)
        state = IdSet(Path(tmp) / "invoices.ids", "invoices")
        # The set the run before kept: today's ids and 37 that have gone since.
        gone = array("q", range(int(ids[-1]) + 1, int(ids[-1]) + 1 + DELETED))

        before = merged(ids, gone, [])

        def compare() -> int:
            state.save(before)  # the set as the run before left it (not timed apart)
            detector = DeleteDetector(state, "2026-01-01T00:00:00+00:00")
            stones = list(detector.tombstones(ids))
            detector.commit([])
            return len(stones)

        stones, cmp = _phase(sandbox, "compare + save the id set", compare, heap=True)
        assert stones == DELETED, stones
        rows = [full, fetch, cmp]
        print(
            f"\n{records:,} invoices; {stones} tombstones; id set {state.path.stat().st_size:,} B"
        )
        print(f"{'phase':<30} {'requests':>9} {'s':>8} {'vs full':>8} {'heap MB':>8}")
        for row in rows:
            ratio = row["s"] / full["s"] if full["s"] else 0.0
            heap = "" if row["heap_mb"] is None else f"{row['heap_mb']:.1f}"
            counts = f"{row['requests']:>9,} {row['s']:>8.2f} {ratio:>7.2f}x"
            print(f"{row['phase']:<30} {counts} {heap:>8}")
        total = fetch["s"] + cmp["s"]
        print(
            f"detect deletes (ids + compare): {total:.2f} s = {total / full['s']:.2f}x the full "
            f"extract, {fetch['requests'] / max(full['requests'], 1):.2f}x its requests; "
            f"at Coupa's 25 requests/s both take {fetch['requests'] / 25:.0f} s of budget"
        )
        print(f"peak RSS of the process (sandbox included): {_peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
