"""SQL endpoints through SQLAlchemy: read with a query, write with insert or upsert.

The default database is SQLite; any SQLAlchemy URL works (PostgreSQL, SQL Server, ...). A
target table that does not exist is created, from the declared ``columns`` or from the first
record's columns (nested records become dotted column names, as in CSV). Upsert is an update
by key, then an insert when no row matched: portable, and correct on tables that have no
unique index on the key. On PostgreSQL and SQLite, a table whose primary key or a unique
constraint is exactly the key gets ``INSERT ... ON CONFLICT (key) DO UPDATE`` instead: one
statement, with no window between the update and the insert for another writer to use.

Each batch is one transaction that also notes the keys of the records it wrote in a small
``coupa_connector_written`` table, so after a kill the runner can tell exactly which records
the database already holds, and a resumed run does not insert them again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from coupa_connector._records import ERRORS_KEY
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._deletes import DELETED, DETECTED_AT
from coupa_connector.operations._functions import TransformValueError, parse_when
from coupa_connector.operations._transform import Item, Transformed
from coupa_connector.operations.endpoints.base import (
    EndpointType,
    Outcome,
    SourceBase,
    TargetBase,
)
from coupa_connector.operations.opfile._yaml import LMap
from coupa_connector.operations.opfile.model import EndpointSpec
from coupa_connector.operations.opfile.problems import refuse_url_secrets, url_secrets

if TYPE_CHECKING:
    from coupa_connector.operations._transform import TransformSpec
    from coupa_connector.operations.opfile.problems import Checker

__all__ = [
    "COLUMN_TYPES",
    "DEFAULT_SQL_URL",
    "ENDPOINTS",
    "SqlSource",
    "SqlTarget",
    "engine_for",
    "sql_identity",
]

DEFAULT_SQL_URL = "sqlite:///coupa-connector.sqlite"
MARKER_TABLE = "coupa_connector_written"

# Column types a target may declare (``columns: {name: type}``).
COLUMN_TYPES: dict[str, Any] = {
    "text": sa.Text,
    "string": sa.Text,
    "integer": sa.Integer,
    "bigint": sa.BigInteger,
    "decimal": sa.Numeric,
    "numeric": sa.Numeric,
    "float": sa.Float,
    "boolean": sa.Boolean,
    "date": sa.Date,
    "datetime": sa.DateTime,
}


def engine_for(url: str | None, base_dir: Path | None = None) -> Engine:
    """An engine for a SQLAlchemy URL; a relative SQLite path stays relative to the cwd.

    Raises:
        ConfigurationError: The URL is not one SQLAlchemy understands.
    """
    text = url or DEFAULT_SQL_URL
    try:
        parsed = sa.engine.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"bad SQL url {text!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if str(folder) not in ("", "."):
            folder.mkdir(parents=True, exist_ok=True)
    try:
        return sa.create_engine(parsed)
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigurationError(
            f"cannot open SQL url {parsed.render_as_string(hide_password=True)!r}: {exc}"
        ) from None


def sql_identity(options: Mapping[str, Any]) -> str:
    """The database (password hidden, a relative SQLite file made absolute) and the table
    or query an SQL endpoint works on."""
    text = str(options.get("url") or DEFAULT_SQL_URL)
    try:
        url = sa.engine.make_url(text)
    except sa.exc.ArgumentError:
        return f"sql:{text}"
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database).resolve()))
    what = f"table={options['table']}" if options.get("table") else f"query={options.get('query')}"
    return f"sql:{url.render_as_string(hide_password=True)} {what}"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value


class SqlSource(SourceBase):
    """Rows of a SQL query, streamed."""

    def __init__(self, spec: EndpointSpec, base_dir: Path) -> None:
        self.url = str(spec.options.get("url") or DEFAULT_SQL_URL)
        self.query = str(spec.options["query"])
        params = spec.options.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigurationError("sql source: params must be a mapping of name: value")
        self.params = dict(params)
        self._base_dir = base_dir

    def describe(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def items(self, done: set[str]) -> Iterator[Item]:
        engine = engine_for(self.url, self._base_dir)
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=500).execute(
                    sa.text(self.query), self.params
                )
                for position, row in enumerate(result):
                    if str(position) in done:
                        continue
                    record = {k: _plain(v) for k, v in row._mapping.items()}
                    record.pop(ERRORS_KEY, None)
                    yield Item(position, record, str(position), problem=_non_finite(record))
        except SQLAlchemyError as exc:
            raise ConfigurationError(f"sql source query failed: {_db_message(exc)}") from None
        finally:
            engine.dispose()


def _non_finite(record: dict[str, Any]) -> str | None:
    """Name the columns holding NaN or an infinity, turning them into text in ``record``.

    No target takes them faithfully: JSON writes them as null and Coupa refuses them, so
    the record is rejected; as text they survive into the rejects file and the log.
    """
    bad: list[str] = []
    for name, value in record.items():
        if isinstance(value, float) and not math.isfinite(value):
            record[name] = (
                "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            )
            bad.append(f"{name} is {record[name]}")
    if not bad:
        return None
    return f"{', '.join(bad)}: not a finite number, which JSON and Coupa cannot hold"


def _db_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).split("\n", 1)[0]


@contextmanager
def _refused(what: str) -> Iterator[None]:
    """A database error outside one row's write ends the run, with the database's reason."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise ConfigurationError(f"{what}: {_db_message(exc)}") from None


