"""Text input as the record readers read it, with bytes that are not UTF-8 found, not fatal.

A UTF-8 input is decoded with ``surrogateescape``: a byte that is not UTF-8 becomes a lone
surrogate instead of an exception, so the reader can reject the one row or line that holds
it, naming its line and byte offset, and read on. ``TextInput`` keeps the byte offset of
everything it has handed out for that. Other encodings (an operation's ``encoding:``) decode
strictly; a byte they cannot decode stops the file with its line.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import sys
from collections.abc import Iterator
from typing import IO

from coupa_connector.errors import RecordFileError

__all__ = [
    "TextInput",
    "clean_text",
    "decode_utf8",
    "is_utf8",
    "not_utf8",
    "open_text",
    "open_utf8_bytes",
    "utf8_problem",
    "utf16_bom",
]

# A UTF-8 decoder never produces surrogates from valid input, so with surrogateescape these
# (U+DC80 to U+DCFF, one per byte) mark exactly the bytes that were not UTF-8.
_ESCAPED = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def utf16_bom(head: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when ``head`` (a file's first bytes) starts with that byte
    order mark, else None."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


ENCODING_HINT = (
    "give the file's encoding with --encoding (an operation file: encoding: in the source); "
    "exports from Windows programs are often cp1252"
)


def not_utf8(byte: int, offset: int) -> str:
    """The message for a byte that is not UTF-8, with how to read the file in its encoding."""
    return (
        f"not UTF-8: byte 0x{byte:02X} at byte offset {offset} cannot be decoded; " + ENCODING_HINT
    )


def clean_text(text: str) -> str:
    """``text`` with every undecodable byte as U+FFFD, so it can be written out as UTF-8
    (a rejects file shows where the bytes were; the reason says which they were)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _byte_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def decode_utf8(data: bytes) -> tuple[str, int | None, str | None]:
    """Decode a whole file that must be UTF-8 (a leading byte order mark dropped).

    Returns:
        ``(text, None, None)``, or ``("", line, reason)`` for the first byte that is not
        UTF-8, or a UTF-16/UTF-32 file.
    """
    wide = utf16_bom(data[:4])
    if wide:
        return "", 1, f"the file is {wide} (it starts with a {wide} byte order mark), not UTF-8"
    try:
        return data.decode("utf-8-sig"), None, None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return "", line, not_utf8(data[exc.start], exc.start)


def utf8_problem(data: bytes, start: int) -> str | None:
    """Why ``data``, which starts at byte ``start`` of its file, is not UTF-8; None if it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_utf8(data[exc.start], start + exc.start)
    return None


def is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8 (an unknown name is not, and fails where it is used)."""
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


class TextInput:
    """A decoded text input, read by lines or by chunks.

    Attributes:
        name: The input as given (``-`` for standard input).
        encoding: The encoding it is read with.
        offset: Bytes handed out so far (UTF-8 inputs; 0 for others).
        line_start: Byte offset of the line handed out last.
        lines: Lines handed out so far (``read`` counts line breaks).
    """

    def __init__(self, stream: IO[str], name: str, encoding: str) -> None:
        self._stream = stream
        self._lines = iter(stream)
        self.name = name
        self.encoding = encoding
        self._utf8 = is_utf8(encoding)
        self.offset = 0
        self.line_start = 0
        self.lines = 0

    def __iter__(self) -> TextInput:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except UnicodeDecodeError as exc:
            raise self._undecodable(exc) from None
        # Per line of a large file: the byte count is inlined, and free for ASCII.
        self.line_start = self.offset
        if self._utf8:
            self.offset += (
                len(line) if line.isascii() else len(line.encode("utf-8", "surrogateescape"))
            )
        self.lines += 1
        return line

    def read(self, size: int = -1) -> str:
        """Up to ``size`` characters (all with -1); a byte that is not UTF-8 stops the file here.

        Raises:
            RecordFileError: The chunk holds bytes that cannot be decoded (file, line, byte
                offset).
        """
        try:
            chunk = self._stream.read(size)
        except UnicodeDecodeError as exc:
            raise self._undecodable(exc) from None
        start = self.offset
        if self._utf8:
            self.offset += _byte_length(chunk)
        problem = self.problem(chunk, start)
        if problem is not None:
            match = _ESCAPED.search(chunk)
            line = self.lines + chunk.count("\n", 0, match.start() if match else 0) + 1
            raise RecordFileError(problem, file=self.name, line=line)
        self.lines += chunk.count("\n")
        return chunk

    def problem(self, text: str, start: int) -> str | None:
        """Why ``text``, which starts at byte ``start``, cannot be read: the first byte in it
        that is not UTF-8; None when there is none."""
        if text.isascii():
            return None
        match = _ESCAPED.search(text)
        if match is None:
            return None
        byte = ord(match.group()) - 0xDC00
        return not_utf8(byte, start + _byte_length(text[: match.start()]))

    def _undecodable(self, exc: UnicodeDecodeError) -> Exception:

        # The decoder's offsets are within its last chunk: the file is read again (only on
        # this error) to name the byte and its line.
        found = first_undecodable(self.name, self.encoding)
        if found is None:
            where, line = "", self.lines + 1
        else:
            line, offset, byte = found
            where = f"byte 0x{byte:02X} at byte offset {offset} "
        return RecordFileError(
            f"{where}cannot be decoded as {self.encoding} ({exc.reason}); "
            "check the encoding the file was saved in and give it with --encoding "
            "(an operation file: encoding: in the source)",
            file=self.name,
            line=line,
        )


def first_undecodable(name: str, encoding: str) -> tuple[int, int, int] | None:
    """``(line, byte offset, byte)`` of the first byte of file ``name`` that ``encoding``
    cannot decode; None when all of it decodes, or for standard input (it cannot be read
    again)."""
    if name == "-":
        return None
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    line = 1
    with open(name, "rb") as fh:
        while block := fh.read(1 << 16):
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                # Byte by byte within the block that failed, from a fresh decoder state.
                decoder.reset()
                for i in range(len(block)):
                    try:
                        decoder.decode(block[i : i + 1])
                    except UnicodeDecodeError:
                        return line + block.count(b"\n", 0, i), offset + i, block[i]
                return None
            offset += len(block)
            line += block.count(b"\n")
    return None


@contextlib.contextmanager
def open_text(name: str, encoding: str = "utf-8") -> Iterator[TextInput]:
    """A text input as the readers read it, ``"-"`` for standard input: a UTF-8 byte order
    mark skipped (standard input too: Windows tools put one in front of a pipe), line ends
    kept as they are for the CSV reader, and bytes that are not UTF-8 kept findable.

    Raises:
        RecordFileError: An unknown encoding, or a UTF-16/UTF-32 file read as UTF-8.
    """

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise RecordFileError(f"unknown encoding {encoding!r}", file=name) from None
    if name == "-" and getattr(sys.stdin, "buffer", None) is None:
        yield TextInput(sys.stdin, name, encoding)  # standard input replaced by a text stream
        return
    utf8 = is_utf8(encoding)
    with contextlib.ExitStack() as stack:
        if utf8:
            buffer = stack.enter_context(open_utf8_bytes(name))
        else:
            buffer = sys.stdin.buffer if name == "-" else stack.enter_context(open(name, "rb"))
        wrapper = io.TextIOWrapper(
            buffer,
            encoding="utf-8-sig" if utf8 else encoding,
            errors="surrogateescape" if utf8 else "strict",
            newline="",
        )
        try:
            yield TextInput(wrapper, name, encoding)
        finally:
            if name == "-":
                wrapper.detach()  # standard input stays open for whoever reads it next
            else:
                wrapper.close()


@contextlib.contextmanager
def open_utf8_bytes(name: str) -> Iterator[IO[bytes]]:
    """A UTF-8 input as bytes, ``"-"`` for standard input, for readers whose parser checks
    the UTF-8 itself (a UTF-8 byte order mark is theirs to skip).

    Raises:
        RecordFileError: A UTF-16/UTF-32 file.
    """

    with contextlib.ExitStack() as stack:
        stream: IO[bytes] = (
            sys.stdin.buffer if name == "-" else stack.enter_context(open(name, "rb"))
        )
        peek = getattr(stream, "peek", None)
        head = peek(4)[:4] if peek is not None else b""
        wide = utf16_bom(head)
        if wide:
            raise RecordFileError(
                f"the file is {wide} (it starts with a {wide} byte order mark), not UTF-8; "
                "save it as UTF-8",
                file=name,
            )
        yield stream
