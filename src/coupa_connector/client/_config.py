"""Connection settings as frozen value objects, from code, environment variables or profiles.

Every value object here has an honest ``repr`` that is safe to paste into an issue: secrets
are ``SecretStr``, and the proxy URL is a ``SecretURL`` that shows its password masked.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from coupa_connector.client._secret import MASK, SecretStr, SecretURL, mask_url_password
from coupa_connector.errors import ConfigurationError

WireFormat = Literal["json", "xml"]

CONFIG_DIR_NAME = "coupa-connector"
CONFIG_FILE_NAME = "config.toml"

# Coupa pages hold at most 50 records: 50 invoices with their lines are some 600 kB of JSON
# (1.1 MB as XML), so 64 MiB is a hundred times the largest real page, yet it bounds what a
# broken or hostile server (a gzip answer that inflates to gigabytes) can make one request
# hold: at most concurrency x 64 MiB for a whole connection.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# The largest attachment or document file sent or received (the Oracle adapter's limit).
DEFAULT_MAX_FILE_BYTES = 250 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Timeout:
    """Per-phase HTTP timeouts in seconds.

    Attributes:
        connect: Establishing the TCP/TLS connection.
        read: Waiting for response bytes.
        write: Sending request bytes.
        pool: Waiting for a free connection from the keep-alive pool.
    """

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"timeout {name} must be a number of seconds.")
            if not (value > 0 and math.isfinite(value)):
                raise ConfigurationError(
                    f"timeout {name} must be a positive number of seconds, not {value!r}."
                )

    @classmethod
    def of(cls, value: Timeout | float | int) -> Timeout:
        """Return ``value`` as a Timeout; a number sets every phase."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"timeout must be a number of seconds, not {value!r}.")
        seconds = float(value)
        return cls(connect=seconds, read=seconds, write=seconds, pool=seconds)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A client-side token bucket shared by every request of one connection.

    Attributes:
        rate: Sustained requests per second (Coupa allows 25).
        burst: Requests that may go at once after a quiet spell (Coupa allows 20).
    """

    rate: float = 25.0
    burst: int = 20

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigurationError(f"rate_limit must be a positive number, not {self.rate!r}.")
        if self.burst < 1:
            raise ConfigurationError(f"burst must be at least 1, not {self.burst!r}.")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed requests are retried.

    Attributes:
        max_retries: Retries after the first attempt for errors (5xx, timeouts, dropped
            connections).
        max_throttled: Resends after throttling answers (429, or 503 with ``Retry-After``);
            these are expected under load, so they have their own, larger budget (still
            bounded by ``total_time``).
        backoff_base: First backoff ceiling in seconds; it doubles per retry.
        backoff_cap: Largest backoff ceiling in seconds (full jitter picks below it).
        max_retry_after: A ``Retry-After`` longer than this fails the request instead.
        total_time: Bound in seconds on one request including all its retries.
        retry_writes: Retry POST when the request provably did not land (connect errors,
            429, 503). False never retries a POST automatically.
    """

    max_retries: int = 5
    max_throttled: int = 30
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0
    total_time: float = 600.0
    retry_writes: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, not {self.max_retries}.")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ConfigurationError("backoff_base and backoff_cap must not be negative.")
        if self.total_time <= 0:
            raise ConfigurationError(f"total_time must be positive, not {self.total_time}.")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _normalize_url(url: str, *, allow_http: bool, what: str = "url") -> str:
    raw = url.strip()
    if not raw:
        raise ConfigurationError(
            f"{what} is empty; give the instance URL, e.g. https://acme.coupahost.com."
        )
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{what} {mask_url_password(raw)!r} is not an http(s) URL.")
    if parts.username or parts.password:
        raise ConfigurationError(f"{what} must not carry credentials; use client_id/client_secret.")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise ConfigurationError(
            f"{what} {raw!r} uses plain http://, which would send credentials unencrypted; "
            "use https://, or set allow_http=True (COUPA_ALLOW_HTTP=1) for a trusted network."
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _scopes(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(s.strip() for s in items if s.strip()))


def _secret(value: SecretStr | str | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value or None
    return SecretStr(value) if value else None


def _secret_url(value: SecretURL | str | None) -> SecretURL | None:
    if value is None or isinstance(value, SecretURL):
        return value or None
    return SecretURL(value) if value else None


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30}


def _size(value: int | str) -> int:
    """A byte count from a number, or text such as ``64MiB`` or ``100 MB``.

    Raises:
        ValueError: Not a positive number of bytes.
    """
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match is None:
            raise ValueError("expected a number of bytes, e.g. 67108864, 64MiB or 100MB")
        value = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()])
    if value < 1:
        raise ValueError(f"expected at least 1 byte, not {value}")
    return value


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything needed to talk to one Coupa instance.

    Args:
        url: Instance URL (``https://acme.coupahost.com``); ``https://`` is added when missing.
        client_id: OAuth 2.0 client identifier.
        client_secret: OAuth 2.0 client secret (kept as ``SecretStr``).
        scopes: Scopes to request, a sequence or a space/comma separated string; empty asks
            for whatever the client is granted.
        token_url: Token endpoint; defaults to ``<url>/oauth2/token``.
        api_key: Legacy ``X-COUPA-API-KEY`` credential, used when no OAuth client is given.
        timeout: Seconds for every phase, or a ``Timeout``.
        verify: Verify TLS certificates.
        ca_bundle: Path of a PEM bundle of trusted CAs (a corporate proxy's, say).
        proxy: Proxy URL for all requests (kept as ``SecretURL``: its password is shown
            masked).
        rate_limit: Client-side requests per second for the whole connection; None is off.
        burst: Requests allowed at once by the rate limiter.
        rate_limit_backend: Where the rate budget lives: None (or ``memory``) in this
            process; ``redis://[:password@]host:port/db`` (``rediss://``, ``unix://``) in a
            Redis shared by every process and machine that talks to the same instance (extra
            ``coupa-connector[distributed]``). Its password is a secret: masked in ``repr``
            and scrubbed from logs.
        rate_limit_fallback_share: The share of ``rate_limit`` this process keeps for itself
            while the shared budget's Redis is unreachable (1/N for N workers).
        concurrency: Requests in flight at once (queries fetch this many pages together).
        max_retries: Retries per request after the first attempt.
        retry: Backoff and bounds for retries (its ``max_retries`` is replaced by the above).
        wire_format: ``json`` (default) or ``xml`` on the wire.
        allow_http: Permit a plain ``http://`` URL that is not loopback.
        user_agent: ``User-Agent`` header.
        max_response_bytes: Largest answer body accepted, counted after decompression (a
            number of bytes, or text such as ``"64MiB"``); a larger one fails the request
            with ``ResponseTooLargeError`` as soon as the limit is passed.
        max_file_bytes: Largest attachment or document file uploaded or downloaded (bytes,
            or text such as ``"250MiB"``); files stream, so this bounds disk, not memory.
    """

    url: str
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: tuple[str, ...] = ()
    token_url: str | None = None
    api_key: SecretStr | None = None
    timeout: Timeout = field(default_factory=Timeout)
    verify: bool = True
    ca_bundle: str | None = None
    proxy: SecretURL | None = None
    rate_limit: float | None = 25.0
    burst: int = 20
    rate_limit_backend: SecretURL | None = None
    rate_limit_fallback_share: float = 0.25
    concurrency: int = 8
    max_retries: int = 5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    wire_format: WireFormat = "json"
    allow_http: bool = False
    user_agent: str = "coupa-connector/0.1.0"
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    def __post_init__(self) -> None:
        _check_types(self)
        put: Callable[[str, Any], None] = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        put("url", _normalize_url(self.url, allow_http=self.allow_http))
        put("client_secret", _secret(self.client_secret))
        put("api_key", _secret(self.api_key))
        put("proxy", _secret_url(self.proxy))
        try:
            put("max_response_bytes", _size(self.max_response_bytes))
        except ValueError as exc:
            raise ConfigurationError(f"max_response_bytes is not valid: {exc}.") from None
        try:
            put("max_file_bytes", _size(self.max_file_bytes))
        except ValueError as exc:
            raise ConfigurationError(f"max_file_bytes is not valid: {exc}.") from None
        put("scopes", _scopes(self.scopes))
        put("timeout", Timeout.of(self.timeout))
        put("client_id", (self.client_id or "").strip() or None)
        if self.token_url:
            put(
                "token_url",
                _normalize_url(self.token_url, allow_http=self.allow_http, what="token_url"),
            )
        if self.proxy is not None:
            try:
                proxy = urlsplit(self.proxy.get_secret_value())
                proxy_host = proxy.hostname
            except ValueError:
                proxy_host = None
            if proxy_host is None or proxy.scheme not in ("http", "https", "socks5"):
                raise ConfigurationError(f"proxy {str(self.proxy)!r} is not a proxy URL.")
        if self.wire_format not in ("json", "xml"):
            raise ConfigurationError(
                f"wire_format must be 'json' or 'xml', not {self.wire_format!r}."
            )
        if self.concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, not {self.concurrency}.")
        if self.rate_limit is not None:
            RateLimit(self.rate_limit, self.burst)  # validates
        put("rate_limit_backend", _rate_backend(self.rate_limit_backend))
        share = self.rate_limit_fallback_share
        if not (0 < share <= 1):
            raise ConfigurationError(
                f"rate_limit_fallback_share must be above 0 and at most 1, not {share!r}."
            )
        put("retry", replace(self.retry, max_retries=self.max_retries))
        if self.ca_bundle is not None and not Path(self.ca_bundle).is_file():
            raise ConfigurationError(f"ca_bundle {self.ca_bundle!r} is not a readable file.")
        has_oauth = self.client_id is not None or self.client_secret is not None
        if has_oauth and not (self.client_id and self.client_secret):
            missing = "client_secret" if self.client_id else "client_id"
            raise ConfigurationError(
                f"OAuth needs both client_id and client_secret; {missing} is missing."
            )
        if not has_oauth and self.api_key is None:
            raise ConfigurationError(
                "No credentials: give client_id and client_secret (COUPA_CLIENT_ID, "
                "COUPA_CLIENT_SECRET) or a legacy api_key (COUPA_API_KEY)."
            )

    @property
    def auth_mode(self) -> Literal["oauth", "api_key"]:
        """``oauth`` when an OAuth client is configured, else ``api_key``."""
        return "oauth" if self.client_id else "api_key"

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint: ``token_url`` or ``<url>/oauth2/token``."""
        return self.token_url or f"{self.url}/oauth2/token"

    @property
    def rate(self) -> RateLimit | None:
        """The rate limit as a value object, or None when off."""
        return None if self.rate_limit is None else RateLimit(self.rate_limit, self.burst)

    @property
    def host(self) -> str:
        """The instance's host name."""
        return urlsplit(self.url).hostname or ""

    def secrets(self) -> tuple[str, ...]:
        """The raw secret values, for seeding the log scrubber."""
        found = [s.get_secret_value() for s in (self.client_secret, self.api_key) if s]
        urls = (self.proxy, self.rate_limit_backend)
        found.extend(u.password for u in urls if u is not None and u.password)
        return tuple(found)

    def __repr__(self) -> str:
        shown: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(ConnectionConfig, f.name, object()) and f.name != "url":
                continue  # defaults add noise, not information
            shown.append(f"{f.name}={value!r}")
        return f"ConnectionConfig({', '.join(shown)})"

    __str__ = __repr__

    # ----------------------------------------------------------------- alternative sources

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectionConfig:
        """Build a config from ``COUPA_*`` environment variables.

        ``COUPA_PROFILE`` (if set) loads that profile first; variables that are set override
        its values. Recognised: COUPA_URL, COUPA_CLIENT_ID, COUPA_CLIENT_SECRET, COUPA_SCOPES,
        COUPA_API_KEY, COUPA_TOKEN_URL, COUPA_TIMEOUT, COUPA_RATE_LIMIT (``off`` disables),
        COUPA_BURST, COUPA_CONCURRENCY, COUPA_MAX_RETRIES, COUPA_VERIFY, COUPA_CA_BUNDLE,
        COUPA_PROXY, COUPA_WIRE_FORMAT, COUPA_ALLOW_HTTP, COUPA_MAX_RESPONSE_BYTES,
        COUPA_MAX_FILE_BYTES, COUPA_CONFIG_FILE, COUPA_RATE_LIMIT_BACKEND,
        COUPA_RATE_LIMIT_FALLBACK_SHARE.

        Args:
            environ: Mapping to read instead of ``os.environ``.

        Raises:
            ConfigurationError: A variable has a bad value, or no URL/credentials are set.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        profile = env.get("COUPA_PROFILE")
        if profile:
            values = _read_profile(profile, _config_path(env), env)
        elif not env.get("COUPA_URL"):
            # Nothing in the environment: the config file's default profile, if it names one.
            default = _default_profile(_config_path(env))
            if default:
                values = _read_profile(default, _config_path(env), env)
        for key, (var, parse) in _ENV_KEYS.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                raise ConfigurationError(f"{var}={raw!r} is not valid: {exc}") from None
        if "url" not in values:
            raise ConfigurationError("COUPA_URL is not set (or use COUPA_PROFILE with a profile).")
        return cls(**values)

    @classmethod
    def from_profile(
        cls,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ConnectionConfig:
        """Build a config from a named profile in the TOML config file.

        The file (``<user config dir>/coupa-connector/config.toml`` unless ``path`` or
        ``COUPA_CONFIG_FILE`` says otherwise) holds ``[profiles.<name>]`` tables with the
        constructor's argument names as keys. Secrets may be given indirectly:
        ``client_secret_env = "ACME_SECRET"`` reads the secret from that environment variable
        (likewise ``api_key_env``); a proxy password only as ``${VARIABLE}`` in the proxy URL,
        filled from the environment. ``default_profile = "<name>"`` picks the profile when no
        name is given.

        Raises:
            ConfigurationError: No such file or profile, an unknown key, a bad value, or a
                proxy password written in the file.
        """
        env = os.environ if environ is None else environ
        file = Path(path) if path is not None else _config_path(env)
        return cls(**_read_profile(name, file, env))


# What each setting may hold, checked before anything else: settings also come from TOML
# profiles and operation files, where "false" in quotes is a (truthy) string.
_SETTING_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "url": ((str,), "text"),
    "client_id": ((str, type(None)), "text"),
    "client_secret": ((SecretStr, str, type(None)), "text"),
    "token_url": ((str, type(None)), "text"),
    "api_key": ((SecretStr, str, type(None)), "text"),
    "timeout": ((Timeout, int, float), "a number of seconds"),
    "verify": ((bool,), "true or false"),
    "ca_bundle": ((str, type(None)), "a file path"),
    "proxy": ((SecretURL, str, type(None)), "a proxy URL"),
    "rate_limit": ((int, float, type(None)), "a number of requests per second, or none"),
    "burst": ((int,), "a whole number"),
    "rate_limit_backend": ((SecretURL, str, type(None)), "memory or a redis:// URL"),
    "rate_limit_fallback_share": ((int, float), "a share between 0 and 1"),
    "concurrency": ((int,), "a whole number"),
    "max_retries": ((int,), "a whole number"),
    "retry": ((RetryPolicy,), "a RetryPolicy"),
    "wire_format": ((str,), "json or xml"),
    "allow_http": ((bool,), "true or false"),
    "user_agent": ((str,), "text"),
    "max_response_bytes": ((int, str), 'a number of bytes, e.g. 67108864 or "64MiB"'),
    "max_file_bytes": ((int, str), 'a number of bytes, e.g. 262144000 or "250MiB"'),
}


def _check_types(config: ConnectionConfig) -> None:
    for name, (types, expected) in _SETTING_TYPES.items():
        value = getattr(config, name)
        # bool is an int to Python, but never a count or a rate.
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong:
            shown = MASK if name in ("client_secret", "api_key") else repr(value)
            raise ConfigurationError(f"{name} must be {expected}, not {shown}.")
    scopes = config.scopes
    if not isinstance(scopes, str) and not (
        isinstance(scopes, Sequence) and all(isinstance(s, str) for s in scopes)
    ):
        raise ConfigurationError(f"scopes must be text or a list of text, not {scopes!r}.")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false")


def _rate(raw: str) -> float | None:
    if raw.strip().lower() in ("off", "none", "0"):
        return None
    return float(raw)


RATE_BACKEND_SCHEMES = ("redis", "rediss", "unix")


def _rate_backend(value: SecretURL | str | None) -> SecretURL | None:
    """None for the in-process budget (``memory``), else a checked Redis URL."""
    raw = (value.get_secret_value() if isinstance(value, SecretURL) else value or "").strip()
    if raw.lower() in ("", "memory"):
        return None
    parts = urlsplit(raw)
    if parts.scheme not in RATE_BACKEND_SCHEMES or not (parts.hostname or parts.path):
        raise ConfigurationError(
            f"rate_limit_backend {mask_url_password(raw)!r} is neither memory nor a Redis URL "
            "(redis://host:6379/0, rediss://..., unix:///path/redis.sock)."
        )
    return SecretURL(raw)


def _wire(raw: str) -> str:
    if raw.strip().lower() not in ("json", "xml"):
        raise ValueError("expected json or xml")
    return raw.strip().lower()


_ENV_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "url": ("COUPA_URL", str),
    "client_id": ("COUPA_CLIENT_ID", str),
    "client_secret": ("COUPA_CLIENT_SECRET", SecretStr),
    "scopes": ("COUPA_SCOPES", _scopes),
    "token_url": ("COUPA_TOKEN_URL", str),
    "api_key": ("COUPA_API_KEY", SecretStr),
    "timeout": ("COUPA_TIMEOUT", float),
    "rate_limit": ("COUPA_RATE_LIMIT", _rate),
    "burst": ("COUPA_BURST", int),
    "rate_limit_backend": ("COUPA_RATE_LIMIT_BACKEND", str),
    "rate_limit_fallback_share": ("COUPA_RATE_LIMIT_FALLBACK_SHARE", float),
    "concurrency": ("COUPA_CONCURRENCY", int),
    "max_retries": ("COUPA_MAX_RETRIES", int),
    "verify": ("COUPA_VERIFY", _bool),
    "ca_bundle": ("COUPA_CA_BUNDLE", str),
    "proxy": ("COUPA_PROXY", SecretURL),
    "wire_format": ("COUPA_WIRE_FORMAT", _wire),
    "allow_http": ("COUPA_ALLOW_HTTP", _bool),
    "max_response_bytes": ("COUPA_MAX_RESPONSE_BYTES", _size),
    "max_file_bytes": ("COUPA_MAX_FILE_BYTES", _size),
}

_PROFILE_KEYS = {f.name for f in fields(ConnectionConfig)} - {"retry"}
_INDIRECT_KEYS = {"client_secret_env", "api_key_env"}


def _config_path(env: Mapping[str, str]) -> Path:
    explicit = env.get("COUPA_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    import platformdirs  # only profile users pay for the import

    return Path(platformdirs.user_config_dir(CONFIG_DIR_NAME)) / CONFIG_FILE_NAME


def _default_profile(file: Path) -> str | None:
    """The config file's ``default_profile``, or None (no file, or none named)."""
    return profile_names(file)[1]


def profile_names(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[list[str], str | None]:
    """The profiles of the config file (``ConnectionConfig.from_profile``'s), sorted, and
    its ``default_profile``; none when there is no file.

    Raises:
        ConfigurationError: The file is not valid TOML.
    """
    env = os.environ if environ is None else environ
    file = Path(path) if path is not None else _config_path(env)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Config file {file} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    names = sorted(str(n) for n, v in profiles.items() if isinstance(v, dict))
    chosen = data.get("default_profile")
    return names, str(chosen) if chosen else None


def _read_profile(name: str | None, file: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"No config file at {file}; create it with [profiles.<name>] tables."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Config file {file} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    chosen = name or data.get("default_profile")
    if not chosen:
        raise ConfigurationError(f"No profile named and no default_profile in {file}.")
    if chosen not in profiles or not isinstance(profiles[chosen], dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"Profile {chosen!r} is not in {file} (profiles: {known}).")
    values: dict[str, Any] = {}
    for key, value in profiles[chosen].items():
        if key in ("client_secret_env", "api_key_env"):
            target = key.removesuffix("_env")
            secret = env.get(str(value))
            if not secret:
                raise ConfigurationError(
                    f"Profile {chosen!r}: {key} names environment variable {value!r}, "
                    "which is not set."
                )
            values[target] = SecretStr(secret)
        elif key in _URL_KEYS and isinstance(value, str):
            values[key] = _profile_url(f"Profile {chosen!r} in {file}", key, value, env)
        elif key in _PROFILE_KEYS:
            values[key] = value
        else:
            raise ConfigurationError(
                f"Profile {chosen!r} in {file} has unknown key {key!r}; "
                f"known keys: {', '.join(sorted(_PROFILE_KEYS | _INDIRECT_KEYS))}."
            )
    return values


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# Settings that are URLs which may carry a password, with an example of the variable form.
_URL_KEYS = {
    "proxy": "http://proxyuser:${PROXY_PASSWORD}@proxy.example.com:3128",
    "rate_limit_backend": "redis://:${REDIS_PASSWORD}@cache:6379/0",
}


def _profile_url(where: str, key: str, url: str, env: Mapping[str, str]) -> SecretURL:
    """A profile's proxy or Redis URL, its ``${VARIABLE}``s filled from the environment.

    A password may only come from a variable: a profile is a file, and a secret written
    there is one that ends up in backups and screen shares.
    """
    password = SecretURL(url).password
    if password and not _VARIABLE.fullmatch(password):
        raise ConfigurationError(
            f"{where}: {key}: a password in the url; secrets never go in a profile. Write it "
            f"as ${{VARIABLE}} (e.g. {_URL_KEYS[key]}) and set the environment variable."
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigurationError(
                f"{where}: {key}: ${{{name}}} is not set; set the environment variable."
            )
        return env[name]

    return SecretURL(_VARIABLE.sub(fill, url))
