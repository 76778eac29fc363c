"""Streamed bodies at the transport seam: what an upload gives and a download takes.

A request body that is a file is an ``UploadBody``: its length is known up front (so the
request carries ``Content-Length``) and ``chunks`` starts it over for every attempt, so a
retried upload sends the whole file again. An answer that is a file goes to a
``DownloadSink`` a chunk at a time, and the sink has the last word on whether it is
complete: a body cut short, even in clean HTTP framing, counts as a dropped connection, which
the retry table already knows how to handle. Neither ever holds a whole file in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

__all__ = ["DownloadSink", "UploadBody"]


class UploadBody(Protocol):
    """A request body streamed from its source."""

    @property
    def length(self) -> int:
        """Bytes in the whole body."""
        ...

    @property
    def content_type(self) -> str:
        """Its ``Content-Type`` (a multipart type with its boundary)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body from its first byte, afresh for each attempt."""
        ...


class DownloadSink(Protocol):
    """Where a streamed answer's body goes."""

    def begin(self, status: int, headers: Mapping[str, str]) -> bool:
        """An answer's head has arrived: True to stream its body here (start over if an
        earlier attempt wrote some), False to read it as an ordinary answer (an error, or a
        record where a file was expected)."""
        ...

    def write(self, data: bytes) -> None:
        """The next bytes of the body. May raise to abandon the download (over its size cap);
        the error passes through the transport unchanged."""
        ...

    def finish(self) -> str | None:
        """The body has ended: None if it is complete, or why not (shorter than expected,
        checksum mismatch), which makes the attempt a dropped connection."""
        ...
