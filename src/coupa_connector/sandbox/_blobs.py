"""The sandbox's file contents: uploaded attachments and document scans.

Files live in a directory next to the database file (``sandbox.db.files/``), or in memory
when the database is. Seeded files are not stored at all: their key names a generator
(``gen:...``, see ``_samplefiles``) that makes the same bytes every time they are read.
Every stored file is written under a temporary name and renamed once complete, so a crash
leaves no half file that a later read could serve.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from coupa_connector.sandbox._samplefiles import generated

__all__ = ["CHUNK", "BlobStore", "BlobWriter"]

CHUNK = 256 * 1024


class BlobWriter:
    """One file being stored: counts its size and sha256 as bytes arrive."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.key = "up:" + secrets.token_hex(12)
        self.size = 0
        self._sha = hashlib.sha256()
        self._parts: list[bytes] | None = None
        self._file = None
        if store.directory is None:
            self._parts = []
        else:
            store.directory.mkdir(parents=True, exist_ok=True)
            self._temp = store.directory / f".{self.key[3:]}.part"
            self._file = self._temp.open("wb")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        self._sha.update(data)
        if self._parts is not None:
            self._parts.append(data)
        elif self._file is not None:
            self._file.write(data)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def commit(self) -> str:
        """Make the file readable under ``key``; returns the key."""
        if self._parts is not None:
            self._store._memory[self.key] = b"".join(self._parts)
            self._parts = None
        elif self._file is not None:
            self._file.close()
            os.replace(self._temp, self._store.path_of(self.key))
            self._file = None
        return self.key

    def discard(self) -> None:
        """Drop what was written (a refused upload)."""
        self._parts = None
        if self._file is not None:
            self._file.close()
            self._temp.unlink(missing_ok=True)
            self._file = None


class BlobStore:
    """File contents by key, on disk under ``directory`` or in memory (``None``)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, db: str | None) -> BlobStore:
        """The store for a sandbox database: ``<db>.files/`` for a file, memory otherwise."""
        return cls(Path(f"{db}.files") if db else None)

    def path_of(self, key: str) -> Path:
        assert self.directory is not None and key.startswith("up:")
        return self.directory / key[3:]

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def size(self, key: str) -> int:
        data = generated(key)
        if data is not None:
            return len(data)
        if self.directory is None:
            return len(self._memory[key])
        return self.path_of(key).stat().st_size

    def exists(self, key: str) -> bool:
        if generated(key) is not None:
            return True
        if self.directory is None:
            return key in self._memory
        return key.startswith("up:") and self.path_of(key).is_file()

    def chunks(self, key: str) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time."""
        data = generated(key)
        if data is None and self.directory is None:
            data = self._memory[key]
        if data is not None:
            for start in range(0, len(data), CHUNK):
                yield data[start : start + CHUNK]
            return
        with self.path_of(key).open("rb") as handle:
            while part := handle.read(CHUNK):
                yield part

    def delete(self, key: str) -> None:
        if key.startswith("up:"):
            if self.directory is None:
                self._memory.pop(key, None)
            else:
                self.path_of(key).unlink(missing_ok=True)
