"""A token bucket shared by every concurrent request of one connection.

Concurrency is not a rate limit: eight workers at 100 ms latency send 80 requests/s. The
bucket reserves a slot for each request before it is sent, so all workers together stay
under the instance's budget (Coupa: 25 requests/s, bursts of 20).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from coupa_connector.client._config import RateLimit


class TokenBucket:
    """An async token bucket: ``await bucket.acquire()`` before each request.

    Reservations may drive the level below zero; each caller then sleeps exactly until its
    own slot, so waiting callers never hold the lock and are served in arrival order.

    Args:
        limit: Sustained rate and burst.
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._level = float(limit.burst)
        self._stamp = clock()
        self._pause_until = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0  # total seconds callers spent waiting, for stats

    def _reserve(self) -> float:
        now = self._clock()
        self._level = min(
            float(self.limit.burst), self._level + (now - self._stamp) * self.limit.rate
        )
        self._stamp = now
        self._level -= 1.0
        delay = 0.0 if self._level >= 0 else -self._level / self.limit.rate
        return max(delay, self._pause_until - now)

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        async with self._lock:
            delay = self._reserve()
        if delay > 0:
            self.waited += delay
            await asyncio.sleep(delay)
        return delay

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (the server said 429); the bucket also empties."""
        now = self._clock()
        self._pause_until = max(self._pause_until, now + seconds)
        self._level = min(self._level, 0.0)
        self._stamp = now
