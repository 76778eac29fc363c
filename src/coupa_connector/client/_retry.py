"""The retry decision, as one table, and the one budget every resend spends.

An outcome (a status code or a transport ``Failure``) maps to a ``Decision``: the action for
a safe request, the action for an unsafe one (POST), and what the outcome means for a record
a write sends (``Resolution``). Whoever resends acts on the table, never on ``isinstance``
chains, so the policy can be read (and reviewed) in one place; and it spends one ``Budget``
per request (resends after errors, resends after throttling, total time), waiting by the
one ``Backoff`` formula.

Exactly one loop resends a request: the connection's for reads (``retry=True``), the write
activity's for a write, which sends each attempt with ``retry=False`` because only it can
tell (by looking the record up) whether a lost answer is safe to send again.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time
from collections.abc import Callable
from typing import NamedTuple

from coupa_connector.client._config import RetryPolicy
from coupa_connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CoupaError,
    Failure,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = [
    "DECISIONS",
    "Action",
    "Backoff",
    "Budget",
    "Decision",
    "Failure",
    "Outcome",
    "Resolution",
    "decide",
    "is_throttle",
    "outcome_of",
    "parse_retry_after",
    "resolution",
]


class Action(enum.Enum):
    """What to do with one attempt's outcome."""

    SUCCEED = "succeed"
    RETRY = "retry"  # back off, then send again
    THROTTLED = "throttled"  # the server's rate limit: wait Retry-After (or back off), resend
    REAUTH = "reauth"  # mint a new token once, then resend
    FAIL = "fail"  # raise now


class Resolution(enum.Enum):
    """What a failed attempt means for the record a write sends.

    FAIL     Coupa refused this record (400, 404, ...): it fails alone; the run goes on.
    FATAL    no record can succeed (401, 403, refused connection, DNS, TLS, bad settings):
             the run stops at once.
    RESEND   the request provably did not land (429, 503, connect errors): send it again.
    UNKNOWN  it may have landed (timeout, dropped connection, 500/502/504): an idempotent
             write is sent again; a create is first looked up by its natural key, an update
             that adds lines first read again.
    """

    FAIL = "fail"
    FATAL = "fatal"
    RESEND = "resend"
    UNKNOWN = "unknown"


class Decision(NamedTuple):
    """One row of the table."""

    safe: Action
    unsafe: Action
    record: Resolution


Outcome = int | Failure

SAFE = "safe"  # GET, HEAD, PUT: sending twice does no harm
UNSAFE = "unsafe"  # POST: Coupa has no idempotency key, so a duplicate is a second record

_R, _T, _A, _F = Action.RETRY, Action.THROTTLED, Action.REAUTH, Action.FAIL
_FAIL, _FATAL, _RESEND, _UNKNOWN = (
    Resolution.FAIL,
    Resolution.FATAL,
    Resolution.RESEND,
    Resolution.UNKNOWN,
)

# outcome -> (action for safe requests, action for unsafe requests, meaning for a record)
DECISIONS: dict[Outcome, Decision] = {
    401: Decision(_A, _A, _FATAL),  # reaches a write only once a fresh token was refused too
    403: Decision(_F, _F, _FATAL),
    408: Decision(_R, _F, _FAIL),
    429: Decision(_T, _T, _RESEND),  # Coupa rejected it before acting: safe to resend a POST
    500: Decision(_R, _F, _UNKNOWN),
    502: Decision(_R, _F, _UNKNOWN),  # a gateway may have forwarded the POST before failing
    503: Decision(_T, _T, _RESEND),  # unavailable: the request was not processed
    504: Decision(_R, _F, _UNKNOWN),
    Failure.CONNECT: Decision(_R, _R, _RESEND),
    Failure.REFUSED: Decision(_F, _F, _FATAL),  # the host said no: it will say it again
    Failure.DNS: Decision(_F, _F, _FATAL),  # no such host
    Failure.CONNECT_TIMEOUT: Decision(_R, _R, _RESEND),
    Failure.POOL_TIMEOUT: Decision(_R, _R, _RESEND),
    Failure.TLS: Decision(_F, _F, _FATAL),  # no record will get through a failing handshake
    Failure.WRITE: Decision(_R, _F, _UNKNOWN),
    Failure.READ_TIMEOUT: Decision(_R, _F, _UNKNOWN),
    Failure.DROPPED: Decision(_R, _F, _UNKNOWN),
    Failure.PROTOCOL: Decision(_R, _F, _UNKNOWN),
}

# Every other error status: the same request would fail the same way.
_OTHER = Decision(_F, _F, _FAIL)

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
    row = DECISIONS.get(outcome, _OTHER)
    action = row.safe if safe else row.unsafe
    if not safe and not policy.retry_writes and action in (_R, _T):
        return Action.FAIL
    return action


_KINDS = frozenset(f.value for f in Failure)


def outcome_of(error: CoupaError) -> Outcome | None:
    """The table's key for an error: its transport failure kind, else its error status."""
    kind = getattr(error, "kind", None)
    if isinstance(kind, str) and kind in _KINDS:
        return Failure(kind)
    if error.status is not None and error.status >= 300:
        return error.status
    return None


# Errors that carry neither a status nor a failure kind, by class; most specific first.
_BY_CLASS: tuple[tuple[type[CoupaError], Resolution], ...] = (
    (AuthenticationError, _FATAL),
    (PermissionDeniedError, _FATAL),
    (ConfigurationError, _FATAL),
    (RateLimitError, _RESEND),
    (TransportError, _UNKNOWN),  # no answer, or one that could not be read: may have landed
    (ServerError, _UNKNOWN),
)


def resolution(error: CoupaError) -> Resolution:
    """What one failed write attempt means for its record: the table's third column."""
    outcome = outcome_of(error)
    if outcome is not None:
        return DECISIONS.get(outcome, _OTHER).record
    for cls, res in _BY_CLASS:
        if isinstance(error, cls):
            return res
    return _FAIL


def is_throttle(outcome: Outcome, retry_after: float | None) -> bool:
    """True for the server's "later" (a 429, or a 503 that says how long): it has its own,
    larger share of the budget, since under load it is expected, not broken."""
    return outcome == 429 or (outcome == 503 and retry_after is not None)


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


class Budget:
    """One request's retry budget: resends after errors and after throttling, and time.

    A request is sent at most ``1 + max_retries + max_throttled`` times (one more after a
    401, with a fresh token), and never resent past ``total_time`` from its first send.

    Args:
        policy: The numbers.
        backoff: The waits between sends.
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(
        self, policy: RetryPolicy, backoff: Backoff, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy
        self.backoff = backoff
        self._clock = clock
        self._deadline = clock() + policy.total_time
        self.retries = 0
        self.throttles = 0
        self.why = ""
        self.server_wait = False  # spent because the server asked for too long a wait

    def next_delay(self, *, throttled: bool, retry_after: float | None = None) -> float | None:
        """Seconds to wait before sending again, or None when the budget is spent (``why``
        then says how)."""
        if throttled:
            self.throttles += 1
            delay = self.backoff.delay(min(self.throttles, 8), retry_after)
            over = self.throttles > self.policy.max_throttled
        else:
            self.retries += 1
            delay = self.backoff.delay(self.retries, retry_after)
            over = self.retries > self.policy.max_retries
        if delay is None and retry_after is not None:
            self.server_wait = True
            self.why = f"the server asked to wait {retry_after:.0f} s, longer than allowed"
            return None
        if over or delay is None or self._clock() + delay > self._deadline:
            self.why = "out of retries" if over else "out of time"
            return None
        return delay

    def lookup_pause(self) -> float:
        """A wait before asking whether a lost write landed (a slow server may still be at
        it), whether or not the budget allows another send."""
        return self.backoff.delay(max(self.retries, 1)) or 0.0
