"""A token bucket shared by every concurrent request of one connection.

Concurrency is not a rate limit: eight workers at 100 ms latency send 80 requests/s. The
bucket reserves a slot for each request before it is sent, so all workers together stay
under the instance's budget (Coupa: 25 requests/s, bursts of 20).

Even at the right rate, requests bunch up on the way (the network, a busy server) and the
server's own bucket may refuse one. A 429 therefore slows the whole connection a little
(multiplicative decrease, no burst) and each success speeds it back up (additive increase),
so a connection settles just under what the server actually accepts. A long ``Retry-After``
(the server is in trouble, not just counting) holds every request until it has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from coupa_connector.client._config import RateLimit

DECREASE = 0.85  # rate kept after a 429
INCREASE = 0.01  # share of the rate won back per success
MIN_FACTOR = 0.4  # never below this share of the configured rate
PAUSE_AFTER = 2.0  # a Retry-After this long (seconds) holds every request


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
        self._factor = 1.0  # share of the configured rate in use (AIMD)
        self._lock = asyncio.Lock()
        self.waited = 0.0  # total seconds callers spent waiting, for stats

    @property
    def rate(self) -> float:
        """The rate in use now (requests/s): the configured rate, less after 429s."""
        return self.limit.rate * self._factor

    def _reserve(self) -> float:
        now = self._clock()
        rate = self.rate
        self._level = min(float(self.limit.burst), self._level + (now - self._stamp) * rate)
        self._stamp = now
        self._level -= 1.0
        delay = 0.0 if self._level >= 0 else -self._level / rate
        return max(delay, self._pause_until - now)

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        async with self._lock:
            delay = self._reserve()
        if delay > 0:
            self.waited += delay
            await asyncio.sleep(delay)
        return delay

    def throttled(self, retry_after: float | None) -> None:
        """The server answered 429: slow down, and hold everyone for a long ``Retry-After``."""
        now = self._clock()
        self._level = min(self._level + (now - self._stamp) * self.rate, 0.0)  # no burst
        self._stamp = now
        self._factor = max(MIN_FACTOR, self._factor * DECREASE)
        if retry_after is not None and retry_after >= PAUSE_AFTER:
            self._pause_until = max(self._pause_until, now + retry_after)

    def succeeded(self) -> None:
        """A request went through: win back a little of the rate given up after 429s."""
        if self._factor < 1.0:
            self._factor = min(1.0, self._factor + INCREASE)

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds``; the bucket also empties."""
        now = self._clock()
        self._pause_until = max(self._pause_until, now + seconds)
        self._level = min(self._level, 0.0)
        self._stamp = now
