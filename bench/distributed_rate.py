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
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the worker and the Redis server of the tests

RATE, BURST = 25.0, 20


def run(sandbox: Any, folder: Path, backend: str, count: int) -> dict[str, Any]:
    sandbox.reset_stats()
    env = {
        **os.environ,
        "COUPA_URL": sandbox.url,
        "COUPA_CLIENT_ID": sandbox.client_id,
        "COUPA_CLIENT_SECRET": sandbox.client_secret,
        "COUPA_RATE_LIMIT": str(RATE),
        "COUPA_BURST": str(BURST),
        "COUPA_RATE_LIMIT_BACKEND": backend,
    }
    folder.mkdir(parents=True, exist_ok=True)
    outs = [folder / f"worker-{i}.json" for i in range(count)]
    worker = str(ROOT / "tests" / "_rate_worker.py")
    procs = [subprocess.Popen([sys.executable, worker, str(o)], env=env) for o in outs]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a worker failed")
    reports = [json.loads(o.read_text()) for o in outs]
    span = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    route = sandbox.stats()["by_route"]["GET /api/invoices"]
    sent, throttled = int(route["total"]), int(route["by_status"].get("429", 0))
    return {"reports": reports, "span": span, "sent": sent, "throttled": throttled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--counts", default="1,2,4,8")
    args = parser.parse_args()
    from _client_sandbox import server_records
    from _redis_server import RedisServer
    from coupa_connector.sandbox import Sandbox

    seed = 1000 if args.quick else 2500
    with tempfile.TemporaryDirectory() as tmp, Sandbox(
        seed_size=seed, rate_limit=True, latency_ms=50
    ) as sandbox:
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
                    result = run(sandbox, Path(tmp) / f"{count}-{name[:6]}", backend, count)
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
