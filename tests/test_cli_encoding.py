"""Files in the encodings ERPs export (cp1252, latin-1): read with ``--encoding`` or an
operation source's ``encoding:``, and a clear error, never a traceback, without it."""

from __future__ import annotations

import json
from pathlib import Path

from _cli_process import coupa, no_traceback
from _write_support import find, tag
from coupa_connector.sandbox import Sandbox


def _cp1252_csv(path: Path, t: str) -> Path:
    # "Müller – Sà" : ü and à as latin-1 bytes, the en dash as cp1252's 0x96.
    text = f"name,number,status,po-method\nMüller – Sà {t},ENC-{t},active,email\n"
    path.write_bytes(text.encode("cp1252"))
    return path


def test_create_reads_a_cp1252_csv_with_encoding(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = _cp1252_csv(tmp_path / "erp.csv", t)
    proc = coupa(["create", "suppliers", str(path), "--encoding", "cp1252"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert find(sandbox, "suppliers", number=f"ENC-{t}")[0]["name"] == f"Müller – Sà {t}"


def test_without_encoding_the_reason_names_line_offset_and_the_option(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    path = _cp1252_csv(tmp_path / "erp.csv", t)
    proc = coupa(["create", "suppliers", str(path), "--dry-run"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 1
    # The reason reaches the terminal: the file, the byte and its offset, and the way out.
    assert f"{path} is not UTF-8: byte 0xFC at byte offset 30" in proc.stderr
    assert "--encoding" in proc.stderr and "cp1252" in proc.stderr


def test_a_byte_the_encoding_cannot_decode_names_file_line_and_offset(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "odd.csv").write_bytes(b"name,number\nfine,1\nA\x81b,2\n")  # 0x81: undefined
    # The file named relative to the working directory: a temporary path longer than the
    # 80 columns the message is wrapped to (an xdist worker's is) would be cut mid-name.
    args = ["create", "suppliers", "odd.csv", "--dry-run", "--encoding", "cp1252"]
    proc = coupa(args, sandbox, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    message = " ".join((proc.stdout + proc.stderr).split())
    assert "odd.csv:3: byte 0x81 at byte offset 20 cannot be decoded as cp1252" in message
    assert "--encoding" in message


def test_an_unknown_encoding_is_a_usage_error(sandbox: Sandbox, tmp_path: Path) -> None:
    path = _cp1252_csv(tmp_path / "erp.csv", tag())
    proc = coupa(["create", "suppliers", str(path), "--encoding", "klingon"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "'klingon' is not an encoding" in proc.stderr


def test_xml_and_ids_files_take_the_encoding_too(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    xml = tmp_path / "s.xml"
    # The declaration says UTF-8, as ERPs often write whatever the bytes are.
    xml.write_bytes(
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n<suppliers type="array"><supplier>'
            f"<name>Café {t}</name><number>ENX-{t}</number><status>active</status>"
            "<po-method>email</po-method></supplier></suppliers>\n"
        ).encode("latin-1")
    )
    proc = coupa(["create", "suppliers", str(xml), "--encoding", "latin-1"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert find(sandbox, "suppliers", number=f"ENX-{t}")[0]["name"] == f"Café {t}"

    ids = tmp_path / "ids.txt"
    ids.write_bytes("# Überprüft\n1\n".encode("utf-16"))
    proc = coupa(
        ["action", "invoices", "submit", "--ids-file", str(ids), "--dry-run",
         "--encoding", "utf-16", "--summary", "json"],
        sandbox,
    )  # fmt: skip
    no_traceback(proc)
    assert json.loads(proc.stdout)["read"] == 1, proc.stdout + proc.stderr


def test_operation_file_source_with_encoding(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    _cp1252_csv(tmp_path / "erp.csv", t)
    (tmp_path / "erp.jsonl").write_bytes(
        json.dumps({"name": f"Jürgen {t}"}, ensure_ascii=False).encode("cp1252") + b"\n"
    )
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "connection: {env: true}\n"
        "operations:\n"
        "  csv-in:\n"
        "    source: {type: file, path: erp.csv, encoding: cp1252}\n"
        "    target: {type: file, path: out.jsonl}\n"
        "  jsonl-in:\n"
        "    source: {type: file, path: erp.jsonl, encoding: cp1252}\n"
        "    target: {type: file, path: out2.jsonl}\n",
        encoding="utf-8",
    )
    proc = coupa(["run", str(ops), "--log-db", str(tmp_path / "log.sqlite")], sandbox, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert out["name"] == f"Müller – Sà {t}"
    out2 = json.loads((tmp_path / "out2.jsonl").read_text(encoding="utf-8"))
    assert out2["name"] == f"Jürgen {t}"


def test_lookup_csv_takes_an_encoding(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("dept\nK\u00fcche\nLager\n", encoding="utf-8")
    (tmp_path / "cc.csv").write_bytes("dept,cc\nK\u00fcche,CC-1\nLager,CC-2\n".encode("cp1252"))
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "operations:\n"
        "  map:\n"
        "    source: {type: file, path: in.csv}\n"
        "    transform:\n"
        "      mapping:\n"
        "        cc: \"lookup_csv('cc.csv', 'dept', 'cc', dept, 'cp1252')\"\n"
        "    target: {type: file, path: out.jsonl}\n",
        encoding="utf-8",
    )
    proc = coupa(["run", str(ops), "--log-db", str(tmp_path / "log.sqlite")], sandbox, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows == [{"cc": "CC-1"}, {"cc": "CC-2"}]


def test_a_long_path_in_the_reason_is_never_cut_in_two(sandbox: Sandbox, tmp_path: Path) -> None:
    # Output that is not a terminal is 80 columns wide to rich: a path longer than that must
    # still come out on one line, as it is, so it can be copied.
    folder = tmp_path / ("a-folder-with-a-long-name-" * 4)
    folder.mkdir()
    path = folder / "odd.csv"
    path.write_bytes(b"name,number\nfine,1\nA\x81b,2\n")
    proc = coupa(["create", "suppliers", str(path), "--dry-run", "--encoding", "cp1252"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 1
    assert len(str(path)) > 80
    assert f"{path}:3: byte 0x81" in proc.stdout + proc.stderr
