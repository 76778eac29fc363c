"""Bulk download and the command line: round trips, faults, safe names, kill and resume."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _client_sandbox import sandbox_config
from _write_support import env_for
from coupa_connector import AsyncConnection, Connection
from coupa_connector.cli import cli
from coupa_connector.sandbox import Sandbox

# Long end-to-end runs, each on a sandbox of its own: scheduled first under xdist (conftest).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def coupa(sb: Sandbox, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={**env_for(sb), "COUPA_MAX_RETRIES": "8"})


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` but the manifest: relative path -> sha256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("manifest.")
    }


def _manifest(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A sandbox of its own: these tests add many attachments."""
    with Sandbox(seed_size=120) as server:
        yield server


def _content(parent: str, pid: int, n: int) -> bytes:
    return f"{parent} {pid} file {n}\n".encode() * (50 + 37 * n)


def test_round_trip_on_invoices_pos_and_contracts(sb: Sandbox, tmp_path: Path) -> None:
    sent: dict[tuple[str, str], str] = {}
    for parent, numbers in (("invoices", (3, 4)), ("purchase_orders", (5,)), ("contracts", (2,))):
        for pid in numbers:
            paths = []
            for n in range(3):
                path = tmp_path / "in" / f"{parent}-{pid}" / f"doc {n}.pdf"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(_content(parent, pid, n))
                paths.append(str(path))
            up = coupa(
                sb, "attachments", "upload", parent, str(pid), *paths, "--intent", "Supplier"
            )
            assert up.exit_code == 0, up.output
            listed = coupa(sb, "attachments", "list", parent, str(pid), "--format", "jsonl")
            names = [json.loads(line)["name"] for line in listed.stdout.splitlines()]
            assert {f"doc {n}.pdf" for n in range(3)} <= set(names)
            for n in range(3):
                sent[(f"{parent}/{pid}", f"doc {n}.pdf")] = hashlib.sha256(
                    _content(parent, pid, n)
                ).hexdigest()
    out = tmp_path / "out"
    for parent, ids in (
        ("invoices", ("3", "4")),
        ("purchase_orders", ("5",)),
        ("contracts", ("2",)),
    ):
        args = [a for i in ids for a in ("--id", i)]
        got = coupa(sb, "attachments", "download", parent, *args, "-o", str(out))
        assert got.exit_code == 0, got.output
    rows = _manifest(out / "manifest.csv")
    by_parent = {(f"{r['object']}/{r['parent_id']}", r["name"]): r for r in rows}
    for key, digest in sent.items():
        row = by_parent[key]
        assert row["sha256"] == digest
        assert hashlib.sha256((out / row["path"]).read_bytes()).hexdigest() == digest
    # Every file on disk is in the manifest once, and the counts add up.
    assert sorted(r["path"] for r in rows) == sorted(_files(out))
    assert len({r["path"] for r in rows}) == len(rows)
    assert all(r["path"].startswith(f"{r['object']}/") for r in rows)
    assert any(r["path"].startswith("purchase_orders/PO-") for r in rows)


def test_names_are_safe_and_clashes_get_suffixes(sb: Sandbox, tmp_path: Path) -> None:
    with Connection(sandbox_config(sb)) as conn:
        for name in ("../../escape.txt", "a.pdf", "A.pdf", "CON.txt", ".hidden", "x/y\\z.pdf"):
            conn.upload_attachment("invoices", 7, b"data " + name.encode(), filename=name)
        result = conn.download_attachments("invoices", tmp_path / "out", ids=[7])
    assert result.ok and result.found == result.downloaded
    folder = next((tmp_path / "out" / "invoices").iterdir())
    names = sorted(p.name for p in folder.iterdir())
    assert "escape.txt" in names and "a.pdf" in names and "A (2).pdf" in names
    assert "_CON.txt" in names and "hidden" in names and "z.pdf" in names
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "escape.txt").exists()


