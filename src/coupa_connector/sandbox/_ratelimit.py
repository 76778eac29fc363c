"""Coupa's API throttle: a leaky bucket per caller, 25 requests/s sustained with bursts of 20.

Coupa documents the numbers (25 per second, burst 20) and integrators describe a leaky
bucket answering 429; the ``Retry-After`` header and the error text are this sandbox's
choices, as is keying the bucket on the OAuth client (the documentation does not say whether
the budget is per instance, client or token).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from coupa_connector.sandbox._wire import error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["DEFAULT_BURST", "DEFAULT_RATE", "LeakyBucket", "RateLimitGate", "RateLimiter"]

DEFAULT_RATE = 25.0
DEFAULT_BURST = 20


@dataclass(slots=True)
class LeakyBucket:
    """One caller's bucket: ``level`` requests in it at time ``updated``; it drains at the
    limiter's rate."""

    level: float = 0.0
    updated: float = 0.0


class RateLimiter:
    """Leaky-bucket admission per key.

    Every admitted request pours one unit into the key's bucket, which drains at ``rate``
    units per second; a request that would overflow ``burst`` units is refused and told how
    long until it would fit.

    Args:
        rate: Sustained requests per second.
        burst: Requests admitted at once from an empty bucket.
        enabled: When False every request is admitted.
        clock: Monotonic seconds; injectable so tests need not sleep.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._buckets: dict[str, LeakyBucket] = {}
        self.enabled = enabled
        self.rate = rate
        self.burst = burst
        self.configure(enabled=enabled, rate=rate, burst=burst)

    def __repr__(self) -> str:
        return f"RateLimiter(enabled={self.enabled}, rate={self.rate}, burst={self.burst})"

    def configure(self, *, enabled: bool, rate: float, burst: int) -> None:
        """Change the limits; buckets start empty again.

        Raises:
            ValueError: ``rate`` is not positive or ``burst`` is below 1.
        """
        if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number of requests per second")
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
            raise ValueError("burst must be a whole number of requests, at least 1")
        self.enabled = enabled
        self.rate = float(rate)
        self.burst = burst
        self._buckets.clear()

    def acquire(self, key: str) -> float:
        """Admit one request for ``key`` if its bucket has room.

        Returns:
            0.0 when admitted; otherwise the seconds until one more request would fit.
        """
        if not self.enabled:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = LeakyBucket(0.0, now)
        bucket.level = max(0.0, bucket.level - (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.level + 1.0 <= self.burst + 1e-9:
            bucket.level += 1.0
            return 0.0
        return (bucket.level + 1.0 - self.burst) / self.rate

    def snapshot(self) -> dict[str, object]:
        """The settings, for the admin API."""
        return {"enabled": self.enabled, "rate": self.rate, "burst": self.burst}


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, never 0: clients that sleep for it must wait."""
    return str(max(1, math.ceil(wait)))


class RateLimitGate:
    """ASGI middleware answering 429 with ``Retry-After`` when a caller's bucket is full.

    Args:
        app: The application behind the gate.
        limiter: The buckets.
        key_for: Names the bucket of a request (the OAuth client, ``api-key``, or
            ``anonymous``), or None for requests that are never limited.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        key_for: Callable[[Request], str | None],
        deny: Callable[[Request, str, str], Response] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.key_for = key_for
        # Builds the 429 from the request, the message and the Retry-After value: Coupa's
        # error body by default, the OAuth error body at the token endpoint.
        self.deny = deny or _coupa_denial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = self.key_for(request)
        wait = 0.0 if key is None else self.limiter.acquire(key)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = retry_after_header(wait)
        scope["coupa.rate_limited"] = True
        message = (
            f"Rate limit exceeded: at most {self.limiter.rate:g} requests per second with "
            f"bursts of {self.limiter.burst}. Retry after {retry_after} s."
        )
        await self.deny(request, message, retry_after)(scope, receive, send)


def _coupa_denial(request: Request, message: str, retry_after: str) -> Response:
    return error_response(
        request, 429, [message], model="base", headers={"Retry-After": retry_after}
    )
