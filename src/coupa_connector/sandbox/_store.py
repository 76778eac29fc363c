"""SQLite storage of the sandbox: one generic table of JSON documents, a few indexed columns.

Every record of every resource is one row of ``records``: the resource name, its id, the
columns most queries filter or sort on (created-at, updated-at, status, exported) and the
record itself as a JSON document in Coupa's own spelling (hyphenated keys, decimals as
strings, datetimes as fixed-width UTC ISO 8601 strings so that text order is time order).
References are stored as ``{"id": N}`` and expanded when rendered, so a renamed supplier shows
its new name on every invoice; child lines are embedded in their parent's document.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import orjson

__all__ = ["Prerenderer", "Seeder", "Store", "format_instant"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    res TEXT NOT NULL,
    id INTEGER NOT NULL,
    created_at TEXT,
    updated_at TEXT,
    status TEXT,
    exported INTEGER,
    doc TEXT NOT NULL,
    skeleton BLOB,
    PRIMARY KEY (res, id)
);
CREATE TABLE IF NOT EXISTS seq (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Secondary indexes, each ending in id so that "ORDER BY <column>, id" pages walk the index
# instead of sorting. They are dropped while a seed loads (building them once at the end is
# several times cheaper than maintaining them row by row) and created again after; the
# drops of the unsuffixed names upgrade database files made before id was part of them.
_INDEXES = """
DROP INDEX IF EXISTS ix_records_updated;
DROP INDEX IF EXISTS ix_records_created;
DROP INDEX IF EXISTS ix_records_status;
DROP INDEX IF EXISTS ix_records_exported;
CREATE INDEX IF NOT EXISTS ix_records_updated_id ON records (res, updated_at, id);
CREATE INDEX IF NOT EXISTS ix_records_created_id ON records (res, created_at, id);
CREATE INDEX IF NOT EXISTS ix_records_status_id ON records (res, status, id);
CREATE INDEX IF NOT EXISTS ix_records_exported_id ON records (res, exported, id);
"""
_DROP_INDEXES = """
DROP INDEX IF EXISTS ix_records_updated;
DROP INDEX IF EXISTS ix_records_created;
DROP INDEX IF EXISTS ix_records_status;
DROP INDEX IF EXISTS ix_records_exported;
DROP INDEX IF EXISTS ix_records_updated_id;
DROP INDEX IF EXISTS ix_records_created_id;
DROP INDEX IF EXISTS ix_records_status_id;
DROP INDEX IF EXISTS ix_records_exported_id;
"""

# Seeds above this many invoices are kept in a temporary file rather than in memory (a
# record is held twice, as its document and its skeleton: 10,000 invoices are ~390 MB).
LARGE_SEED = 10_000

# Document keys mirrored into indexed columns, in column order.
INDEXED = {
    "created-at": "created_at",
    "updated-at": "updated_at",
    "status": "status",
    "exported": "exported",
}


_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=8192)
def _day(days: int) -> str:
    return (_EPOCH + dt.timedelta(days=days)).isoformat()


@functools.lru_cache(maxsize=86400)
def _time_of_day(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"


def format_instant(ts: float) -> str:
    """Coupa's datetime spelling for a POSIX timestamp, in UTC and fixed width."""
    # Seeding formats millions of stamps: two cached halves are several times strftime.
    days, seconds = divmod(int(ts), 86400)
    return _day(days) + _time_of_day(seconds)


def _row_values(res: str, doc: dict[str, Any], skeleton: bytes | None) -> tuple[Any, ...]:
    exported = doc.get("exported")
    return (
        res,
        doc["id"],
        doc.get("created-at"),
        doc.get("updated-at"),
        doc.get("status"),
        None if exported is None else int(bool(exported)),
        orjson.dumps(doc).decode(),
        skeleton,
    )


