"""Fault injection: the misbehaviour of a real network and a real Coupa, on demand.

A ``FaultConfig`` is a seed and a list of ``FaultRule``; each rule picks requests by method
and path regex and gives them added latency and, by count ("the next N requests") or by
share ("20% of them"), one of these faults:

    throttle     429 with Retry-After, as if the instance's budget were spent
    error        a 500, 502 or 503 (the 502/503 bodies are HTML, as a load balancer sends)
    drop         the connection closes before any answer; the request was never handled
    truncate     the request is handled, then the body is cut short and the connection closed
    commit_drop  (writes only) the request is handled and saved, then the connection closes
                 without an answer: the client cannot tell whether its write landed
    short        the request is handled and answered in full HTTP framing, but with half the
                 body (Content-Length says so too): only the client's own checks (the size
                 it expected, a checksum) can tell

All random choices come from one ``random.Random(seed)``, so a run with the same requests in
the same order sees the same faults. The admin API (``/__sandbox__/``) is never faulted; the
token endpoint only by a rule whose ``path`` names it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from coupa_connector.sandbox._wire import error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "FAULT_KINDS",
    "FaultConfig",
    "FaultInjector",
    "FaultRule",
    "abort_connection",
]

FaultKind = Literal["throttle", "error", "drop", "truncate", "commit_drop", "short"]
# Counted faults are taken in this order when several are due for the same request.
FAULT_KINDS: tuple[FaultKind, ...] = (
    "throttle",
    "error",
    "drop",
    "truncate",
    "commit_drop",
    "short",
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_PREFIX = "/__sandbox__/"
TOKEN_PREFIX = "/oauth2/"
_MAX_LATENCY_MS = 600_000
_ERROR_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Faults for the requests that match ``methods`` and ``path``.

    Attributes:
        latency_ms: Added to every matching request.
        jitter_ms: Up to this much more, drawn uniformly per request.
        error_rate: Share (0-1) of matching requests answered with a server error.
        error_count: The next N matching requests answered with a server error.
        error_statuses: The statuses to pick from for server errors.
        throttle_rate: Share answered 429.
        throttle_count: The next N answered 429 (a "429 storm").
        retry_after: ``Retry-After`` seconds on those 429s.
        drop_rate: Share whose connection is closed before any answer.
        drop_count: The next N closed before any answer.
        truncate_rate: Share whose body is cut short.
        truncate_count: The next N whose body is cut short.
        commit_drop_rate: Share of writes saved, then closed without an answer.
        commit_drop_count: The next N writes saved, then closed without an answer.
        short_rate: Share answered with half their body, framed as if complete.
        short_count: The next N answered with half their body.
        methods: HTTP methods the rule applies to; empty means all.
        path: Regular expression searched in the request path; None means every API path.
    """

    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    error_count: int = 0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    throttle_rate: float = 0.0
    throttle_count: int = 0
    retry_after: int = 1
    drop_rate: float = 0.0
    drop_count: int = 0
    truncate_rate: float = 0.0
    truncate_count: int = 0
    commit_drop_rate: float = 0.0
    commit_drop_count: int = 0
    short_rate: float = 0.0
    short_count: int = 0
    methods: tuple[str, ...] = ()
    path: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("latency_ms", "jitter_ms"):
            _check_int(name, getattr(self, name), 0, _MAX_LATENCY_MS)
        _check_int("retry_after", self.retry_after, 0, 86_400)
        for kind in FAULT_KINDS:
            _check_rate(f"{kind}_rate", getattr(self, f"{kind}_rate"))
            _check_int(f"{kind}_count", getattr(self, f"{kind}_count"), 0, 10_000_000)
        statuses = tuple(self.error_statuses)
        if not statuses or any(s not in _ERROR_STATUSES for s in statuses):
            raise ValueError("error_statuses: give one or more of 500, 502, 503, 504")
        object.__setattr__(self, "error_statuses", statuses)
        methods = tuple(m.upper() for m in self.methods)
        if any(not isinstance(m, str) or not m.isalpha() for m in methods):
            raise ValueError("methods: give HTTP method names such as GET, POST, PUT")
        object.__setattr__(self, "methods", methods)
        if self.path is not None:
            try:
                object.__setattr__(self, "_pattern", re.compile(self.path))
            except (re.error, TypeError) as exc:
                raise ValueError(f"path: not a regular expression ({exc})") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from admin-API JSON, naming any unknown or wrong field.

        Raises:
            ValueError: A field is unknown or has a bad value.
        """
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{unknown[0]}: unknown fault setting; known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        for name in ("error_statuses", "methods"):
            if name in values:
                raw = values[name]
                if isinstance(raw, str):
                    raw = [raw]
                if not isinstance(raw, list | tuple):
                    raise ValueError(f"{name}: expected a list")
                values[name] = tuple(raw)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready settings (defaults included)."""
        data = asdict(self)
        data.pop("_pattern", None)
        data["error_statuses"] = list(self.error_statuses)
        data["methods"] = list(self.methods)
        return data

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is this rule's business."""
        if self.methods and method not in self.methods:
            return False
        if self._pattern is None:
            return not path.startswith(TOKEN_PREFIX)
        return self._pattern.search(path) is not None

    @property
    def is_empty(self) -> bool:
        """True when the rule would do nothing."""
        return self == FaultRule(methods=self.methods, path=self.path)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")


