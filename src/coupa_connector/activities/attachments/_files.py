"""File bodies both ways: a multipart upload streamed from disk, and download sinks that
check what they receive before anything counts as a file.

A download is written under a temporary name beside its destination and renamed only once
its length (the record's ``file-file-size``, when known) and checksum (``Repr-Digest``,
``Digest`` or ``Content-MD5``, when the server sends one) match; a cut or corrupted body is
started over on the next attempt and never left where a finished file would be.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from coupa_connector.errors import FileError, FileTooLargeError, TransportError

__all__ = [
    "PART_SUFFIX",
    "FileSink",
    "MultipartUpload",
    "StreamSink",
    "file_name_from",
    "safe_name",
    "size_text",
]

CHUNK = 1024 * 1024
PART_SUFFIX = ".coupa-part"
_RECORD_TYPES = ("application/json", "application/xml", "text/xml")


def size_text(count: int) -> str:
    """Bytes for people: ``250 MiB``, ``1.5 KiB``, ``12 bytes``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


def _too_large(what: str, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{what} is larger than max_file_bytes ({size_text(limit)}); raise max_file_bytes "
        "(COUPA_MAX_FILE_BYTES, or max_file_bytes in the profile) if files this large are "
        "expected.",
        limit=limit,
    )


def _quoted(text: str) -> bytes:
    # Browsers send the UTF-8 name with quotes and line breaks escaped; Coupa reads that.
    return (
        text.replace("\\", "\\\\")
        .replace('"', "%22")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .encode()
    )


class MultipartUpload:
    """A ``multipart/form-data`` body: text fields, then one file read in chunks.

    Args:
        fields: Text fields, in order (``attachment[type]``, ``attachment[intent]``...).
        file_field: The file part's name (``attachment[file]``, ``file``).
        filename: The name Coupa stores.
        content_type: The file's media type.
        source: A file path (read as it is sent) or the bytes themselves.
        limit: Refuse a file larger than this.

    Raises:
        FileError: The path is not a readable file.
        FileTooLargeError: The file is over ``limit``.
    """

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        file_field: str,
        filename: str,
        content_type: str,
        source: Path | bytes,
        limit: int,
    ) -> None:
        self.source = source
        if isinstance(source, Path):
            if not source.is_file():
                raise FileError(f"{source}: no such file (or not a regular file).")
            try:
                self.size = source.stat().st_size
            except OSError as exc:
                raise FileError(f"{source}: cannot be read ({exc.strerror}).") from None
        else:
            self.size = len(source)
        if self.size > limit:
            raise _too_large(f"{filename} ({size_text(self.size)})", limit)
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = bytearray()
        for name, value in fields:
            head += f"--{boundary}\r\n".encode()
            head += b'Content-Disposition: form-data; name="' + _quoted(name) + b'"\r\n\r\n'
            head += value.encode() + b"\r\n"
        head += f"--{boundary}\r\n".encode()
        head += b'Content-Disposition: form-data; name="' + _quoted(file_field) + b'"; '
        head += b'filename="' + _quoted(filename) + b'"\r\n'
        head += f"Content-Type: {content_type}\r\n\r\n".encode()
        self._head = bytes(head)
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self.length = len(self._head) + self.size + len(self._tail)

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._head
        if isinstance(self.source, bytes):
            for start in range(0, len(self.source), CHUNK):
                yield self.source[start : start + CHUNK]
        else:
            sent = 0
            with self.source.open("rb") as handle:
                while part := handle.read(CHUNK):
                    sent += len(part)
                    yield part
            if sent != self.size:
                # The Content-Length already promised the old size; the server would wait.
                raise FileError(f"{self.source} changed size while it was being sent.")
        yield self._tail


_RESERVED = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{n}" for n in range(1, 10)),
        *(f"lpt{n}" for n in range(1, 10)),
    }
)
_MAX_NAME_BYTES = 200


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that stays where it is put: no directories (``../``, ``/``, ``\\``),
    no control characters, no leading dots, no names Windows reserves, at most 200 bytes
    (the extension kept)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join("_" if ord(c) < 32 or c in '<>:"|?*\x7f' else c for c in base)
    cleaned = cleaned.strip().lstrip(".").rstrip(". ")
    if not cleaned:
        return fallback
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    if stem.lower() in _RESERVED or cleaned.lower() in _RESERVED:
        stem = f"_{stem or cleaned}"
    suffix = f".{ext}" if dot else ""
    if len(suffix.encode()) > 40:
        stem, suffix = stem + suffix, ""
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem + suffix) or fallback


def file_name_from(headers: Mapping[str, str]) -> str | None:
    """The file name in a ``Content-Disposition`` header (``filename*`` preferred)."""
    from email.message import Message

    raw = headers.get("content-disposition")
    if not raw:
        return None
    message = Message()
    message["content-disposition"] = raw
    name = message.get_filename()
    return str(name) if name else None


