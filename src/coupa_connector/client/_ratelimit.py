"""A token bucket shared by every concurrent request of one connection.

Concurrency is not a rate limit: eight workers at 100 ms latency send 80 requests/s. The
bucket reserves a slot for each request before it is sent, so all workers together stay
under the instance's budget (Coupa: 25 requests/s, bursts of 20).

Even at the right rate, requests bunch up on the way (the network, a busy server) and the
server's own bucket may refuse one. A 429 therefore slows the whole connection a little
(multiplicative decrease, no burst) and each success speeds it back up (additive increase),
so a connection settles just under what the server actually accepts. A long ``Retry-After``
(the server is in trouble, not just counting) holds every request until it has passed.

A connection's bucket starts with no burst in hand: it cannot know how much of the
instance's budget was spent just before it (by the command run a moment ago, or another
tool on the same client), and a full burst into a full server bucket is a burst of 429s. It
paces from its first request and earns the burst by a quiet spell. Every request of the
connection takes its slot here, key lookups and token-refreshed resends included, at the
moment it is sent (after it got a connection of the pool, so slots are not spent in a
bunch when connections free up).

Several processes or machines talking to one instance share its budget through a
``SharedBudget`` (``rate_limit_backend: redis://...``): after its local slot, each request
also takes one from the shared bucket. When that store cannot be reached, the bucket warns
once and falls back to a share of the rate of its own (``rate_limit_fallback_share``), asks
the store again every ``RETRY_SHARED_AFTER`` seconds, and never fails a request for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from coupa_connector.client._config import ConnectionConfig, RateLimit
from coupa_connector.client._redact import get_logger
from coupa_connector.client._shared_budget import BudgetUnavailable, SharedBudget

log = get_logger("ratelimit")

DECREASE = 0.85  # rate kept after a 429
INCREASE = 0.01  # share of the rate won back per success
MIN_FACTOR = 0.4  # never below this share of the configured rate
PAUSE_AFTER = 2.0  # a Retry-After this long (seconds) holds every request
RETRY_SHARED_AFTER = 10.0  # seconds on the local fallback before asking the shared store again


class TokenBucket:
    """An async token bucket: ``await bucket.acquire()`` before each request.

    Reservations may drive the level below zero; each caller then sleeps exactly until its
    own slot, so waiting callers never hold the lock and are served in arrival order.

    Args:
        limit: Sustained rate and burst.
        clock: Monotonic clock in seconds (injectable for tests).
        shared: A budget shared with other processes, taken after the local slot.
        fallback_share: The share of ``limit.rate`` kept while ``shared`` is unreachable.
        burst_at_start: False starts the bucket empty (paced from the first request).
    """

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        *,
        shared: SharedBudget | None = None,
        fallback_share: float = 1.0,
        burst_at_start: bool = True,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._shared = shared
        self._fallback_share = fallback_share
        self._share = 1.0  # fallback_share while the shared budget is unreachable
        self._retry_shared_at = 0.0
        self._level = float(limit.burst) if burst_at_start else 0.0
        self._stamp = clock()
        self._pause_until = 0.0
        self._factor = 1.0  # share of the configured rate in use (AIMD)
        self._lock = asyncio.Lock()
        self.waited = 0.0  # total seconds callers spent waiting, for stats

    @property
    def rate(self) -> float:
        """The rate in use now (requests/s): the configured rate, less after 429s and while
        a shared budget is unreachable."""
        return self.limit.rate * self._factor * self._share

    @property
    def on_fallback(self) -> bool:
        """True while the shared budget is unreachable and the local share applies."""
        return self._share < 1.0

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
        if self._shared is not None and self._clock() >= self._retry_shared_at:
            started = self._clock()
            try:
                await self._shared.acquire()
            except BudgetUnavailable as exc:
                self._fall_back(str(exc))
            else:
                self._restore()
            shared_wait = self._clock() - started
            self.waited += shared_wait
            delay += shared_wait
        return delay

    def _fall_back(self, why: str) -> None:
        """The shared store is gone: go on alone at the configured share, say so once."""
        self._retry_shared_at = self._clock() + RETRY_SHARED_AFTER
        if self.on_fallback:
            return
        assert self._shared is not None
        self._share = self._fallback_share
        self._level = min(self._level, 1.0)  # no burst at the switch
        log.warning(
            "shared rate budget at %s is unreachable (%s); going on with %.0f%% of the rate "
            "limit (%.1f requests/s) in this process, and trying it again every %.0f s",
            self._shared.where,
            why,
            self._fallback_share * 100,
            self.limit.rate * self._fallback_share,
            RETRY_SHARED_AFTER,
        )

    def _restore(self) -> None:
        if self.on_fallback:
            assert self._shared is not None
            self._share = 1.0
            log.warning("shared rate budget at %s is back; using it again", self._shared.where)

    async def aclose(self) -> None:
        """Release the shared budget's connections (nothing to do for a local bucket)."""
        if self._shared is not None:
            await self._shared.aclose()

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


def bucket_for(config: ConnectionConfig) -> TokenBucket | None:
    """The connection's bucket: None when the rate limit is off, shared when configured."""
    limit = config.rate
    if limit is None:
        return None
    if config.rate_limit_backend is None:
        return TokenBucket(limit, burst_at_start=False)
    from coupa_connector.client._ratelimit_redis import RedisBudget

    return TokenBucket(
        limit,
        shared=RedisBudget(config.rate_limit_backend.get_secret_value(), config.url, limit),
        fallback_share=config.rate_limit_fallback_share,
    )
