"""Redaction by construction: a value scrubber, a URL sanitizer and a logging filter.

Every logger of the connector gets ``RedactingFilter``; connections register their secrets
(client secret, API key, each access token) with ``register_secret`` before first use, so no
log line that passes through the ``coupa_connector`` tree can carry them.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from coupa_connector.client._secret import MASK

# Query parameters whose values are credentials wherever they appear.
_SENSITIVE_PARAMS = frozenset(
    {"client_secret", "access_token", "token", "api_key", "apikey", "password", "secret", "code"}
)
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-coupa-api-key", "cookie", "set-cookie", "proxy-authorization"}
)
# Bearer tokens that reach a message without having been registered (defence in depth).
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

MIN_SECRET_LENGTH = 4  # shorter "secrets" would shred ordinary words in log lines


def register_secret(value: str | None) -> None:
    """Add a secret value that must never appear in log output."""
    global _pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def scrub(text: str) -> str:
    """Replace every registered secret and any bearer token in ``text`` with a mask."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


def sanitize_url(url: str) -> str:
    """Return ``url`` without user info and with credential-like query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if k.lower() in _SENSITIVE_PARAMS else v) for k, v in pairs], safe="[]:,/*"
        )
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def sanitize_path(path: str, query: str = "") -> str:
    """Return ``path?query`` with credential-like query values masked (for errors and logs)."""
    return sanitize_url(f"{path}?{query}" if query else path)


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with credential headers masked."""
    return {k: (MASK if k.lower() in _SENSITIVE_HEADERS else scrub(v)) for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from a log record's final message (and its exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, scrubbed, so handlers reuse the safe text.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


ROOT_LOGGER = "coupa_connector"


def get_logger(name: str) -> logging.Logger:
    """Return ``coupa_connector.<name>`` with the redacting filter attached once."""
    logger = logging.getLogger(f"{ROOT_LOGGER}.{name}")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
