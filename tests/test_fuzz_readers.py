"""Fuzzed input through the readers the CLI uses: CSV, JSONL, JSON, XML, operation files and
``--where``. Whatever the bytes, the only outcomes are records, rejected records and the
project's own clear errors; every record read is accounted for, and memory stays bounded.

Each test is bounded (``max_examples``), so the module takes about half a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _hostile_support import OFFLINE_ENV, coupa
from coupa_connector import AsyncConnection
from coupa_connector.activities.query import build_query
from coupa_connector.activities.write._pipeline import UnreadableRecord
from coupa_connector.activities.write._results import WriteOutcome, WriteSummary
from coupa_connector.activities.write.create import create
from coupa_connector.catalog import load_catalog
from coupa_connector.cli._write_cmds import read_input
from coupa_connector.client import ConnectionConfig, SecretStr
from coupa_connector.errors import CoupaError
from coupa_connector.operations import OperationFileError, load_operation_file
from coupa_connector.operations.endpoints.file import FileSource
from coupa_connector.operations.opfile.model import EndpointSpec

MEMORY_LIMIT = 64 * 1024 * 1024  # inputs are a few kilobytes: far more means unbounded
FUZZ = settings(
    max_examples=120,
    deadline=None,  # a loaded machine must not fail an example for being slow
    database=None,  # nothing written into the repository
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the folder is shared by design
    ],
)

# --------------------------------------------------------------------------- strategies

# Bytes that have broken readers: not UTF-8, NUL, byte order marks, a cut multibyte
# character, an encoded surrogate, quotes and line ends.
_HOSTILE_BYTES = [
    b"\xff", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80",
    b'"', b"\r", b"\n", b"\r\n", b",", b"[", b"{", b"<", b"&", b"]]>",
]  # fmt: skip
_insertion = st.tuples(
    st.integers(min_value=0, max_value=1 << 16),
    st.sampled_from(_HOSTILE_BYTES) | st.binary(min_size=1, max_size=3),
)


def _insert(data: bytes, insertions: list[tuple[int, bytes]]) -> bytes:
    for at, piece in insertions:
        at %= len(data) + 1
        data = data[:at] + piece + data[at:]
    return data


def mutated(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """``base`` as it is, or with a few hostile byte strings put in."""
    return st.builds(_insert, base, st.lists(_insertion, max_size=4))


def nested(depth: int, opening: str, closing: str) -> str:
    return opening * depth + closing * depth


_text = st.text(max_size=12)
# Nesting depths: around the bound, past the interpreter's recursion limit, and far past it.
# (Sampled, not a union: hypothesis draws the first branch of a union far more often.)
_depths = st.sampled_from([99, 100, 101, 1_500, 100_000, None]).flatmap(
    lambda depth: st.integers(0, 300) if depth is None else st.just(depth)
)
_columns = st.sampled_from(
    [
        "name", "number", "display-name", "supplier.name", "supplier.number",
        "invoice-lines[0].price", "invoice-lines[1].description", "custom-fields.cf-1",
        "a.b[2].c", "", " name ", "x]", "[0]", "a..b", "payment-term.code",
    ]
) | _text  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(_columns, min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(_text, max_size=8), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    if draw(st.booleans()):
        out.write(".".join(["a"] * draw(_depths)) + ",x\n")
    return out.getvalue().encode()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_deep_json = st.builds(
    lambda depth, lists: nested(depth, "[", "]") if lists else '{"a":' * depth + "1" + "}" * depth,
    _depths,
    st.booleans(),
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    lines = draw(
        st.lists(
            st.dictionaries(_columns, _json_values, max_size=4).map(json.dumps)
            | _json_values.map(json.dumps)
            | _deep_json
            | _text,
            max_size=8,
        )
    )
    return "\n".join(lines).encode()


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["array", "object", "deep", "other"]))
    if shape == "array":
        value: Any = draw(st.lists(st.dictionaries(_columns, _json_values, max_size=4)))
        return json.dumps(value, indent=draw(st.sampled_from([None, 1]))).encode()
    if shape == "object":
        return json.dumps(draw(st.dictionaries(_columns, _json_values, max_size=4))).encode()
    if shape == "deep":
        return ("[" + draw(_deep_json) + "]").encode()
    return json.dumps(draw(_json_values)).encode()


_tags = st.sampled_from(
    ["suppliers", "supplier", "name", "number", "invoice-lines", "invoice-line", "a",
     "xi:include", "id"]
)  # fmt: skip
_attrs = st.sampled_from(
    ["", ' type="array"', ' type="integer"', ' nil="true"', ' type="boolean"',
     ' xmlns:xi="http://www.w3.org/2001/XInclude"']
)  # fmt: skip
_xml_elements: st.SearchStrategy[str] = st.recursive(
    st.builds(
        lambda tag, attrs, text: f"<{tag}{attrs}>{text}</{tag}>",
        _tags,
        _attrs,
        _text.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
    ),
    lambda inner: st.builds(
        lambda tag, attrs, children: f"<{tag}{attrs}>{''.join(children)}</{tag}>",
        _tags,
        _attrs,
        st.lists(inner, max_size=4),
    ),
    max_leaves=15,
)
_xml_prologues = st.sampled_from(
    [
        "", '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="ISO-8859-1"?>', '<!DOCTYPE s SYSTEM "x.dtd">',
        '<!DOCTYPE s [<!ENTITY e "v">]>', "<!DOCTYPE s>", "<?xml-stylesheet href='x.xsl'?>",
    ]
)  # fmt: skip


@st.composite
def xml_files(draw: st.DrawFn) -> bytes:
    prologue = draw(_xml_prologues)
    if draw(st.integers(0, 3)) == 0:
        depth = draw(_depths)
        body = f"<suppliers><supplier>{nested(depth, '<a>', '')}{nested(depth, '', '</a>')}"
        body += "</supplier></suppliers>"
    else:
        body = draw(_xml_elements)
        if draw(st.booleans()):
            body = f"<suppliers>{body}</suppliers>"
    return (prologue + body).encode()


_yaml_snippets = st.sampled_from(
    [
        "x: &a [1, 2, 3]", "y: *a", "z: {<<: *a}", "t: !!python/object:os.system {}",
        "u: !custom v", "v: !!set {a, b}", "w: &b {k: *a}", "deep: " + nested(80, "[", "]"),
        "q: !!binary aGk=", "r: &r [*r]", "s: ${missing}", "- item", "  indented: 1",
    ]
)  # fmt: skip
_operations = st.fixed_dictionaries(
    {
        "operations": st.dictionaries(
            st.sampled_from(["copy", "load", "x"]),
            st.fixed_dictionaries(
                {
                    "source": st.fixed_dictionaries(
                        {"type": st.sampled_from(["file", "sql", "ftp"]), "path": _text}
                    ),
                    "target": st.fixed_dictionaries(
                        {"type": st.sampled_from(["file", "coupa.create"]), "object": _tags}
                    ),
                }
            ),
            max_size=2,
        )
    }
)


@st.composite
def yaml_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_yaml_snippets, max_size=5))
    body = yaml.safe_dump(draw(_operations))
    return ("\n".join(lines) + "\n" + body).encode()


# --------------------------------------------------------------------------- invariants


def bounded(action: Callable[[], Any]) -> Any:
    """Run ``action`` and fail when its peak memory passes the limit."""
    tracemalloc.start()
    try:
        result = action()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"peak {peak:,} bytes"
    return result


def source_items(path: Path, **options: Any) -> list[Any]:
    """What ``coupa run`` reads from a file source (with these options), checked: every
    record or rejected entry of the file holds its own position, in order, none twice and
    none left out."""
    spec = EndpointSpec("file", {"path": str(path), **options})
    items: list[Any] = []
    try:
        for item in FileSource(spec, path.parent).items(set()):
            assert item.position == len(items), "positions must count every record once"
            if item.problem is not None:
                assert set(item.record) == {"_raw"}
                json.dumps(item.record, ensure_ascii=False).encode()  # writable as UTF-8
            items.append(item)
    except CoupaError:
        pass  # a clear error for the whole file: the records before it were counted
    return items


@pytest.fixture(scope="module")
def offline() -> Iterator[AsyncConnection]:
    """One connection for every example: a dry run sends nothing, and building a connection
    (its TLS context) costs more than reading a fuzzed file."""
    config = ConnectionConfig(
        url=OFFLINE_ENV["COUPA_URL"],
        client_id=OFFLINE_ENV["COUPA_CLIENT_ID"],
        client_secret=SecretStr(OFFLINE_ENV["COUPA_CLIENT_SECRET"]),
    )
    conn = AsyncConnection(config)
    yield conn
    asyncio.run(conn.aclose())


def dry_create(conn: AsyncConnection, path: Path) -> None:
    """What ``coupa create suppliers FILE --dry-run`` does with the file, in process, checked:
    one result per record read, and the counts add up, also when a clear error stops it."""
    entries: list[Any] = []
    summary = WriteSummary()

    def counted() -> Iterator[Any]:
        for entry in read_input(str(path), path.suffix[1:]):
            entries.append(entry)
            yield entry

    results: list[Any] = []

    async def run() -> None:
        async for result in create(conn, "suppliers", counted(), dry_run=True):
            results.append(summary.add(result))

    stopped = False
    try:
        asyncio.run(run())
    except CoupaError:
        stopped = True  # a clear error for the file, as the command shows it
    assert summary.read == len(entries), "every record read has exactly one result"
    counts = summary.as_dict()
    assert counts["read"] == counts["valid"] + counts["rejected"] + counts["failed"]
    if not stopped:
        # A dry run sends nothing, so nothing can fail: a failure is a crash caught late.
        failures = [r.messages for r in results if r.outcome == WriteOutcome.FAILED]
        assert not failures, failures
    assert counts["rejected"] >= sum(isinstance(e, UnreadableRecord) for e in entries)


def check_file(conn: AsyncConnection, folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.write_bytes(data)
    bounded(lambda: source_items(path))
    bounded(lambda: dry_create(conn, path))


# --------------------------------------------------------------------------- the tests


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One folder for every example of a test (function-scoped fixtures are shared by the
    # examples anyway); each example overwrites its file.
    return tmp_path_factory.mktemp("fuzz")


# Each test also runs the inputs that broke its reader before, whatever hypothesis draws.
_DEEP = 100_000


@FUZZ
@given(data=mutated(csv_files()))
@example(data=b"name,number\nAcme,1\nBad\xff,2\n")
@example(data=b"name\nAc\x00me\n")
@example(data=".".join(["a"] * 10_000).encode() + b"\n1\n")
@example(data=",".join(f"c{i}" for i in range(20_000)).encode() + b"\n")
def test_csv_reader(offline: AsyncConnection, folder: Path, data: bytes) -> None:
    check_file(offline, folder, "in.csv", data)


@FUZZ
@given(data=mutated(jsonl_files()))
@example(data=b'{"name": "\xff"}\n{"name": "ok"}\n')
@example(data=nested(900, '{"a":', "").encode() + b"1" + b"}" * 900)
def test_jsonl_reader(offline: AsyncConnection, folder: Path, data: bytes) -> None:
    check_file(offline, folder, "in.jsonl", data)


@FUZZ
@given(data=mutated(json_files()))
@example(data=b'[{"name": "\xff"}]')
@example(data=nested(_DEEP, "[", "]").encode())
@example(data=b'[{"a": ' + nested(900, "[", "]").encode() + b"}]")
def test_json_reader(offline: AsyncConnection, folder: Path, data: bytes) -> None:
    check_file(offline, folder, "in.json", data)


@FUZZ
@given(data=mutated(xml_files()))
@example(data=f"<suppliers><supplier>{nested(_DEEP, '<a>', '')}{nested(_DEEP, '', '</a>')}"
         "</supplier></suppliers>".encode())  # fmt: skip
@example(data=b'<s xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></s>')
def test_xml_reader(offline: AsyncConnection, folder: Path, data: bytes) -> None:
    check_file(offline, folder, "in.xml", data)


@FUZZ
@given(data=mutated(yaml_files()))
@example(
    data=(
        "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
    ).encode()
)
@example(data=b"operations: " + nested(_DEEP, "[", "]").encode())
@example(data=b"operations:\n  x: !!python/object:os.system {}\n  y: '\xff'\n")
def test_operation_file_loader(folder: Path, data: bytes) -> None:
    path = folder / "ops.yaml"
    path.write_bytes(data)

    def load() -> None:
        try:
            load_operation_file(path)
        except OperationFileError as exc:
            assert exc.problems and all(str(p).startswith(str(path)) for p in exc.problems)

    bounded(load)


_where_pieces = st.sampled_from(
    [
        "status", "supplier.name", "invoice-lines.account.code", "total", "updated-at",
        "exported", "id", "=", "!=", ">=", "<", "~", "^=", "$=", " in ", " not in ",
        " is blank", " is not blank", "[gt]", "[in]", "[", "]", "'", '"', ",", ".", " ",
        "approved", "2024-01-01", "1e999", "-1", "\x00", "é", "true", "custom-fields.x",
    ]
)  # fmt: skip
_where_exprs = st.lists(_where_pieces | _text, max_size=8).map("".join)


@settings(FUZZ, max_examples=400)  # cheap: no file, no pipeline
@given(
    obj=st.sampled_from(["invoices", "suppliers", "purchase_orders", "users"]),
    where=st.lists(_where_exprs, min_size=1, max_size=3),
)
def test_where_parser(obj: str, where: list[str]) -> None:
    catalog = load_catalog()

    def parse() -> None:
        with contextlib.suppress(CoupaError):  # the query command shows these as usage errors
            build_query(catalog, obj, where=where, fields=["id"])

    bounded(parse)


@settings(FUZZ, max_examples=3)
@given(csv_data=mutated(csv_files()), yaml_data=mutated(yaml_files()))
def test_a_few_through_the_real_cli(folder: Path, csv_data: bytes, yaml_data: bytes) -> None:
    (folder / "in.csv").write_bytes(csv_data)
    done = coupa("create", "suppliers", "in.csv", "--dry-run", "--summary", "json", cwd=folder)
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads(done.stdout)
    assert summary["read"] == summary["valid"] + summary["rejected"] + summary["failed"]
    (folder / "ops.yaml").write_bytes(yaml_data)
    assert coupa("validate", "ops.yaml", cwd=folder).returncode in (0, 2)