class SqlTarget(TargetBase):
    """Insert or upsert records into a table, one transaction per batch."""

    def __init__(self, spec: EndpointSpec, base_dir: Path, run_token: str) -> None:
        o = spec.options
        self.url = str(o.get("url") or DEFAULT_SQL_URL)
        self.table_name = str(o["table"])
        self.mode = str(o.get("mode", "insert"))
        key = o.get("key")
        self.key: tuple[str, ...] = (key,) if isinstance(key, str) else tuple(key or ())
        self._declared = o.get("columns")
        # Tombstones (``detect_deletes``): delete the row, or set ``deleted_column`` to when
        # the deletion was found.
        self.deletes = str(o.get("deletes", "delete"))
        self.deleted_column = str(o.get("deleted_column", "deleted_at"))
        self._base_dir = base_dir
        self.run_token = run_token
        self._engine: Engine | None = None
        self._table: sa.Table | None = None
        self._marker: sa.Table | None = None
        self._on_conflict = False

    def describe(self) -> str:
        return (
            f"{sa.engine.make_url(self.url).render_as_string(hide_password=True)}#{self.table_name}"
        )

    def _key_is_unique(self) -> bool:
        """Whether the table's primary key or one of its unique constraints is the key."""
        assert self._engine is not None and self._table is not None
        if not self.key or self._engine.dialect.name not in _ON_CONFLICT_DIALECTS:
            return False
        wanted = set(self.key)
        if {c.name for c in self._table.primary_key.columns} == wanted:
            return True
        inspector = sa.inspect(self._engine)
        uniques = [
            set(u["column_names"]) for u in inspector.get_unique_constraints(self.table_name)
        ]
        uniques += [
            {c for c in i["column_names"] if c is not None}
            for i in inspector.get_indexes(self.table_name)
            if i.get("unique") and None not in i["column_names"]
        ]
        return wanted in uniques

    def open(self, resume: Mapping[str, Any] | None) -> None:
        self._engine = engine_for(self.url, self._base_dir)
        with _refused(f"cannot open sql target {self.describe()}"):
            self._open()

    def _open(self) -> None:
        assert self._engine is not None
        meta = sa.MetaData()
        self._marker = sa.Table(
            MARKER_TABLE,
            meta,
            sa.Column("run", sa.String(200), primary_key=True),
            sa.Column("key", sa.String(200), primary_key=True),
        )
        meta.create_all(self._engine, tables=[self._marker])
        inspector = sa.inspect(self._engine)
        if inspector.has_table(self.table_name):
            self._table = sa.Table(self.table_name, sa.MetaData(), autoload_with=self._engine)
        elif self._declared:
            self._create(self._declared_columns())
        if self._table is not None:
            self._on_conflict = self._key_is_unique()

    def _declared_columns(self) -> list[sa.Column[Any]]:
        declared = self._declared
        cols: list[sa.Column[Any]] = []
        if isinstance(declared, Mapping):
            for name, kind in declared.items():
                type_ = COLUMN_TYPES.get(str(kind).lower())
                if type_ is None:
                    raise ConfigurationError(
                        f"sql target {self.table_name}: column {name} has unknown type {kind!r}; "
                        f"use one of {', '.join(sorted(COLUMN_TYPES))}"
                    )
                cols.append(sa.Column(str(name), type_(), primary_key=str(name) in self.key))
        elif isinstance(declared, list):
            cols = [sa.Column(str(n), sa.Text(), primary_key=str(n) in self.key) for n in declared]
        else:
            raise ConfigurationError(
                f"sql target {self.table_name}: columns must be a list or mapping"
            )
        return cols

    def _create(self, columns: list[sa.Column[Any]]) -> None:
        assert self._engine is not None
        if self.key:
            names = {c.name for c in columns}
            missing = [k for k in self.key if k not in names]
            if missing:
                raise ConfigurationError(
                    f"sql target {self.table_name}: key column(s) {', '.join(missing)} are not "
                    "among the columns"
                )
        table = sa.Table(self.table_name, sa.MetaData(), *columns)
        table.create(self._engine)
        self._table = table
        self._on_conflict = self._key_is_unique()

    def _columns_from(self, row: Mapping[str, Any]) -> list[sa.Column[Any]]:
        cols: list[sa.Column[Any]] = []
        for name, value in row.items():
            if isinstance(value, bool):
                type_: Any = sa.Boolean
            elif isinstance(value, int):
                type_ = sa.BigInteger
            elif isinstance(value, float):
                type_ = sa.Float
            else:
                type_ = sa.Text
            cols.append(sa.Column(name, type_(), primary_key=name in self.key))
        return cols

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        assert self._engine is not None
        rows = [_row(t.record or {}) for t in batch]
        keys = [t.items[0].key for t in batch]
        first = next((row for row in rows if not _is_tombstone(row)), None)
        if self._table is None and first is None:
            # Only tombstones, and no table yet: there is no row to delete.
            return [Outcome("written", coupa_id=_coupa_id(t)) for t in batch]
        if self._table is None and first is not None:
            with _refused(f"cannot create table {self.describe()}"):
                self._create(self._columns_from(first))
        out: list[Outcome | None] = [None] * len(rows)
        good: list[int] = []
        assert self._table is not None
        names = set(self._table.c.keys())
        typed = {
            c.name: c.type
            for c in self._table.c
            if isinstance(c.type, sa.Date | sa.DateTime | sa.Boolean | sa.Numeric)
        }
        for i, row in enumerate(rows):
            if _is_tombstone(row):
                problem = self._tombstone_problem(row, names)
                if problem:
                    out[i] = Outcome("rejected", [problem])
                else:
                    good.append(i)
                continue
            extra = sorted(set(row) - names)
            missing_key = [k for k in self.key if row.get(k) in (None, "")]
            if extra:
                out[i] = Outcome(
                    "rejected",
                    [
                        f"table {self.table_name} has no column(s) {', '.join(extra)}; declare "
                        "columns: or map the record to the table's columns"
                    ],
                )
            elif missing_key:
                out[i] = Outcome("rejected", [f"{k}: the key column is empty" for k in missing_key])
            elif problems := _to_column_types(row, typed):
                out[i] = Outcome("rejected", problems)
            else:
                good.append(i)
        try:
            with self._engine.begin() as conn:
                for i in good:
                    self._put(conn, rows[i], keys[i])
            for i in good:
                out[i] = Outcome("written", coupa_id=_coupa_id(batch[i]))
        except SQLAlchemyError:
            # One bad row fails the transaction: write row by row to find it, so the good
            # rows still land and only the bad one fails, with the database's reason.
            for i in good:
                try:
                    with self._engine.begin() as conn:
                        self._put(conn, rows[i], keys[i])
                    out[i] = Outcome("written", coupa_id=_coupa_id(batch[i]))
                except SQLAlchemyError as exc:
                    out[i] = Outcome("failed", [f"database refused the row: {_db_message(exc)}"])
        return [o if o is not None else Outcome("failed", ["not written"]) for o in out]

    def _tombstone_problem(self, row: Mapping[str, Any], names: set[str]) -> str | None:
        match = _tombstone_match(row)
        missing = sorted(set(match) - names)
        if not match or missing:
            return (
                f"table {self.table_name} has no column(s) {', '.join(missing or ['id'])} to "
                "find the deleted record's row by; map a column from id (coupa_id: id)"
            )
        if self.deletes == "flag" and self.deleted_column not in names:
            return (
                f"table {self.table_name} has no column {self.deleted_column!r} to flag the "
                "deleted row in; add it, name another with deleted_column:, or use "
                "deletes: delete"
            )
        return None

    def _put(self, conn: Connection, row: Mapping[str, Any], key: str) -> None:
        assert self._table is not None and self._marker is not None
        table = self._table
        if _is_tombstone(row):
            where = sa.and_(*(table.c[k] == v for k, v in _tombstone_match(row).items()))
            if self.deletes == "flag":
                column = table.c[self.deleted_column]
                stamp: Any = row.get(DETECTED_AT)
                if isinstance(column.type, sa.DateTime) and isinstance(stamp, str):
                    stamp = dt.datetime.fromisoformat(stamp)
                conn.execute(sa.update(table).where(where).values({column.name: stamp}))
            else:
                conn.execute(sa.delete(table).where(where))
        elif self.mode == "upsert" and self._on_conflict:
            insert = _dialect_insert(conn.dialect.name)
            statement = insert(table).values(**row)
            changes = {k: statement.excluded[k] for k in row if k not in self.key}
            if changes:
                conn.execute(statement.on_conflict_do_update(index_elements=self.key, set_=changes))
            else:
                conn.execute(statement.on_conflict_do_nothing(index_elements=self.key))
        elif self.mode == "upsert":
            where = sa.and_(*(table.c[k] == row[k] for k in self.key))
            updated = conn.execute(sa.update(table).where(where).values(**row))
            if updated.rowcount == 0:
                conn.execute(sa.insert(table).values(**row))
        else:
            conn.execute(sa.insert(table).values(**row))
        conn.execute(sa.insert(self._marker).values(run=self.run_token, key=key))

    def checkpoint(self) -> dict[str, Any]:
        return {"table": self.table_name}

    def recover(self, done: set[str]) -> dict[str, int | None]:
        assert self._engine is not None and self._marker is not None
        with (
            _refused(f"cannot read {MARKER_TABLE} in {self.describe()}"),
            self._engine.connect() as conn,
        ):
            rows = conn.execute(
                sa.select(self._marker.c.key).where(self._marker.c.run == self.run_token)
            )
            return {r[0]: None for r in rows if r[0] not in done}

    def commit(self) -> list[str]:
        assert self._engine is not None and self._marker is not None
        # The markers are only needed while a resume is possible.
        with (
            _refused(f"cannot finish sql target {self.describe()}"),
            self._engine.begin() as conn,
        ):
            conn.execute(sa.delete(self._marker).where(self._marker.c.run == self.run_token))
        self._engine.dispose()
        return [self.describe()]

    def abort(self, keep_for_resume: bool) -> None:
        if self._engine is not None:
            self._engine.dispose()


