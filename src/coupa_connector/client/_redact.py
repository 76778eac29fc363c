"""Redaction by construction: a value scrubber, a URL sanitizer and a logging filter.

Every logger of the connector gets ``RedactingFilter``; connections register their secrets
(client secret, API key, each access token) with ``register_secret`` before first use, so no
log line that passes through the ``coupa_connector`` tree can carry them.

Records carry secrets of their own (a user's ``password``, a supplier's ``cxml-secret``),
which no connection knows: bodies and records shown in debug logs go through
``mask_fields``/``mask_body``, which mask every field whose name says it is a secret.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from coupa_connector.client._depth import json_too_deep
from coupa_connector.client._secret import MASK

# Query parameters whose values are credentials wherever they appear.
_SENSITIVE_PARAMS = frozenset(
    {"client_secret", "access_token", "token", "api_key", "apikey", "password", "secret", "code"}
)
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-coupa-api-key", "cookie", "set-cookie", "proxy-authorization"}
)
# Record fields whose values are secrets, by name: password, cxml-secret,
# cxml-http-password, sftp-private-key, api-token, ... (``-`` and ``_`` alike).
_SECRET_FIELD = re.compile(r"(?i)password|secret|token|api[-_]?key|private[-_]?key|passphrase")
# An XML element with text only: <cxml-secret>value</cxml-secret>.
_XML_ELEMENT = re.compile(r"<([A-Za-z_][\w.-]*)(\s[^<>]*)?>([^<]*)</\1\s*>")
# A JSON member in text that did not parse whole (a cut body): "password": "value".
_JSON_MEMBER = re.compile(r'"([^"\\]*)"(\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)')

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


def is_secret_field(name: str) -> bool:
    """True for a record field whose value is a secret (``password``, ``cxml-secret``)."""
    return bool(_SECRET_FIELD.search(name))


def mask_fields(value: Any, also: Collection[str] = ()) -> Any:
    """A copy of a record (or records) with the value of every secret field masked.

    ``also`` names more fields to mask wherever they appear (an input field that a
    transformation maps to a secret field, say).
    """
    if isinstance(value, Mapping):
        return {
            k: (
                MASK
                if v not in (None, "") and (is_secret_field(str(k)) or k in also)
                else mask_fields(v, also)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_fields(v, also) for v in value]
    return value


def mask_body(content: bytes) -> str:
    """A request or response body as text with every secret field's value masked: JSON by
    its keys, XML by its element names."""
    try:
        if json_too_deep(content):
            raise ValueError("too deep to walk")  # masked as text, below
        parsed = orjson.loads(content)
    except ValueError:  # orjson.JSONDecodeError is one
        text = content.decode("utf-8", errors="replace")
        text = _XML_ELEMENT.sub(_mask_xml_element, text)
        return _JSON_MEMBER.sub(_mask_json_member, text)
    if not isinstance(parsed, dict | list):
        return content.decode("utf-8", errors="replace")
    return orjson.dumps(mask_fields(parsed)).decode()


def _mask_xml_element(match: re.Match[str]) -> str:
    tag, attrs, text = match.group(1), match.group(2) or "", match.group(3)
    if not text or not is_secret_field(tag):
        return match.group(0)
    return f"<{tag}{attrs}>{MASK}</{tag}>"


def _mask_json_member(match: re.Match[str]) -> str:
    if not is_secret_field(match.group(1)):
        return match.group(0)
    return f'"{match.group(1)}"{match.group(2)}"{MASK}"'


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