def _expected_digests(headers: Mapping[str, str]) -> dict[str, str]:
    """Checksums the server states for the body: algorithm -> hex digest."""
    found: dict[str, str] = {}
    for header in ("repr-digest", "content-digest", "digest"):
        for item in headers.get(header, "").split(","):
            algo, sep, value = item.strip().partition("=")
            if not sep:
                continue
            algo = algo.strip().lower()
            value = value.strip().strip(":")
            if algo in ("sha-256", "md5"):
                try:
                    found.setdefault(algo, base64.b64decode(value, validate=True).hex())
                except ValueError:
                    continue
    md5 = headers.get("content-md5")
    if md5:
        with contextlib.suppress(ValueError):
            found.setdefault("md5", base64.b64decode(md5.strip(), validate=True).hex())
    return found


class _CheckedSink:
    """A download sink that counts, hashes and checks the body it is given.

    Args:
        what: The file, as messages name it.
        limit: The largest file accepted (``max_file_bytes``).
        expected_size: The size the record gives, when it gives one.
        records_too: Let an answer that is a record (JSON or XML without a file name)
            through as an ordinary answer, for show routes that answer either way.
        on_bytes: Called with each chunk's size (negative when an attempt starts over).
    """

    def __init__(
        self,
        what: str,
        limit: int,
        *,
        expected_size: int | None = None,
        records_too: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.what = what
        self.limit = limit
        self.expected_size = expected_size
        self.records_too = records_too
        self.on_bytes = on_bytes
        self.size = 0
        self.content_type = ""
        self.server_name: str | None = None
        self.problem: str | None = None
        self.accepted = False  # whether the last answer's body came here
        self._sha = hashlib.sha256()
        self._md5: Any = None
        self._expected: dict[str, str] = {}

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def begin(self, status: int, headers: Mapping[str, str]) -> bool:
        self.accepted = False
        if status >= 300:
            return False
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        named = file_name_from(headers)
        if self.records_too and media in _RECORD_TYPES and named is None:
            return False
        if self.on_bytes is not None and self.size:
            self.on_bytes(-self.size)
        self.size = 0
        self._sha = hashlib.sha256()
        self._expected = _expected_digests(headers)
        # MD5 costs as much again as sha256: only when the server gives one to check.
        self._md5 = hashlib.md5(usedforsecurity=False) if "md5" in self._expected else None
        self.content_type = media
        self.server_name = named
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise _too_large(f"{self.what} ({size_text(int(declared))})", self.limit)
        self._restart()
        self.accepted = True
        return True

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self._abandon()
            raise _too_large(self.what, self.limit)
        self._sha.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        self._write(data)
        if self.on_bytes is not None:
            self.on_bytes(len(data))

    def finish(self) -> str | None:
        self._flush()
        problem = None
        if self.expected_size is not None and self.size != self.expected_size:
            problem = f"{self.what}: got {self.size} bytes of {self.expected_size}"
        elif "sha-256" in self._expected and self._expected["sha-256"] != self.sha256:
            problem = f"{self.what}: the sha-256 checksum does not match"
        elif self._md5 is not None and self._expected["md5"] != self._md5.hexdigest():
            problem = f"{self.what}: the MD5 checksum does not match"
        self.problem = problem
        return problem

    def incomplete(self, cause: TransportError) -> TransportError:
        """The error to raise when the attempts ran out: a cut body says so."""
        self._abandon()
        if self.problem is None:
            return cause
        from coupa_connector.errors import IncompleteDownloadError

        return IncompleteDownloadError(
            f"{self.problem}, on every attempt; nothing was kept.",
            method=cause.method,
            path=cause.path,
        )

    # The target: overridden by the file and stream sinks.
    def _restart(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _flush(self) -> None:
        """Called at the end of every attempt's body."""

    def _abandon(self) -> None:
        """Called when the download is given up."""


class FileSink(_CheckedSink):
    """Download into ``path``: written as ``.<name>.<random>.coupa-part`` beside it, renamed
    over ``path`` by ``commit`` once complete."""

    def __init__(self, path: Path, what: str, limit: int, **options: object) -> None:
        super().__init__(what, limit, **options)  # type: ignore[arg-type]
        self.path = path
        self.directory: Path | None = None  # set when the name comes from the answer
        self._temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
        self._handle: BinaryIO | None = None

    def _restart(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self._temp.open("wb")

    def _write(self, data: bytes) -> None:
        assert self._handle is not None
        self._handle.write(data)

    def _flush(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _abandon(self) -> None:
        self._flush()
        self._temp.unlink(missing_ok=True)

    def commit(self, path: Path | None = None) -> Path:
        """Rename the finished download to ``path`` (default: the one given at start)."""
        target = path or self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temp, target)
        return target


class StreamSink(_CheckedSink):
    """Download into an open binary stream. A retried attempt rewinds it (and truncates)
    when the stream can seek; one that cannot is not retried into."""

    def __init__(self, stream: BinaryIO, what: str, limit: int, **options: object) -> None:
        super().__init__(what, limit, **options)  # type: ignore[arg-type]
        self.stream = stream
        self._start: int | None = None

    def _restart(self) -> None:
        if self._start is None:
            self._start = self.stream.tell() if self.stream.seekable() else -1
            return
        if self._start < 0:
            raise TransportError(
                f"{self.what}: the download was cut and the stream it went to cannot be "
                "rewound; download to a file or a seekable stream to let it be retried.",
                retryable=False,
            )
        self.stream.seek(self._start)
        self.stream.truncate()

    def _write(self, data: bytes) -> None:
        self.stream.write(data)