_ON_CONFLICT_DIALECTS = ("postgresql", "sqlite")


def _dialect_insert(dialect: str) -> Any:
    """The dialect's ``insert``, which has ``on_conflict_do_update``."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _to_boolean(row: dict[str, Any], name: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    word = str(value).strip().lower()
    if word == "":
        row[name] = None
    elif word in _TRUE or word in _FALSE:
        row[name] = word in _TRUE
    else:
        return f"{name}: {value!r} is not a boolean (true or false) (column {name} is a boolean)"
    return None


def _to_numeric(row: dict[str, Any], name: str, value: Any) -> str | None:
    if isinstance(value, int | float | Decimal) or not isinstance(value, str):
        return None
    text = value.strip()
    if text == "":
        row[name] = None
        return None
    try:
        number = Decimal(text)
    except ArithmeticError:
        return f"{name}: {value!r} is not a number (column {name} is numeric)"
    if not number.is_finite():
        return f"{name}: {value!r} is not a finite number (column {name} is numeric)"
    row[name] = number
    return None


def _to_column_types(row: dict[str, Any], columns: Mapping[str, Any]) -> list[str]:
    """Turn text into the values of typed columns: booleans (``true``/``false``, ``1``/``0``,
    ``yes``/``no``; empty is null) and numbers, then dates and datetimes (``_to_temporal``).

    CSV and JSON carry these as text, and drivers such as psycopg take only the Python
    types there (SQLite would store the text as it came). Returns one message per value
    that is not what its column holds.
    """
    problems: list[str] = []
    temporal: dict[str, Any] = {}
    for name, kind in columns.items():
        value = row.get(name)
        if value is None:
            continue
        if isinstance(kind, sa.Boolean):
            problem = _to_boolean(row, name, value)
        elif isinstance(kind, sa.Numeric):
            problem = _to_numeric(row, name, value)
        else:
            temporal[name] = kind
            problem = None
        if problem:
            problems.append(problem)
    return problems + _to_temporal(row, temporal)


def _to_temporal(row: dict[str, Any], columns: Mapping[str, Any]) -> list[str]:
    """Turn ISO 8601 text into the dates and datetimes of ``date``/``datetime`` columns.

    Database drivers take only date and datetime objects there. A datetime with an offset
    goes into a column without time zones as UTC, so the moment it names is kept. Returns
    one message per value that is not a date or datetime.
    """
    problems: list[str] = []
    for name, kind in columns.items():
        value = row.get(name)
        if value is None or isinstance(value, dt.date):
            continue
        wants_datetime = isinstance(kind, sa.DateTime)
        what = "datetime" if wants_datetime else "date"
        try:
            if not isinstance(value, str):
                raise TransformValueError(f"{value!r} is not an ISO 8601 {what}")
            when = parse_when(value)
        except TransformValueError as exc:
            problems.append(f"{name}: {exc} (column {name} is a {what})")
            continue
        if not wants_datetime:
            row[name] = when.date() if isinstance(when, dt.datetime) else when
            continue
        if not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time())
        if when.tzinfo is not None and not kind.timezone:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        row[name] = when
    return problems


def _is_tombstone(row: Mapping[str, Any]) -> bool:
    return row.get(DELETED) is True


def _tombstone_match(row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns that find a tombstone's row: all it has but the tombstone's own."""
    return {k: v for k, v in row.items() if k not in (DELETED, DETECTED_AT)}


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    from coupa_connector._records import flatten

    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict | list):
            for sub, text in flatten({key: value}).items():
                flat[sub] = text
        else:
            flat[key] = _plain(value)
    return flat


