"""A string wrapper for credentials that never shows its value by accident."""

from __future__ import annotations

MASK = "**********"


class SecretStr:
    """Holds a secret (client secret, token, API key) behind a masking ``repr`` and ``str``.

    The value is only reachable through ``get_secret_value()``, so a secret cannot leak into
    a log line, an error message or a pasted ``repr`` by string formatting alone.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{MASK}')" if self._value else "SecretStr('')"

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretStr", self._value))

    def __reduce__(self) -> tuple[type[SecretStr], tuple[str]]:
        # Pickling keeps the value (processes need it), but never through repr.
        return (SecretStr, (self._value,))
