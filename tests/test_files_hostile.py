"""Hostile record files: bytes that are not UTF-8, deep nesting, XML's external mechanisms,
NUL characters and very wide headers end in a clear error or a rejected row, never in a
traceback, through the readers and through the real ``coupa create`` and ``coupa run``."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from _hostile_support import coupa
from coupa_connector.operations import (
    BadRecord,
    Item,
    RecordFileError,
    Transformer,
    TransformSpec,
    compile_expression,
    read_records,
)
from coupa_connector.operations.files._files import MAX_RECORD_DEPTH


def read(path: Path, **options: Any) -> tuple[list[dict[str, Any]], list[BadRecord]]:
    bad: list[BadRecord] = []
    return list(read_records(path, on_bad=bad.append, **options)), bad


def refusal(path: Path, **options: Any) -> RecordFileError:
    with pytest.raises(RecordFileError) as info:
        list(read_records(path, on_bad=lambda _b: None, **options))
    return info.value


# --------------------------------------------------------------------------- not UTF-8


def test_csv_row_that_is_not_utf8_is_rejected_with_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"name,number\nAcme,1\nBad\xff\xfe,2\nGood \xc3\xa9,3\n")
    records, [bad] = read(path)
    assert records == [{"name": "Acme", "number": "1"}, {"name": "Good é", "number": "3"}]
    assert (bad.position, bad.line) == (1, 3)
    assert bad.reason == (
        f"{path} is not UTF-8: byte 0xFF at byte offset 22 cannot be decoded; "
        "give the file's encoding with --encoding (an operation file: encoding: in the "
        "source); exports from Windows programs are often cp1252"
    )
    assert bad.raw == "Bad\ufffd\ufffd,2"  # writable as UTF-8 in a rejects file


def test_byte_offsets_count_multibyte_characters_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    before = 'name,description\n"Café","one\nt'.encode()
    path.write_bytes(before + b'\xe9o"\n' + '"Thé",two\n'.encode())
    records, [bad] = read(path)
    assert records == [{"name": "Thé", "description": "two"}]
    assert bad.line == 2  # where the row starts
    assert f"byte 0xE9 at byte offset {len(before)} " in bad.reason


def test_csv_header_that_is_not_utf8_stops_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"na\xefme,number\nAcme,1\n")
    error = refusal(path)
    assert error.line == 1
    assert "not UTF-8: byte 0xEF at byte offset 2" in str(error)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_utf16_and_utf32_files_are_named_as_such(tmp_path: Path, fmt: str, codec: str) -> None:
    path = tmp_path / f"in.{fmt}"
    content = {"csv": "name\nAcme\n", "jsonl": '{"name": "Acme"}\n', "json": '[{"a": 1}]'}
    path.write_bytes(content[fmt].encode(codec))
    message = str(refusal(path))
    assert f"the file is {codec.upper()}" in message and "not UTF-8" in message


def test_utf16_without_a_byte_order_mark_is_found_by_its_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("name,number\nAcme,1\n".encode("utf-16-le"))
    error = refusal(path)
    assert error.line == 1 and "UTF-16" in str(error)


def test_jsonl_line_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": "\xff"}\n{"a": 3}\n')
    records, [bad] = read(path)
    assert records == [{"a": 1}, {"a": 3}]
    assert bad.line == 2
    assert "is not UTF-8: byte 0xFF at byte offset 19" in bad.reason
    assert bad.raw == '{"a": "\ufffd"}'


def test_json_that_is_not_utf8_stops_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b'[{"a": 1},\n {"a": "\xff"}]')
    error = refusal(path)
    assert error.line == 2
    assert "not UTF-8: byte 0xFF at byte offset 19" in str(error)


def test_xml_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_bytes(b"<suppliers>\n<supplier><name>B\xffd</name></supplier></suppliers>")
    error = refusal(path)
    assert error.line == 2
    assert "not UTF-8: byte 0xFF at byte offset 29" in str(error)


def test_xml_that_declares_its_encoding_reads(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>'
        b"<suppliers><supplier><name>Caf\xe9</name></supplier></suppliers>"
    )
    assert read(path)[0] == [{"name": "Café"}]


def test_a_declared_encoding_reads_and_a_wrong_one_stops_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("name\nCafé\nThé\n".encode("latin-1"))
    assert read(path, encoding="latin-1")[0] == [{"name": "Café"}, {"name": "Thé"}]
    error = refusal(path, encoding="ascii")
    assert "cannot be decoded as ascii" in str(error)
    assert "unknown encoding 'klingon'" in str(refusal(path, encoding="klingon"))


def test_lookup_csv_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cc.csv").write_bytes(b"dept,cost_center\nA,100\nB,2\xff0\n")
    pairs = (("cc", compile_expression("lookup_csv('cc.csv', 'dept', 'cost_center', dept)")),)
    result = Transformer(TransformSpec(mapping=pairs), base_dir=tmp_path).one(
        Item(0, {"dept": "A"}, "0")
    )
    [(field, message)] = result.errors
    assert field == "cc"
    assert f"{tmp_path / 'cc.csv'}:3: not UTF-8: byte 0xFF at byte offset 26" in message


# --------------------------------------------------------------------------- nesting


def test_csv_column_path_too_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(".".join(["a"] * 10_000) + "\n1\n")
    error = refusal(path)
    assert error.line == 1 and f"more than {MAX_RECORD_DEPTH} levels deep" in str(error)
    fine = tmp_path / "fine.csv"
    fine.write_text(".".join(["a"] * MAX_RECORD_DEPTH) + "\n1\n")
    [record], _ = read(fine)
    assert record["a"]["a"]["a"]


@pytest.mark.parametrize(
    "text",
    [
        "[" + "[" * 100_000 + "]" * 100_000 + "]",
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        '[{"a": ' + "[" * 150 + "]" * 150 + "}]",  # under the decoder's own limit
        '{"a": ' + "[" * 150 + "]" * 150 + "}",
    ],
    ids=["array-100k", "object-100k", "array-150", "object-150"],
)
def test_json_nested_too_deep_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    assert f"more than {MAX_RECORD_DEPTH} levels deep" in str(refusal(path))


def test_jsonl_line_nested_too_deep_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    deep = '{"a": ' * 500 + "1" + "}" * 500
    deeper = "[" * 100_000 + "]" * 100_000
    path.write_text(f'{{"n": 1}}\n{deep}\n{deeper}\n{{"n": 2}}\n')
    records, bad = read(path)
    assert records == [{"n": 1}, {"n": 2}]
    assert [b.line for b in bad] == [2, 3]
    assert f"more than {MAX_RECORD_DEPTH} levels deep" in bad[0].reason


def test_xml_nested_too_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_text("<suppliers>" + "<a>" * 100_000 + "</a>" * 100_000 + "</suppliers>")
    assert f"more than {MAX_RECORD_DEPTH} levels deep" in str(refusal(path))


# --------------------------------------------------------------------------- XML


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (
            '<suppliers xmlns:xi="http://www.w3.org/2001/XInclude"><supplier><name>'
            '<xi:include href="/etc/passwd" parse="text"/></name></supplier></suppliers>',
            "XInclude",
        ),
        (
            '<suppliers><supplier><xi:include href="/etc/passwd" parse="text"/>'
            "</supplier></suppliers>",
            "XInclude",
        ),
        (
            '<!DOCTYPE suppliers SYSTEM "http://example.com/x.dtd">'
            "<suppliers><supplier><name>a</name></supplier></suppliers>",
            "external DTD",
        ),
        (
            '<!DOCTYPE suppliers PUBLIC "-//X//DTD X//EN" "x.dtd">'
            "<suppliers><supplier><name>a</name></supplier></suppliers>",
            "external DTD",
        ),
        (
            '<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><s><n>&x;</n></s>',
            "entity declarations",
        ),
    ],
    ids=["xinclude-declared", "xinclude-prefix", "dtd-system", "dtd-public", "entity"],
)
def test_xml_external_mechanisms_are_refused(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "in.xml"
    path.write_text(text)
    error = refusal(path)
    assert what in str(error) and "not allowed" in str(error)
    assert error.line == 1


# --------------------------------------------------------------------------- NUL, width


def test_csv_cell_with_a_nul_is_a_rejected_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("name,number\nAc\x00me,1\nGood,2\n")
    records, [bad] = read(path)
    assert records == [{"name": "Good", "number": "2"}]
    assert bad.line == 2
    assert bad.reason == "column 'name' holds a NUL character, which Coupa cannot store"


def _header_seconds(tmp_path: Path, columns: int) -> float:
    path = tmp_path / f"wide-{columns}.csv"
    path.write_text(",".join(f"custom-fields.c{i}" for i in range(columns)) + "\n")
    # This thread's CPU time: other processes on a loaded machine (xdist's workers too) do
    # not count, so the ratio below is the work's, not the scheduler's.
    started = time.thread_time()
    assert read(path) == ([], [])
    return time.thread_time() - started


def test_header_check_is_linear_in_the_columns(tmp_path: Path) -> None:
    small = min(_header_seconds(tmp_path, 10_000) for _ in range(2))
    large = _header_seconds(tmp_path, 100_000)
    # Linear: ten times the columns, about ten times the time (quadratic was a hundred
    # times: 89 s for 100k). Generous bounds, so a loaded machine cannot make it flake.
    assert large < 5.0
    assert large < 40 * small + 0.5


def test_duplicate_columns_are_still_found(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b, a,c,b\n1,2,3,4,5\n")
    assert "duplicate columns: a, b" in str(refusal(path))


# --------------------------------------------------------------------------- the real CLI


_HOSTILE: dict[str, bytes] = {
    "not-utf8.csv": b"name,number\nAcme,1\nBad\xff,2\nGood,3\n",
    "not-utf8.jsonl": b'{"name": "Acme"}\n\n{"name": "\xff"}\n{"name": "Good"}\n',
    "nul.csv": b"name,number\nAcme,1\nAc\x00me,2\nGood,3\n",
    "utf16.csv": "name\nAcme\n".encode("utf-16"),
    "not-utf8.json": b'[{"name": "\xff"}]',
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "deep.xml": b"<suppliers>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</suppliers>",
    "deep.csv": b".".join([b"a"] * 10_000) + b"\n1\n",
    "xinclude.xml": b'<suppliers xmlns:xi="http://www.w3.org/2001/XInclude">'
    b'<supplier><xi:include href="/etc/passwd"/></supplier></suppliers>',
}
_ROWS_REJECTED = {"not-utf8.csv": "not UTF-8", "not-utf8.jsonl": "not UTF-8", "nul.csv": "NUL"}
_FILE_REFUSED = {
    "utf16.csv": "UTF-16",
    "not-utf8.json": "not UTF-8",
    "deep.json": "levels deep",
    "deep.xml": "levels deep",
    "deep.csv": "levels deep",
    "xinclude.xml": "XInclude",
}


@pytest.mark.parametrize("name", sorted(_ROWS_REJECTED))
def test_coupa_create_rejects_the_row_and_reads_on(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(_HOSTILE[name])
    done = coupa(
        "create", "suppliers", name, "--dry-run", "--rejects", "rejects.jsonl",
        "--summary", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["read"], summary["valid"], summary["rejected"]) == (3, 2, 1)
    [rejected] = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert "line 3" in rejected["_errors"][0] and _ROWS_REJECTED[name] in rejected["_errors"][0]


def test_coupa_create_reads_standard_input_that_is_not_utf8(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from _hostile_support import OFFLINE_ENV

    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", "create", "suppliers", "-",
         "--input-format", "csv", "--dry-run", "--summary", "json"],
        input=_HOSTILE["not-utf8.csv"], capture_output=True, cwd=tmp_path,
        env={**os.environ, **OFFLINE_ENV}, timeout=120, check=False,
    )  # fmt: skip
    assert b"Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert (summary["read"], summary["valid"], summary["rejected"]) == (3, 2, 1)


@pytest.mark.parametrize("name", sorted(_FILE_REFUSED))
def test_coupa_create_refuses_the_file_with_a_clear_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(_HOSTILE[name])
    done = coupa("create", "suppliers", name, "--dry-run", "--summary", "json", cwd=tmp_path)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error.startswith(name) and _FILE_REFUSED[name] in error


def _copy_operation(tmp_path: Path, source: str) -> Path:
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        textwrap.dedent(
            f"""
            operations:
              copy:
                source: {{type: file, path: {source}}}
                target: {{type: file, path: out/copy.jsonl}}
                rejects: out/rejects.jsonl
            """
        )
    )
    return ops


@pytest.mark.parametrize("name", sorted(_ROWS_REJECTED))
def test_coupa_run_rejects_the_row_and_the_rest_goes_on(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(_HOSTILE[name])
    _copy_operation(tmp_path, name)
    done = coupa("run", "ops.yaml", "--log-db", "log.db", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    [result] = json.loads(done.stdout)
    assert result["status"] == "partial"
    assert (result["read"], result["written"], result["rejected"]) == (3, 2, 1)
    assert result["read"] == result["written"] + result["rejected"] + result["failed"]
    written = (tmp_path / "out" / "copy.jsonl").read_text().splitlines()
    assert len(written) == 2
    rejects = (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()
    [rejected] = [json.loads(line) for line in rejects]
    [reason] = rejected["_errors"]
    assert reason.startswith("record: line 3: ") and rejected["_line"] == 3
    assert _ROWS_REJECTED[name] in reason
    if "UTF-8" in _ROWS_REJECTED[name]:
        assert name in reason and "byte offset" in reason


@pytest.mark.parametrize("name", ["deep.json", "deep.xml", "utf16.csv", "xinclude.xml"])
def test_coupa_run_fails_the_operation_with_a_clear_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(_HOSTILE[name])
    _copy_operation(tmp_path, name)
    done = coupa("run", "ops.yaml", "--log-db", "log.db", "--format", "json", cwd=tmp_path)
    assert done.returncode == 2
    [result] = json.loads(done.stdout)
    assert result["status"] == "failed"
    assert _FILE_REFUSED[name] in result["error"] and "unexpected" not in result["error"]