_INSERT = (
    "INSERT OR REPLACE INTO records "
    "(res, id, created_at, updated_at, status, exported, doc, skeleton) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


# Records written per statement by put_many.
_WRITE_CHUNK = 2_000


class Prerenderer(Protocol):
    """Makes the kept rendering (skeleton) of records as they are written
    (``sandbox._skeletons.Skeletons``); the store knows nothing of what is in one."""

    @property
    def owner(self) -> object:
        """What its skeletons depend on: equal owners make equal skeletons."""
        ...

    def __call__(self, res: str, docs: Sequence[dict[str, Any]]) -> list[bytes | None]: ...


# Fills an emptied store: (store, seed size or None for the default, random seed) -> record
# counts per resource. The seed package's ``seed_store`` is one; the store takes it as a
# parameter so that it never imports the seed, which imports the store's helpers.
Seeder = Callable[["Store", "int | None", int], dict[str, int]]

_SAFE_FIELD = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _value_index_name(field: str) -> str:
    return "ix_value_" + field.replace("-", "_")


def casefold(value: object) -> str | None:
    """SQL ``casefold(x)``: Python's full Unicode case folding ("Ärger" -> "ärger")."""
    if value is None:
        return None
    return value.casefold() if isinstance(value, str) else str(value).casefold()


class Store:
    """The sandbox's records, in SQLite.

    Args:
        path: A database file (survives restarts; an existing file with data is not
            reseeded) or None for private data: in memory, or in a temporary file deleted
            on close while the data (at start or after a ``reset``) is above ``LARGE_SEED``
            invoices.
        seed_size: Invoices to seed when the database is empty (None: the small default).
        seed: Random seed of the generator.
        seeder: What fills the store when it is empty and on ``reset``
            (``coupa_connector.sandbox.seed.seed_store``); None leaves it empty.
        prerender: Makes each written record's skeleton, kept with it (see
            ``use_prerenderer``); None keeps none until one is set.

    The store is shared by the server thread and admin calls; one lock serializes access,
    which is what a single SQLite connection needs anyway.
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        seed_size: int | None = None,
        seed: int = 42,
        seeder: Seeder | None = None,
        prerender: Prerenderer | None = None,
    ) -> None:
        self.path = path
        self._seeder = seeder
        self._prerender = prerender
        self._lock = threading.RLock()
        self._target = self._private_target(seed_size)
        self._conn = self._open(self._target)
        self._seq: dict[str, int] = {}
        # Field names with an index on their value, made on first use (see value_index).
        self._value_indexes: set[str] = set()
        # Bumped by every change, so caches of rendered records know when to let go.
        self.generation = 0
        self._load_counters()
        if self.is_empty() and seeder is not None:
            self.reset(seed_size=seed_size, seed=seed)

    # ------------------------------------------------------------------ lifecycle

    def _private_target(self, seed_size: int | None) -> str:
        """Where data of this size lives: the given file; without one, memory for small
        data and SQLite's private temporary file (deleted on close) for a large seed, so
        that memory stays flat whatever the size."""
        if self.path:
            return self.path
        return "" if (seed_size or 0) > LARGE_SEED else ":memory:"

    def _open(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        # Unicode-aware case folding for the text operators; SQLite's lower() knows ASCII only.
        conn.create_function("casefold", 1, casefold, deterministic=True)
        conn.execute("PRAGMA journal_mode=WAL" if self.path else "PRAGMA journal_mode=MEMORY")
        if target == "":
            conn.execute("PRAGMA cache_size=-131072")  # 128 MB of page cache
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
        if "skeleton" not in columns:  # a database file made before skeletons were kept
            conn.execute("ALTER TABLE records ADD COLUMN skeleton BLOB")
        # Skeletons hold marks numbered by this process (``_marks``): a file's are stale.
        conn.execute("UPDATE records SET skeleton = NULL WHERE skeleton IS NOT NULL")
        conn.executescript(_INDEXES)
        return conn

    @property
    def storage(self) -> str:
        """Where the data lives: ``file``, ``memory`` or ``temporary file``."""
        if self.path:
            return "file"
        return "memory" if self._target == ":memory:" else "temporary file"

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def is_empty(self) -> bool:
        """Whether the database holds no records at all."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def reset(self, seed_size: int | None = None, seed: int = 42) -> dict[str, int]:
        """Wipe every record and reseed deterministically.

        Args:
            seed_size: Number of invoices (None: the small default of a few hundred).
            seed: Random seed; the same seed and size give the same data.

        Returns:
            Record counts per resource.
        """
        with self._lock:
            self.generation += 1
            target = self._private_target(seed_size)
            if target != self._target:
                # Private data moves between memory and a temporary file with its size; the
                # old database goes away whole, which also hands its memory back.
                self._conn.close()
                self._conn = self._open(target)
                self._target = target
                self._value_indexes.clear()
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM seq")
            self._conn.execute("DELETE FROM meta")
            self._seq.clear()
            self._conn.executescript(_DROP_INDEXES)
            self._drop_value_indexes()
            # A seed is all-or-nothing and can be redone, so it skips waiting for the disk.
            self._conn.execute("PRAGMA synchronous=OFF")
            try:
                counts = {} if self._seeder is None else self._seeder(self, seed_size, seed)
            finally:
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(_INDEXES)
            # Statistics for the planner from a sample of each index, not a full scan.
            self._conn.execute("PRAGMA analysis_limit=1000")
            self._conn.execute("ANALYZE")
            return counts

    def _load_counters(self) -> None:
        with self._lock:
            self._seq = dict(self._conn.execute("SELECT name, value FROM seq").fetchall())

    # ------------------------------------------------------------------ ids and clock

    def next_id(self, name: str) -> int:
        """Allocate the next id of an object (resource or nested line object)."""
        with self._lock:
            value = self._seq.get(name, 0) + 1
            self._seq[name] = value
            self._conn.execute(
                "INSERT INTO seq (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
            return value

    def reserve_ids(self, name: str, count: int) -> int:
        """Reserve ``count`` consecutive ids; returns the first."""
        with self._lock:
            first = self._seq.get(name, 0) + 1
            self._seq[name] = first + count - 1
            self._conn.execute(
                "INSERT INTO seq (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, first + count - 1),
            )
            return first

    def write_time(self, after: str | None = None) -> str:
        """The time of a write: now, but strictly later than ``after``.

        Coupa's ``updated-at`` has one-second resolution; a record changed twice within one
        second still gets a later ``updated-at`` the second time (the previous one plus a
        second), so every change of a record moves it forward. Other records are not held
        back or pushed ahead: their stamps stay the wall-clock time.

        Args:
            after: The record's current ``updated-at``, if it has one.

        Returns:
            The timestamp in Coupa's spelling.
        """
        stamp = int(time.time())
        if after:
            try:
                previous = int(dt.datetime.fromisoformat(after).timestamp())
            except ValueError:
                previous = 0
            stamp = max(stamp, previous + 1)
        return format_instant(stamp)

    # ------------------------------------------------------------------ records

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all land or none does. Transactions nest: an inner one joins the
        outer one (a bulk create holds every record's own save)."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def value_index(self, field: str) -> None:
        """Index the records by ``(res, <field>'s value)``, once per field and database.

        Uniqueness checks and natural-key lookups filter on
        ``r0.res = ? AND json_extract(r0.doc, '$."<field>"') = ?``; without an index that
        reads every record of the resource, so creates slow down as a table grows. The
        index is made on first use (the seed need not maintain it) and dropped by a reset.
        """
        if field in self._value_indexes:
            return
        if not _SAFE_FIELD.fullmatch(field):
            raise ValueError(f"not a field name: {field!r}")
        name = _value_index_name(field)
        with self._lock:
            self._conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" '
                f"ON records (res, json_extract(doc, '$.\"{field}\"'))"
            )
            # Statistics for the new index too: without them the planner prefers walking the
            # (res, id) index for "ORDER BY id" over this one, reading every record of the
            # resource on each lookup (a 5,000-row file load went from 0.5 s to 25 s).
            self._conn.execute(f'ANALYZE "{name}"')
            self._value_indexes.add(field)

    def _drop_value_indexes(self) -> None:
        names = [
            row[0]
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_value_%'"
            )
        ]
        for name in names:
            self._conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        self._value_indexes.clear()

    def put(self, res: str, doc: dict[str, Any]) -> None:
        """Insert or replace one record (``doc["id"]`` must be set)."""
        self.put_many(res, (doc,))

    def put_many(self, res: str, docs: Iterable[dict[str, Any]]) -> int:
        """Insert or replace many records at once; returns how many."""
        listed = docs if isinstance(docs, (list, tuple)) else list(docs)
        prerender = self._prerender
        with self.transaction():
            self.generation += 1
            # A chunk at a time: a seed writes a hundred thousand invoices in one call, and
            # their JSON and skeletons need not all be in memory at once.
            for start in range(0, len(listed), _WRITE_CHUNK):
                chunk = listed[start : start + _WRITE_CHUNK]
                skeletons = [None] * len(chunk) if prerender is None else prerender(res, chunk)
                rows = [_row_values(res, d, k) for d, k in zip(chunk, skeletons, strict=True)]
                self._conn.executemany(_INSERT, rows)
        return len(listed)

    # ------------------------------------------------------------------ skeletons

    @property
    def skeleton_owner(self) -> object:
        """Whose skeletons the store keeps (its prerenderer's owner), None if nobody's."""
        return None if self._prerender is None else self._prerender.owner

    def use_prerenderer(self, prerender: Prerenderer) -> None:
        """Make and keep skeletons with ``prerender`` from now on. Skeletons made by another
        owner are let go (renderers make them again as they serve the records)."""
        with self._lock:
            if self._prerender is not None and self._prerender.owner == prerender.owner:
                return
            if self._prerender is not None:
                self._conn.execute("UPDATE records SET skeleton = NULL WHERE skeleton IS NOT NULL")
            self._prerender = prerender

    def keep_skeletons(
        self, res: str, skeletons: Sequence[tuple[int, bytes]], generation: int, owner: object
    ) -> None:
        """Keep skeletons a renderer made for records that had none, if they are still
        right: no write since ``generation`` (the documents they came from are the stored
        ones) and made by the owner of the store's prerenderer."""
        with self._lock:
            if generation != self.generation or owner is None or owner != self.skeleton_owner:
                return
            self._conn.executemany(
                "UPDATE records SET skeleton = ? WHERE res = ? AND id = ?",
                [(k, res, rid) for rid, k in skeletons],
            )

    def renderable(
        self, res: str, ids: Sequence[int], owner: object
    ) -> list[tuple[int, bytes | None, bytes | None]]:
        """Records by id as (id, skeleton, document) rows for a renderer of ``owner``, in
        the order asked (ids not found are left out): the skeleton where the store keeps
        one of that owner, otherwise the document."""
        kept = owner is not None and owner == self.skeleton_owner
        columns = (
            "id, skeleton, CASE WHEN skeleton IS NULL THEN CAST(doc AS BLOB) END"
            if kept
            else "id, NULL, CAST(doc AS BLOB)"
        )
        found = {int(r[0]): (int(r[0]), r[1], r[2]) for r in self._by_ids(columns, res, ids)}
        return [found[rid] for rid in ids if rid in found]

    def delete_where(self, res: str, where: str, params: Sequence[Any] = ()) -> int:
        """Delete the records of a resource matching an SQL condition over ``r0``."""
        sql = (
            "DELETE FROM records WHERE res = ? AND id IN "
            f"(SELECT r0.id FROM records AS r0 WHERE r0.res = ? AND ({where}))"
        )
        with self._lock:
            self.generation += 1
            return self._conn.execute(sql, (res, res, *params)).rowcount

    def get(self, res: str, rid: int) -> dict[str, Any] | None:
        """One record by id, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM records WHERE res = ? AND id = ?", (res, rid)
            ).fetchone()
        return None if row is None else _load(row[0])

    def get_many(self, res: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Records by id (missing ids are simply absent from the result)."""
        rows = self._by_ids("id, doc", res, sorted(set(ids)))
        return {rid: _load(doc) for rid, doc in rows}

    def _by_ids(self, columns: str, res: str, ids: Sequence[int]) -> list[Any]:
        """Rows of ``SELECT <columns>`` over the records of a resource with these ids, a few
        hundred ids a statement (SQLite caps the parameters of one)."""
        found: list[Any] = []
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found += self._conn.execute(
                    f"SELECT {columns} FROM records WHERE res = ? AND id IN ({marks})",
                    (res, *chunk),
                ).fetchall()
        return found

    def _run_select(
        self,
        columns: str,
        res: str,
        where: str,
        params: Sequence[Any],
        order: str,
        limit: int | None,
        offset: int,
    ) -> list[Any]:
        """Rows of ``SELECT <columns>`` over one resource's records (the row is ``r0``)."""
        sql = f"SELECT {columns} FROM records AS r0 WHERE r0.res = ?"
        sql += f" AND ({where}) ORDER BY {order}" if where else f" ORDER BY {order}"
        args: list[Any] = [res, *params]
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def select(
        self,
        res: str,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "r0.id ASC",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Records of a resource matching an SQL condition over the ``records`` row.

        Args:
            res: Resource name.
            where: An SQL boolean expression over the row ``r0`` (its columns,
                ``json_extract(r0.doc, ...)``).
            params: Its parameters.
            order: ORDER BY clause.
            limit: At most this many rows (None: all).
            offset: Rows to skip.

        Returns:
            The documents, in order.
        """
        rows = self._run_select("r0.doc", res, where, params, order, limit, offset)
        return [_load(r[0]) for r in rows]

    def select_rows(
        self,
        res: str,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "r0.id ASC",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[int, bytes]]:
        """Like ``select``, but (id, JSON bytes) pairs: callers that cache renderings by id
        parse only the documents they have not rendered yet. Bytes, not text: the JSON
        parser reads them as they are, with no decoding to a str first."""
        rows = self._run_select(
            "r0.id, CAST(r0.doc AS BLOB)", res, where, params, order, limit, offset
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def select_page_ids(
        self,
        res: str,
        where: str,
        params: Sequence[Any],
        order: str,
        limit: int | None,
        offset: int,
    ) -> list[int]:
        """Ids of the records a query's page holds, in its order (``select``'s arguments):
        reading no record where the condition and order need none of their columns."""
        rows = self._run_select("r0.id", res, where, params, order, limit, offset)
        return [int(r[0]) for r in rows]

    def select_ids(self, res: str, where: str = "", params: Sequence[Any] = ()) -> list[int]:
        """Ids of the records matching an SQL condition, ascending."""
        # "+r0.id": the order may not come from walking the (res, id) index, so a condition
        # on an indexed value (uniqueness checks, natural-key lookups) uses its index and
        # sorts the few ids it finds, instead of reading every record of the resource.
        order = "+r0.id" if where else "r0.id"
        rows = self._run_select("r0.id", res, where, params, order, None, 0)
        return [int(r[0]) for r in rows]

    def count(self, res: str | None = None) -> int:
        """Number of records of one resource, or of all."""
        with self._lock:
            if res is None:
                return int(self._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
            return int(
                self._conn.execute("SELECT COUNT(*) FROM records WHERE res = ?", (res,)).fetchone()[
                    0
                ]
            )

    def counts(self) -> dict[str, int]:
        """Record counts per resource."""
        with self._lock:
            rows = self._conn.execute("SELECT res, COUNT(*) FROM records GROUP BY res").fetchall()
        return {r: int(n) for r, n in rows}


def _load(doc: str) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(doc)
    return value
