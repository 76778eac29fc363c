"""A streaming ``multipart/form-data`` reader with size limits, for attachment uploads.

Parts are read as the body arrives: a file part goes to a sink chunk by chunk (so a 200 MB
upload never sits in memory), a text field is kept up to ``max_field`` bytes. Past a limit
the body is refused with the field's name in the message, before the rest is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["FilePart", "FormData", "MultipartError", "PartSink", "boundary_of", "read_multipart"]

_CRLF = b"\r\n"
_MAX_HEADER_BYTES = 16 * 1024
_MAX_PARTS = 32


class MultipartError(Exception):
    """A malformed or oversized form. ``status`` is 400 or 413."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class PartSink(Protocol):
    """Where a file part's bytes go."""

    def write(self, data: bytes) -> None: ...


@dataclass(slots=True)
class FilePart:
    """One file of the form, as its sink received it."""

    name: str
    filename: str
    content_type: str
    size: int = 0


@dataclass(slots=True)
class FormData:
    """The form's text fields and files, by field name."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, or None for another type."""
    kind, _, rest = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in rest.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip():
            text = value.strip().strip('"')
            if 0 < len(text) <= 70:
                return text.encode("latin-1", "replace")
    raise MultipartError("The multipart body has no boundary in its Content-Type.")


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    raw = headers.get("content-disposition", "")
    kind, _, rest = raw.partition(";")
    if kind.strip().lower() != "form-data":
        raise MultipartError("A multipart part lacks Content-Disposition: form-data.")
    params: dict[str, str] = {}
    for item in _split_params(rest):
        key, _, value = item.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"')
        params[key.strip().lower()] = value
    if "name" not in params:
        raise MultipartError("A multipart part has no field name.")
    return params["name"], params.get("filename")


def _split_params(text: str) -> list[str]:
    # Semicolons inside quoted file names do not separate parameters.
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return [p for p in (s.strip() for s in out) if p]


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(_CRLF):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise MultipartError("A multipart part has a malformed header line.")
        headers[name.decode("latin-1").strip().lower()] = value.decode("utf-8", "replace").strip()
    return headers


async def read_multipart(
    chunks: AsyncIterator[bytes],
    boundary: bytes,
    open_file: Callable[[str, str, str], PartSink],
    *,
    max_file: int,
    max_field: int = 64 * 1024,
) -> FormData:
    """Read a whole ``multipart/form-data`` body.

    Args:
        chunks: The body as it arrives.
        boundary: From the Content-Type (``boundary_of``).
        open_file: Called with (field name, file name, content type) for each file part;
            returns the sink for its bytes.
        max_file: Most bytes of one file part.
        max_field: Most bytes of one text field.

    Raises:
        MultipartError: Malformed (400) or over a limit (413).
    """
    delimiter = _CRLF + b"--" + boundary
    buffer = bytearray(_CRLF)  # the first delimiter has no CRLF before it; add one
    form = FormData()
    source = chunks.__aiter__()
    done = False

    async def more() -> bool:
        nonlocal done
        if done:
            return False
        try:
            buffer.extend(await source.__anext__())
        except StopAsyncIteration:
            done = True
            return False
        return True

    # Preamble, up to the first delimiter.
    while (at := buffer.find(delimiter)) < 0:
        if len(buffer) > _MAX_HEADER_BYTES:
            raise MultipartError("The multipart body does not start with its boundary.")
        if not await more():
            raise MultipartError("The multipart body does not contain its boundary.")
    del buffer[: at + len(delimiter)]
    parts = 0
    while True:
        while len(buffer) < 2:
            if not await more():
                raise MultipartError("The multipart body ends without its closing boundary.")
        if buffer[:2] == b"--":
            return form  # the closing delimiter; an epilogue is ignored
        while (end := buffer.find(_CRLF + _CRLF)) < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise MultipartError("A multipart part's headers are too long.")
            if not await more():
                raise MultipartError("The multipart body ends inside a part's headers.")
        headers = _headers(bytes(buffer[:end]))
        del buffer[: end + 4]
        parts += 1
        if parts > _MAX_PARTS:
            raise MultipartError(f"The form has more than {_MAX_PARTS} parts.", 413)
        name, filename = _disposition(headers)
        sink: PartSink | None = None
        part: FilePart | None = None
        text = bytearray()
        limit = max_field
        if filename is not None:
            part = FilePart(name, filename, headers.get("content-type", "application/octet-stream"))
            sink = open_file(name, filename, part.content_type)
            limit = max_file
        size = 0
        while True:
            at = buffer.find(delimiter)
            # Everything before a possible partial delimiter at the end is body.
            safe = at if at >= 0 else max(0, len(buffer) - len(delimiter))
            if safe:
                size += safe
                if size > limit:
                    what = f"The file {filename!r}" if part else f"The field {name}"
                    raise MultipartError(f"{what} is larger than {limit} bytes.", 413)
                if sink is not None:
                    sink.write(bytes(buffer[:safe]))
                else:
                    text.extend(buffer[:safe])
                del buffer[:safe]
            if at >= 0:
                del buffer[: len(delimiter)]
                break
            if not await more():
                raise MultipartError("The multipart body ends inside a part.")
        if part is not None:
            part.size = size
            form.files[name] = part
        else:
            form.fields[name] = text.decode("utf-8", "replace")