def _coupa_id(t: Transformed) -> int | None:
    value = t.items[0].record.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def sql_columns(options: Mapping[str, Any]) -> list[str] | None:
    """The column names a SQL target declares (``columns:``), or None when it declares none."""
    declared = options.get("columns")
    if isinstance(declared, Mapping | list) and declared:
        return [str(name) for name in declared]
    return None


def _check_sql_columns(check: Checker, where: str, o: Mapping[str, Any], node: LMap) -> None:
    """Declared columns as the table will be created from them: known types, the key in."""
    declared = o.get("columns")
    if declared is None:
        return
    line = node.line_of("columns")
    if not isinstance(declared, Mapping | list):
        check.problem(line, f"{where}: columns must be a list of names or a mapping of name: type")
        return
    if isinstance(declared, LMap):
        for name, kind in declared.items():
            if str(kind).lower() not in COLUMN_TYPES:
                check.problem(
                    declared.line_of(name),
                    f"{where}: column {name} has unknown type {kind!r}; "
                    f"use one of {', '.join(sorted(COLUMN_TYPES))}",
                )
    names = sql_columns(o) or []
    key = o.get("key")
    keys = [key] if isinstance(key, str) else key if isinstance(key, list) else []
    missing = [str(k) for k in keys if str(k) not in names]
    if missing:
        check.problem(
            node.line_of("key"),
            f"{where}: key column(s) {', '.join(missing)} are not among the declared columns",
        )


