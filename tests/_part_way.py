"""Make a run fail part-way: after the first pages, the sandbox answers 503 for a while."""

from __future__ import annotations

import threading
import time
from typing import Any


def fail_after_pages(sandbox: Any, pages: int = 2, errors: int = 6) -> threading.Thread:
    """Watch the sandbox's count of invoice pages; once ``pages`` were served, answer the
    next ``errors`` of them with 503 (more than the connection's retries). Returns the
    started watcher; join it after the run."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            route = sandbox.stats()["by_route"].get("GET /api/invoices", {})
            if route.get("total", 0) >= pages:
                sandbox.set_faults(error_count=errors, error_statuses=[503], path="^/api/invoices")
                return
            time.sleep(0.005)

    sandbox.reset_stats()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher
