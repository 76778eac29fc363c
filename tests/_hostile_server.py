"""A hostile HTTP server for the client's bounds: compression bombs, oversize and deeply nested
bodies, and a forward proxy that records what it was sent.

It is Python's own ``http.server`` on 127.0.0.1, nothing of ours, so the tests exercise our
HTTP layer against bytes it did not produce. The instance URL's first path segment picks the
answer: a connection to ``<url>/gzip-bomb`` gets the gzip bomb for every request.
"""

from __future__ import annotations

import functools
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GiB = 1 << 30
_MiB_OF_ZEROS = bytes(1 << 20)


def _raw_deflate_of_zeros(total: int) -> bytes:
    """Raw deflate of ``total`` zero bytes (a whole number of MiB), built in a blink.

    After a full flush the compressor keeps no history, so each further MiB of zeros
    compresses to the same bytes: one block is made, and repeated.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(_MiB_OF_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (total >> 20) + compressor.flush()  # the last, empty, final block


@functools.cache
def gzip_bomb(total: int = GiB) -> bytes:
    """A gzip body (about 1 MB for 1 GiB) that inflates to ``total`` zero bytes."""
    crc = 0
    for _ in range(total >> 20):
        crc = zlib.crc32(_MiB_OF_ZEROS, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + _raw_deflate_of_zeros(total) + struct.pack("<II", crc, total & 0xFFFFFFFF)


@functools.cache
def deflate_bomb(total: int = GiB) -> bytes:
    """A zlib-wrapped deflate body (HTTP's ``deflate``) that inflates to ``total`` zeros."""
    adler = 1
    for _ in range(total >> 20):
        adler = zlib.adler32(_MiB_OF_ZEROS, adler)
    return b"\x78\xda" + _raw_deflate_of_zeros(total) + struct.pack(">I", adler)


def deep_json(depth: int = 100_000) -> bytes:
    """A JSON page whose one record holds a value nested ``depth`` levels deep."""
    return b'[{"id": 1, "description": ' + b"[" * depth + b"]" * depth + b"}]"


def deep_xml(depth: int = 100_000) -> bytes:
    """An XML page whose one record holds an element nested ``depth`` levels deep."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><invoice-headers type="array"><invoice-header>'
        b'<id type="integer">1</id>'
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</invoice-header></invoice-headers>"
    )


@dataclass(frozen=True)
class Answer:
    """What the server sends for one route."""

    body: Callable[[], bytes]
    content_type: str = "application/json"
    encoding: str | None = None
    chunked: bool = False
    status: int = 200


ROUTES: dict[str, Answer] = {
    "ok": Answer(lambda: b"[]"),
    "gzip-bomb": Answer(gzip_bomb, encoding="gzip"),
    "deflate-bomb": Answer(deflate_bomb, encoding="deflate"),
    # 4 MiB of a JSON list, plain: with Content-Length, and chunked without one.
    "big": Answer(lambda: b"[" + b" " * (4 << 20) + b"]"),
    "big-chunked": Answer(lambda: b"[" + b" " * (4 << 20) + b"]", chunked=True),
    "big-error": Answer(lambda: b'{"errors": "' + b"x" * (4 << 20) + b'"}', status=500),
    "deep-json": Answer(deep_json),
    "deep-xml": Answer(deep_xml, content_type="application/xml"),
    "deep-json-error": Answer(lambda: deep_json(1000), status=400),
}


@dataclass
class HostileServer:
    """The running server: its base URL, requests counted by route, proxy requests seen."""

    url: str
    requests: Counter[str] = field(default_factory=Counter)
    proxied: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def route(self, name: str) -> str:
        return f"{self.url}/{name}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hostile: HostileServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean

    def do_GET(self) -> None:
        if self.path.startswith("http://"):
            # A forward proxy sees the absolute URL and the Proxy-Authorization header.
            self.hostile.proxied.append((self.path, dict(self.headers.items())))
            self._send(Answer(lambda: b"[]"))
            return
        name = self.path.lstrip("/").split("/", 1)[0]
        self.hostile.requests[name] += 1
        answer = ROUTES.get(name)
        if answer is None:
            self.send_error(404)
            return
        self._send(answer)

    do_POST = do_GET

    def _send(self, answer: Answer) -> None:
        body = answer.body()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.encoding:
            self.send_header("Content-Encoding", answer.encoding)
        try:
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 1 << 16):
                    piece = body[start : start + (1 << 16)]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client stopped reading: what we want


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-answer is the point, not a server error


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    """Serve the routes on a free 127.0.0.1 port for the length of the block."""
    hostile = HostileServer("")
    handler = type("Handler", (_Handler,), {"hostile": hostile})
    server = _Server(("127.0.0.1", 0), handler)
    hostile.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        server.shutdown()
        server.server_close()
