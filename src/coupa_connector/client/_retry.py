"""The retry decision, as a table, and the backoff maths.

An outcome (a status code or a transport failure kind) maps to an ``Action`` per request
class. The connection acts on the action, never on ``isinstance`` chains, so the policy can be
read (and reviewed) in one place.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time

from coupa_connector.client._config import RetryPolicy


class Action(enum.Enum):
    """What to do with one attempt's outcome."""

    SUCCEED = "succeed"
    RETRY = "retry"  # back off, then send again
    THROTTLED = "throttled"  # the server's rate limit: wait Retry-After (or back off), resend
    REAUTH = "reauth"  # mint a new token once, then resend
    FAIL = "fail"  # raise now


class Failure(enum.Enum):
    """Transport failures, split by whether the request can have reached the server."""

    CONNECT = "connect"  # refused, DNS, unreachable: nothing was sent
    CONNECT_TIMEOUT = "connect_timeout"  # nothing was sent
    POOL_TIMEOUT = "pool_timeout"  # no free connection: nothing was sent
    TLS = "tls"  # handshake failed: nothing was sent, and retrying will not fix it
    WRITE = "write"  # the request may be partly sent
    READ_TIMEOUT = "read_timeout"  # sent; the server may have acted on it
    DROPPED = "dropped"  # connection closed mid-exchange; the server may have acted
    PROTOCOL = "protocol"  # malformed answer

    @property
    def landed_maybe(self) -> bool:
        """True when the server may have received (and acted on) the request."""
        return self in {Failure.WRITE, Failure.READ_TIMEOUT, Failure.DROPPED, Failure.PROTOCOL}


Outcome = int | Failure

SAFE = "safe"  # GET, HEAD, PUT: sending twice does no harm
UNSAFE = "unsafe"  # POST: Coupa has no idempotency key, so a duplicate is a second record

_R, _T, _A, _F = Action.RETRY, Action.THROTTLED, Action.REAUTH, Action.FAIL

# outcome -> (action for safe requests, action for unsafe requests)
DECISIONS: dict[Outcome, tuple[Action, Action]] = {
    401: (_A, _A),
    408: (_R, _F),
    429: (_T, _T),  # Coupa rejected it before acting: safe to resend a POST
    500: (_R, _F),
    502: (_R, _F),  # a gateway may have forwarded the POST before failing
    503: (_T, _T),  # unavailable: the request was not processed
    504: (_R, _F),
    Failure.CONNECT: (_R, _R),
    Failure.CONNECT_TIMEOUT: (_R, _R),
    Failure.POOL_TIMEOUT: (_R, _R),
    Failure.TLS: (_F, _F),
    Failure.WRITE: (_R, _F),
    Failure.READ_TIMEOUT: (_R, _F),
    Failure.DROPPED: (_R, _F),
    Failure.PROTOCOL: (_R, _F),
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def decide(outcome: Outcome, method: str, policy: RetryPolicy) -> Action:
    """Return the action for one attempt's outcome.

    Args:
        outcome: An HTTP status or a transport ``Failure``.
        method: The request's HTTP method.
        policy: The connection's retry policy (``retry_writes=False`` never retries POST).
    """
    if isinstance(outcome, int) and outcome < 300:
        return Action.SUCCEED
    safe = method.upper() in SAFE_METHODS
    actions = DECISIONS.get(outcome)
    if actions is None:
        return Action.FAIL  # every other 4xx: the same request would fail the same way
    action = actions[0] if safe else actions[1]
    if not safe and not policy.retry_writes and action in (_R, _T):
        return Action.FAIL
    return action


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Backoff:
    """Full-jitter capped exponential backoff; ``Retry-After`` replaces it when given.

    The random draw lives in ``jitter`` alone so tests can pin it.
    """

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()

    def jitter(self, ceiling: float) -> float:
        """A uniform draw in ``[0, ceiling]``."""
        return self._rng.uniform(0.0, ceiling)

    def delay(self, retry: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or None to give up.

        Args:
            retry: Which retry this is (1 for the first).
            retry_after: The server's ``Retry-After``, which replaces the backoff.

        Returns:
            The delay, or None when the server asks for longer than ``max_retry_after``.
        """
        if retry_after is not None:
            return None if retry_after > self.policy.max_retry_after else retry_after
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * (2 ** (retry - 1)))
        return self.jitter(ceiling)
