"""``coupa objects`` and ``coupa schema`` as tables that fit 80 columns on a terminal (the
flags stay visible), as plain TSV in a pipe, and as ``--format tsv``."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

from _cli_process import COUPA, cli_env, coupa, no_traceback

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_terminal(args: list[str], columns: int = 80) -> list[str]:
    """The lines ``coupa ARGS`` prints on a terminal ``columns`` wide (colours taken off)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = cli_env()
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"
    proc = subprocess.Popen([*COUPA, *args], env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return [line.rstrip("\r") for line in text.split("\n")]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("│")[1:-1]]


def test_schema_fits_80_columns_with_the_flags() -> None:
    lines = _on_terminal(["schema", "invoices", "--for", "create"])
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "field" in line and "┃" in line)
    names = [c.strip() for c in header.split("┃")[1:-1]]
    assert names[:5] == ["field", "type", "required", "in", "out"]
    rows = {_cells(line)[0]: _cells(line) for line in lines if line.startswith("│")}
    assert rows["invoice-number"][2] == "yes" and rows["invoice-number"][3] == "yes"
    assert any("Not shown at this width:" in line for line in lines)


def test_objects_fit_80_columns_without_folding_titles() -> None:
    lines = _on_terminal(["objects"])
    assert max(len(line) for line in lines) <= 80
    rows = {_cells(line)[0]: _cells(line) for line in lines if line.startswith("│")}
    assert rows["account-category"][1] == "Account Category API"


def test_piped_output_is_tsv_and_format_tsv_says_so() -> None:
    for args in (["schema", "invoices", "--for", "create"], ["schema", "invoices", "--for",
                 "create", "--format", "tsv"]):  # fmt: skip
        proc = coupa(args)
        no_traceback(proc)
        assert proc.returncode == 0
        header, *rows = proc.stdout.splitlines()
        assert header.split("\t") == [
            "field", "type", "required", "unique", "in", "out", "allowed / note", "source"
        ]  # fmt: skip
        by_field = {r.split("\t")[0]: r.split("\t") for r in rows}
        assert by_field["invoice-number"][1:3] == ["string(40)", "yes"]
        assert all(len(r.split("\t")) == 8 for r in rows)
    objects = coupa(["objects"]).stdout.splitlines()
    assert objects[0].startswith("name\ttitle\tresource")
    assert "account-category\tAccount Category API\t(nested)\t" in "\n".join(objects)
