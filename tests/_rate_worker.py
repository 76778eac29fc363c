"""Workers of the shared-budget tests and benchmark: each pulls every invoice id, reports JSON.

    python tests/_rate_worker.py OUT.json   (settings from COUPA_* variables)

Run as its own process, so several workers share nothing but the sandbox and, with
``COUPA_RATE_LIMIT_BACKEND=redis://...``, the Redis budget. It writes the ids it received and
its own counts (requests, 429s) and the wall-clock span of its query to ``OUT.json``; the
rate limiter's warnings go to standard error. ``run_workers`` starts several and sums up.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from coupa_connector import Connection, ConnectionConfig

RATE, BURST = 25.0, 20  # Coupa's budget: the sandbox's throttle and the workers' own


def main(out: str) -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    config = ConnectionConfig.from_env()
    with Connection(config) as conn:
        started = time.time()
        ids = [record["id"] for record in conn.query("invoices", fields=["id"])]
        ended = time.time()
        stats = conn.stats
    report = {
        "ids": ids,
        "started": started,
        "ended": ended,
        "requests": stats.requests,
        "throttled": stats.throttled,
        "statuses": {str(k): v for k, v in stats.statuses.items()},
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])


def run_workers(sandbox: Any, folder: Path, backend: str, count: int, **env: str) -> dict[str, Any]:
    """Start ``count`` workers against ``sandbox`` with the 25/s budget in ``backend``
    (``memory`` or a Redis URL); wait for them and return their reports, stderr, the span
    from the first one's start to the last one's end, and the sandbox's request and 429
    counts."""
    sandbox.reset_stats()
    environ = {
        **os.environ,
        "COUPA_URL": sandbox.url,
        "COUPA_CLIENT_ID": sandbox.client_id,
        "COUPA_CLIENT_SECRET": sandbox.client_secret,
        "COUPA_RATE_LIMIT": str(RATE),
        "COUPA_BURST": str(BURST),
        "COUPA_RATE_LIMIT_BACKEND": backend,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        **env,
    }
    folder.mkdir(parents=True, exist_ok=True)
    outs = [folder / f"worker-{i}.json" for i in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(out)], env=environ, stderr=subprocess.PIPE, text=True
        )
        for out in outs
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    if any(p.returncode != 0 for p in procs):
        raise RuntimeError(f"a worker failed: {errors}")
    reports = [json.loads(out.read_text()) for out in outs]
    span = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    route = sandbox.stats()["by_route"]["GET /api/invoices"]
    sent = int(route["total"])
    return {
        "reports": reports,
        "stderr": errors,
        "span": span,
        "sent": sent,
        "throttled": int(route["by_status"].get("429", 0)),
        "rate": sent / span,
    }