def _check_target_columns(
    check: Checker, op: str, columns: list[str], spec: TransformSpec, node: LMap
) -> None:
    """Every mapped field must be a declared column of the SQL target (nested fields are
    dotted columns); otherwise each record would be rejected at run time."""
    mapping_node = node.get("mapping")
    for key, _expr in spec.mapping:
        # A mapped nested record becomes its dotted columns (supplier -> supplier.name).
        if not any(c == key or c.startswith((f"{key}.", f"{key}[")) for c in columns):
            check.problem(
                mapping_node.line_of(key) if isinstance(mapping_node, LMap) else node.line,
                f"{op}: transform.mapping.{key}: the sql target declares no column {key!r}; "
                f"columns: {', '.join(columns)}",
            )


def _check(check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    if role != "target":
        return
    o = spec.options
    mode = o.get("mode", "insert")
    if mode not in ("insert", "upsert"):
        check.problem(node.line_of("mode"), f"{where}: mode must be insert or upsert")
    if mode == "upsert" and not o.get("key"):
        check.problem(
            node.line_of("mode"),
            f"{where}: upsert needs key: (the column or columns that identify a row)",
        )
    _check_sql_columns(check, where, o, node)
    if o.get("deletes", "delete") not in ("delete", "flag"):
        check.problem(node.line_of("deletes"), f"{where}: deletes must be delete or flag")
    column = o.get("deleted_column")
    if column is not None and (not isinstance(column, str) or not column):
        check.problem(node.line_of("deleted_column"), f"{where}: deleted_column must be a name")


def _check_raw(check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    """A database URL names its password only as ``${VARIABLE}``, set outside the file."""
    if isinstance(node.get("url"), str):
        refuse_url_secrets(check, where, node["url"], node.line_of("url"))


def _check_mapping(
    check: Checker, op: str, spec: EndpointSpec, transform: TransformSpec, node: LMap
) -> None:
    columns = sql_columns(spec.options)
    if columns is not None:
        _check_target_columns(check, op, columns, transform, node)


def _secrets(spec: EndpointSpec) -> list[str]:
    # Database passwords come into SQL urls from ${VARIABLE}s: mask them too.
    return [value for _what, value in url_secrets(str(spec.options.get("url") or "")) if value]


ENDPOINTS = {
    "sql": EndpointType(
        "sql",
        ("source", "target"),
        {"source": ("query",), "target": ("table",)},
        frozenset(
            {
                "url",
                "query",
                "table",
                "mode",
                "key",
                "columns",
                "params",
                "deletes",
                "deleted_column",
            }
        ),
        source=lambda spec, ctx: SqlSource(spec, ctx.base_dir),
        target=lambda spec, ctx: SqlTarget(spec, ctx.base_dir, ctx.run_token),
        check=_check,
        check_raw=_check_raw,
        check_mapping=_check_mapping,
        identity=lambda spec, role, base_dir: sql_identity(spec.options),
        secrets=_secrets,
    ),
}
