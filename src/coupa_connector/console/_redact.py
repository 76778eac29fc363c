"""What the console never shows: credentials, whether in a record, a debug log or a setting.

Pages show data through these before it is escaped: a field whose name says it holds a
credential shows ``********`` whatever it holds, and every secret the console knows of (the
connection settings it was started with) is replaced in free text, longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "Scrubber", "is_secret_name", "mask_record", "mask_yaml_line"]

MASK = "********"

# Field names that hold credentials (a user's password, an API key, an OAuth secret).
_SECRET_NAME = re.compile(r"password|passwd|secret|token|api[-_]?key|private[-_]?key", re.I)
# "name": "value" pairs (JSON) and name=value pairs (URLs, query strings) whose name is a
# credential's. Prose such as "client_secret: secrets never go in a file" is left alone.
_NAME = r"[\w.-]*(?:password|passwd|secret|token|api[-_]?key|private[-_]?key)[\w.-]*"
_SECRET_PAIR = re.compile(
    rf"""(?P<key>"{_NAME}"\s*:\s*|\b{_NAME}=)(?P<value>"(?:[^"\\]|\\.)*"|[^\s,;&"}}\]]+)""",
    re.I,
)


# ``name: value`` in YAML (an operation file shown as it is); ``..._env`` names a variable.
_YAML_SECRET = re.compile(
    rf"""(?P<key>\b{_NAME}(?<!_env)\s*:[ \t]*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}}\]#]+)""",
    re.I,
)


def mask_yaml_line(line: str) -> str:
    """A line of YAML with the value of every credential-named key masked."""
    return _YAML_SECRET.sub(lambda m: f"{m.group('key')}{MASK}", line)


def is_secret_name(name: str) -> bool:
    """Whether a field named ``name`` holds a credential."""
    return bool(_SECRET_NAME.search(name))


def mask_record(value: Any) -> Any:
    """A copy of a record with the value of every credential-named field masked."""
    if isinstance(value, Mapping):
        return {
            k: (MASK if is_secret_name(str(k)) and v not in (None, "") else mask_record(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_record(v) for v in value]
    return value


class Scrubber:
    """Masks known secret values and credential-named pairs in free text.

    Args:
        secrets: Secret values to replace wherever they appear (empty ones are ignored).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # A value of a few characters is no credential, and masking it would garble the text.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _SECRET_PAIR.sub(_mask_pair, text)


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.startswith(("*", '"*')):
        return match.group(0)  # masked already
    quote = '"' if value.startswith('"') else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"
