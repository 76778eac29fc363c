"""One worker of the shared-budget tests and benchmark: pulls every invoice id, reports JSON.

    python tests/_rate_worker.py OUT.json   (settings from COUPA_* variables)

Run as its own process, so several workers share nothing but the sandbox and, with
``COUPA_RATE_LIMIT_BACKEND=redis://...``, the Redis budget. It writes the ids it received and
its own counts (requests, 429s) and the wall-clock span of its query to ``OUT.json``; the
rate limiter's warnings go to standard error.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from coupa_connector import Connection, ConnectionConfig


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
