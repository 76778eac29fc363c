"""One Airflow pool per Coupa instance, sized to its request budget.

Coupa's budget is per instance (about 25 requests/s), and one task already reaches it when
it keeps ``rate x latency`` requests in flight (Little's law: 25/s x 0.3 s = 7.5). More tasks
on one instance do not go faster; they only wait on the budget, holding worker slots. So
every task that talks to an instance takes ``pool_slots = concurrency`` slots of that
instance's pool, and the pool holds the requests in flight the budget can use (plus room
for tasks busy with transforms or files). The shared Redis budget then keeps the requests
of every running task within the rate, whatever the pool allows.
"""

from __future__ import annotations

import math
import re


def instance_pool(conn_id: str) -> str:
    """The pool of the instance behind an Airflow connection: ``<conn_id>_pool``."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", conn_id) + "_pool"


def pool_slots(rate: float = 25.0, latency: float = 0.3, headroom: float = 2.0) -> int:
    """Request slots for an instance's pool: the requests in flight that saturate ``rate``
    at ``latency`` seconds per request, times ``headroom`` for tasks busy between requests
    (transforms, writing files).

    Args:
        rate: The instance's requests per second.
        latency: Typical seconds per request.
        headroom: Factor for time tasks spend not waiting on Coupa.

    Raises:
        ValueError: A value is not positive.
    """
    if rate <= 0 or latency <= 0 or headroom <= 0:
        raise ValueError("rate, latency and headroom must be positive")
    return max(1, math.ceil(rate * latency * headroom))
