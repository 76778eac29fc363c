#!/usr/bin/env python3
"""One rate budget shared by many processes: combined requests/s as a share of the bound.

    python bench/distributed_rate.py            # 1, 2, 4 and 8 worker processes
    python bench/distributed_rate.py --quick    # a smaller seed

A sandbox with Coupa's throttle on (25 requests/s, burst 20, per client) and 50 ms added to
every request; a real ``redis-server`` (the OS package) on a free local port. For each count
of worker processes, every worker pulls all invoice ids (``tests/_rate_worker.py``) with the
connection's 25 requests/s budget, first shared through Redis, then held by each process
alone (the in-process default). The sandbox counts the requests and 429s; the span runs from
the first worker's first request to the last one's end. Every worker's ids are compared with
the server's: none lost, none twice.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the worker and the Redis server of the tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--counts", default="1,2,4,8")
    args = parser.parse_args()
    from _client_sandbox import server_records
    from _rate_worker import BURST, RATE, run_workers
    from _redis_server import RedisServer
    from coupa_connector.sandbox import Sandbox

    seed = 1000 if args.quick else 2500
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(seed_size=seed, rate_limit=True, latency_ms=50) as sandbox,
    ):
        redis = RedisServer(Path(tmp) / "redis")
        try:
            sandbox.set_rate_limit(False)
            expected = sorted(int(r["id"]) for r in server_records(sandbox, "invoices"))
            sandbox.set_rate_limit(True, RATE, BURST)
            print(
                f"{seed} invoices, {len(expected) // 50 + 1} pages per worker; bound "
                f"{RATE:g} requests/s, burst {BURST}\n"
            )
            print("| processes | budget | requests | seconds | requests/s | % of bound | 429s |")
            print("|---:|---|---:|---:|---:|---:|---:|")
            for count in (int(c) for c in args.counts.split(",")):
                for name, backend in (("shared (Redis)", redis.url), ("in-process", "memory")):
                    folder = Path(tmp) / f"{count}-{name[:6]}"
                    result = run_workers(sandbox, folder, backend, count)
                    for report in result["reports"]:
                        assert sorted(report["ids"]) == expected, "lost or duplicated records"
                    rate = result["sent"] / result["span"]
                    share = result["throttled"] / result["sent"]
                    print(
                        f"| {count} | {name} | {result['sent']} | {result['span']:.1f} | "
                        f"{rate:.1f} | {rate / RATE:.0%} | {result['throttled']} ({share:.1%}) |",
                        flush=True,
                    )
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
