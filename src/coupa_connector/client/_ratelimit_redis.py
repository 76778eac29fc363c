"""The shared rate budget in Redis: pyrate-limiter's token bucket (GCRA) kept in one Redis hash.

Every process and machine that talks to the same Coupa instance, with the same
``rate_limit_backend``, takes its slots from one bucket keyed by the instance URL, so together
they send at most ``rate`` requests per second with bursts of ``burst``, as Coupa's own bucket
allows. The algorithm and its atomic Lua script are pyrate-limiter's; this module only names
the key, maps the limit onto pyrate-limiter's ``Rate`` and turns Redis failures into
``BudgetUnavailable`` so the caller can fall back (see ``client/_ratelimit.py``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from coupa_connector.client._config import RateLimit
from coupa_connector.client._redact import register_secret
from coupa_connector.client._secret import mask_url_password
from coupa_connector.client._shared_budget import BudgetUnavailable
from coupa_connector.errors import ConfigurationError

if TYPE_CHECKING:
    from pyrate_limiter import Limiter

KEY_PREFIX = "coupa-connector:rate-budget:"
# Seconds to wait for Redis before treating it as gone: a slot normally takes well under a
# millisecond, and a stuck store must not hold every request of a run.
REDIS_TIMEOUT = 1.0
# Integer ``Rate`` over a long interval, so fractional rates (12.5/s) stay exact.
_INTERVAL_MS = 1_000_000
# The shared bucket lets half the configured burst go at once. Requests of several processes
# and machines reach Coupa with more jitter than one process's; a burst that fills Coupa's
# own bucket to the brim turns that jitter into 429s, and the sustained rate is the same.
SHARED_BURST_SHARE = 0.5


def budget_key(instance_url: str) -> str:
    """The Redis key of an instance's budget."""
    return KEY_PREFIX + instance_url


class RedisBudget:
    """One instance's rate budget in Redis (``SharedBudget``).

    Args:
        url: The Redis URL (``redis://``, ``rediss://``, ``unix://``).
        instance_url: The Coupa instance; every process with the same URL shares one bucket.
        limit: Sustained rate and burst of the whole budget.
    """

    def __init__(self, url: str, instance_url: str, limit: RateLimit) -> None:
        try:
            from pyrate_limiter import Limiter, Rate, RedisStateStore, StateBucket
            from pyrate_limiter import TokenBucket as GcraBucket
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError(
                "rate_limit_backend redis:// needs the distributed extra: "
                "pip install 'coupa-connector[distributed]'"
            ) from None
        self.where = mask_url_password(url)
        self.key = budget_key(instance_url)
        register_secret(urlsplit(url).password)
        self._redis: Any = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        burst = max(1, int(limit.burst * SHARED_BURST_SHARE))
        rate = Rate(max(1, round(limit.rate * _INTERVAL_MS / 1000)), _INTERVAL_MS, burst=burst)
        bucket = StateBucket(
            [rate], algorithm=GcraBucket(), store=RedisStateStore(self._redis, self.key)
        )
        # A small buffer: pyrate-limiter sleeps the bucket's exact wait plus this, then asks
        # again; 5 ms keeps the slots close together without spinning.
        self._limiter: Limiter = Limiter(bucket, buffer_ms=5)

    def __repr__(self) -> str:
        return f"RedisBudget({self.where!r}, key={self.key!r})"

    async def acquire(self) -> None:
        """Wait for a slot of the shared budget.

        Raises:
            BudgetUnavailable: Redis cannot be reached or refused the request.
        """
        from redis.exceptions import RedisError

        try:
            await self._limiter.try_acquire_async("coupa")
        except (RedisError, OSError) as exc:
            raise BudgetUnavailable(f"{type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        from redis.exceptions import RedisError

        with contextlib.suppress(RedisError, OSError):  # already gone: nothing left open
            await self._redis.aclose()
