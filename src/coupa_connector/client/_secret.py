"""String wrappers for credentials that never show their value by accident."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

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
        if not isinstance(other, SecretStr) or type(other) is not type(self):
            return False  # a proxy URL is not a client secret, even with the same text
        return other._value == self._value

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __reduce__(self) -> tuple[type[SecretStr], tuple[str]]:
        # Pickling keeps the value (processes need it), but never through repr.
        return (type(self), (self._value,))


def mask_url_password(url: str) -> str:
    """``url`` with the password of its user info (``user:password@host``) masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK  # not a URL we can take apart: show none of it
    if password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(
        (parts.scheme, f"{parts.username}:{MASK}@{host}", parts.path, parts.query, "")
    )


class SecretURL(SecretStr):
    """A URL whose password is a secret (a proxy's ``http://user:password@host:port``).

    Shown (``repr``, ``str``, and so ``vars()``, ``__getstate__()`` and logs) with the password
    masked and the rest as given, since the host is what a person needs to see; the whole
    URL is only reachable through ``get_secret_value()``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SecretURL({mask_url_password(self._value)!r})"

    def __str__(self) -> str:
        return mask_url_password(self._value)

    @property
    def password(self) -> str | None:
        """The password of the URL's user info, if it has one."""
        try:
            return urlsplit(self._value).password
        except ValueError:
            return None