def test_resume_keeps_whole_files_and_fetches_damaged_ones(sb: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Connection(sandbox_config(sb)) as conn:
        first = conn.download_attachments(
            "invoices", out, where="id<=12", kinds=["attachments", "scan"], manifest=out / "m.jsonl"
        )
        assert first.ok and first.downloaded == first.found > 0
        damaged = out / first.rows[0].path
        damaged.write_bytes(b"not the file")
        (out / first.rows[1].path).unlink()
        (out / "invoices" / ".left.pdf.1234.coupa-part").write_bytes(b"half")
        again = conn.download_attachments(
            "invoices", out, where="id<=12", kinds=["attachments", "scan"], manifest=out / "m.jsonl"
        )
    assert (again.downloaded, again.kept) == (2, first.found - 2)
    assert again.rows == first.rows
    assert not list(out.rglob("*.coupa-part"))
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == first.rows[0].sha256


async def _add_attachments(sb: Sandbox, count: int, per_parent: int) -> dict[tuple[int, str], str]:
    """``count`` attachments over invoices 1..count/per_parent; returns their sha256 by
    (invoice, name)."""
    expected: dict[tuple[int, str], str] = {}
    async with AsyncConnection(sandbox_config(sb, concurrency=16)) as conn:
        slots = asyncio.Semaphore(16)

        async def one(n: int) -> None:
            pid, name = 1 + n // per_parent, f"file-{n}.bin"
            data = _content("bulk", pid, n % 7) + n.to_bytes(4, "big")
            async with slots:
                await conn.upload_attachment("invoices", pid, data, filename=name)
            expected[(pid, name)] = hashlib.sha256(data).hexdigest()

        await asyncio.gather(*(one(n) for n in range(count)))
    return expected


def test_a_thousand_attachments_under_faults_arrive_once_each(sb: Sandbox, tmp_path: Path) -> None:
    expected = asyncio.run(_add_attachments(sb, 1000, 10))
    sb.set_faults(
        seed=3,
        methods=["GET"],
        path=r"/attachments/\d+$",
        truncate_rate=0.05,
        error_rate=0.025,
        error_statuses=[500, 502, 503],
        throttle_rate=0.025,
        retry_after=0,
    )
    out = tmp_path / "out"
    with Connection(sandbox_config(sb, concurrency=8)) as conn:
        result = conn.download_attachments("invoices", out, where="id<=100")
    injected = sb.faults()["injected"]
    assert injected["truncate"] > 20 and injected["error"] > 5 and injected["throttle"] > 5
    assert result.ok, result.failed[:3]
    rows = result.rows
    ours = {(r.parent_id, r.name): r for r in rows if r.name.startswith("file-")}
    assert len(ours) == 1000
    assert {k: r.sha256 for k, r in ours.items()} == expected
    assert result.found == result.downloaded == len(rows)
    assert len({r.path for r in rows}) == len(rows)
    assert _files(out) == {r.path: r.sha256 for r in rows}
    assert not list(out.rglob("*.coupa-part"))


def _bulk_command(sb: Sandbox, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "coupa_connector",
        "attachments",
        "download",
        "invoices",
        "-w",
        "id<=40",
        "--kinds",
        "attachments,scan",
        "-o",
        str(out),
        "--concurrency",
        "4",
    ]


def _cli_env(sb: Sandbox) -> dict[str, str]:
    env = {**os.environ, **env_for(sb), "PYTHONPATH": str(ROOT / "src")}
    env.pop("COUPA_PROFILE", None)
    return env


def test_killed_and_resumed_equals_uninterrupted(sb: Sandbox, tmp_path: Path) -> None:
    asyncio.run(_add_attachments(sb, 200, 5))
    whole = tmp_path / "whole"
    done = subprocess.run(
        _bulk_command(sb, whole), env=_cli_env(sb), capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    expected_rows = (whole / "manifest.csv").read_text()
    total = len(_manifest(whole / "manifest.csv"))

    sb.set_faults(latency_ms=30, path=r"/attachments/\d+$")
    cut = tmp_path / "cut"
    proc = subprocess.Popen(_bulk_command(sb, cut), env=_cli_env(sb), stderr=subprocess.DEVNULL)
    manifest = cut / "manifest.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.read_text().count("\n") > total // 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = len(_manifest(manifest))
    assert 0 < partial < total, (partial, total)
    sb.clear_faults()
    resumed = subprocess.run(
        _bulk_command(sb, cut), env=_cli_env(sb), capture_output=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert (cut / "manifest.csv").read_text() == expected_rows
    assert _files(cut) == _files(whole)
    assert not list(cut.rglob("*.coupa-part"))
    summary = resumed.stderr.decode()
    kept = int(re.search(r"(\d+) already complete", summary).group(1))  # type: ignore[union-attr]
    # Every file the killed run had finished is kept (a torn last row excepted).
    assert partial - 1 <= kept < total and " 0 failed" in summary
