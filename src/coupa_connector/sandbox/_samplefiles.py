"""Small, valid sample files made by code: PDFs, PNGs and a receipts zip for seeded records.

A seeded file is named by a key (``gen:pdf:Invoice INV-1``, ``gen:png:7``,
``gen:zip:3``); the same key always gives the same bytes, so nothing is stored for them.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

__all__ = ["generated", "sample_pdf", "sample_png", "sample_zip"]

_ZIP_TIME = (2024, 1, 1, 0, 0, 0)  # fixed, so the same key gives the same bytes


def sample_pdf(title: str) -> bytes:
    """A one-page PDF 1.4 showing ``title`` (a valid file with a correct xref table)."""
    text = title.encode("latin-1", "replace").replace(b"\\", b"\\\\")
    text = text.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def sample_png(number: int, width: int = 64, height: int = 48) -> bytes:
    """An RGB PNG whose colour and stripes depend on ``number``."""
    red, green, blue = (number * 67) % 256, (number * 139) % 256, (number * 29) % 256
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            stripe = ((x + y + number) // 8) % 2
            rows += bytes((red ^ (stripe * 255), green, blue)) if stripe else bytes((255, 255, 255))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def sample_zip(report: int, receipts: int = 2) -> bytes:
    """A zip of ``receipts`` receipt images for an expense report."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(1, receipts + 1):
            info = zipfile.ZipInfo(f"receipt-{report}-{n}.png", date_time=_ZIP_TIME)
            archive.writestr(info, sample_png(report * 10 + n))
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)
def generated(key: str) -> bytes | None:
    """The bytes of a seeded file's key, or None when the key names a stored file."""
    if not key.startswith("gen:"):
        return None
    _, kind, arg = key.split(":", 2)
    if kind == "pdf":
        return sample_pdf(arg)
    if kind == "png":
        return sample_png(int(arg))
    if kind == "zip":
        return sample_zip(int(arg))
    raise KeyError(key)