def _check_rate(name: str, value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    if not ok:
        raise ValueError(f"{name}: expected a share from 0 to 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Every fault the sandbox injects, and the seed of their random choices."""

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Parse admin-API JSON: ``{"seed": 7, "rules": [{...}, ...]}`` or, for one rule,
        its settings inline: ``{"seed": 7, "error_rate": 0.2, "methods": ["GET"]}``.

        Raises:
            ValueError: A setting is unknown or has a bad value; the message names it.
        """
        if not isinstance(data, Mapping):
            raise ValueError("faults: expected a JSON object")
        seed = data.get("seed", 0)
        _check_int("seed", seed, 0, 2**63)
        rest = {k: v for k, v in data.items() if k != "seed"}
        if "rules" in rest:
            if len(rest) > 1:
                raise ValueError("rules: give either a rules list or one rule's settings inline")
            raw_rules = rest["rules"]
            if not isinstance(raw_rules, list) or not all(
                isinstance(r, Mapping) for r in raw_rules
            ):
                raise ValueError("rules: expected a list of objects")
            rules = []
            for i, raw in enumerate(raw_rules):
                try:
                    rules.append(FaultRule.from_dict(raw))
                except ValueError as exc:
                    raise ValueError(f"rules[{i}].{exc}") from None
            return cls(seed, tuple(rules))
        rule = FaultRule.from_dict(rest)
        return cls(seed, () if rule.is_empty else (rule,))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, accepted back by ``from_dict``."""
        return {"seed": self.seed, "rules": [r.to_dict() for r in self.rules]}


@dataclass(slots=True)
class _Decision:
    latency: float = 0.0
    kind: FaultKind | None = None
    status: int = 0
    retry_after: int = 1


class FaultInjector:
    """ASGI middleware that applies the current ``FaultConfig``.

    Args:
        app: The application behind it.
        config: The faults to start with.
    """

    def __init__(self, app: ASGIApp, config: FaultConfig | None = None) -> None:
        self.app = app
        self.injected: dict[str, int] = {}
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the faults; counts and the random sequence start over."""
        self.config = config
        self._rng = random.Random(config.seed)
        self._remaining = [{k: getattr(r, f"{k}_count") for k in FAULT_KINDS} for r in config.rules]
        self.injected = dict.fromkeys(FAULT_KINDS, 0)

    def snapshot(self) -> dict[str, Any]:
        """The configuration, what is left of the counted faults, and what was injected."""
        return {
            **self.config.to_dict(),
            "remaining": [dict(r) for r in self._remaining],
            "injected": dict(self.injected),
        }

    def decide(self, method: str, path: str) -> _Decision:
        """Choose the latency and fault of one request (the only place randomness is drawn)."""
        decision = _Decision()
        for rule, remaining in zip(self.config.rules, self._remaining, strict=True):
            if not rule.matches(method, path):
                continue
            decision.latency += rule.latency_ms / 1000.0
            if rule.jitter_ms:
                decision.latency += self._rng.uniform(0, rule.jitter_ms) / 1000.0
            if decision.kind is not None:
                continue
            due = [k for k in FAULT_KINDS if k != "commit_drop" or method in WRITE_METHODS]
            kind = next((k for k in due if remaining[k] > 0), None)
            if kind is not None:
                remaining[kind] -= 1
            else:
                kind = next(
                    (
                        k
                        for k in due
                        if getattr(rule, f"{k}_rate") > 0
                        and self._rng.random() < getattr(rule, f"{k}_rate")
                    ),
                    None,
                )
            if kind is None:
                continue
            decision.kind = kind
            decision.retry_after = rule.retry_after
            if kind == "error":
                decision.status = self._rng.choice(rule.error_statuses)
        if decision.kind is not None:
            self.injected[decision.kind] += 1
        return decision

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        decision = self.decide(scope["method"], scope["path"])
        if decision.latency > 0:
            await asyncio.sleep(decision.latency)
        if decision.kind is None:
            await self.app(scope, receive, send)
            return
        scope["coupa.fault"] = decision.kind
        if decision.kind == "throttle":
            response = error_response(
                Request(scope),
                429,
                ["Rate limit exceeded. Retry later."],
                headers={"Retry-After": str(decision.retry_after)},
            )
            await response(scope, receive, send)
        elif decision.kind == "error":
            await _server_error(decision.status, scope, receive, send)
        elif decision.kind == "drop":
            await abort_connection(scope, receive, send)
        else:
            await self._handled_then_lost(decision.kind, scope, receive, send)

    async def _handled_then_lost(
        self, kind: FaultKind, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start: Message | None = None
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        if kind == "short" and start is not None:
            half = bytes(body[: len(body) // 2])
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(half)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": half, "more_body": False})
            return
        if kind == "truncate" and start is not None and len(body) > 1:
            await send(start)
            await send(
                {
                    "type": "http.response.body",
                    "body": bytes(body[: len(body) // 2]),
                    "more_body": True,
                }
            )
        await abort_connection(scope, receive, send)


async def _server_error(status: int, scope: Scope, receive: Receive, send: Send) -> None:
    if status == 500:
        response = error_response(Request(scope), 500, ["We're sorry, but something went wrong."])
    else:
        # What a load balancer in front of the instance sends: HTML, not Coupa's format.
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
        response = Response(
            f"<html><head><title>{status} {reason}</title></head>"
            f"<body><h1>{status} {reason}</h1></body></html>\n",
            status_code=status,
            media_type="text/html",
        )
    await response(scope, receive, send)


def find_transport(send: Send) -> Any:
    """The asyncio transport behind uvicorn's ``send``, if this server exposes one."""
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    return transport if hasattr(transport, "close") else None


async def abort_connection(scope: Scope, receive: Receive, send: Send) -> None:
    """Close the client's connection without completing the response.

    With uvicorn the socket is closed directly (the client sees the server hang up). On
    servers that hide their transport, a response that promises one byte and ends the
    exchange without it has the same effect: the server must drop the connection.
    """
    transport = scope.get("coupa.transport") or find_transport(send)
    if transport is None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
        )
        return
    transport.close()
    # Wait for the server to notice, so it does not try to answer on the dead socket.
    try:
        async with asyncio.timeout(2.0):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass
