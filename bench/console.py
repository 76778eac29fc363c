"""How fast the console's pages are over a large operation log, and what they cost in memory.

Builds a log of 10,000 runs (eight operations over 90 days, every status), one run with
50,000 failed records (each with its input and transformed record), through ``OpLog`` as the
runner writes them, and a bulk download whose manifest lists 200,000 files. Then, for each
page, it times the console answering the request on a loopback port (server-side time, from
its Server-Timing header: routing, the guard, the queries, the HTML), the median of N
requests, and measures in the same run the baseline: a raw SQLite query of the same rows
(``SELECT ... LIMIT/OFFSET`` and the count, the JSON decoded; for the manifest, its page's
lines read at a known offset and parsed). It prints milliseconds, the page/baseline ratio
and the peak memory of one request (tracemalloc).
Target: every page under 300 ms, memory flat (the last page of 50,000 failures costs what
the first does; so does the last page of the manifest).

    python bench/console.py [--runs 10000] [--failures 50000] [--files 200000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

from coupa_connector.activities.attachments import Manifest, ManifestRow, parse_rows
from coupa_connector.console import ConsoleServer, ConsoleSettings
from coupa_connector.console._attachments import FILES_PER_PAGE
from coupa_connector.operations import OpLog, RecordOutcome

TARGET_MS = 300.0
TOKEN = "bench-token-" + "x" * 32
OPERATIONS = [
    f"op-{name}"
    for name in (
        "invoices",
        "suppliers",
        "users",
        "orders",
        "rates",
        "receipts",
        "items",
        "accounts",
    )
]
STATUSES = ["success"] * 6 + ["partial"] * 3 + ["failed"]


def build_log(path: Path, runs: int, failures: int) -> int:
    """Fill the log; returns the id of the run with ``failures`` failed records."""
    rng = random.Random(7)
    with OpLog(path) as log:
        for i in range(runs):
            op = OPERATIONS[i % len(OPERATIONS)]
            run_id = log.start_run(op, f"/ops/{op}.yaml", dry_run=i % 17 == 0)
            written = rng.randint(0, 100)
            outcomes = [RecordOutcome(str(n), n, "written") for n in range(written)]
            status = STATUSES[i % len(STATUSES)]
            if status == "partial":
                outcomes.append(
                    RecordOutcome(
                        "x",
                        written,
                        "rejected",
                        messages=["name: required"],
                        record={"number": f"N-{i}"},
                        transformed={"number": f"N-{i}"},
                    )
                )
            log.record_batch(run_id, outcomes)
            log.finish_run(
                run_id,
                status,
                error="HTTP 401 from the token endpoint" if status == "failed" else None,
            )
        big = log.start_run("op-invoices", "/ops/op-invoices.yaml")
        for start in range(0, failures, 50):
            log.record_batch(
                big,
                [
                    RecordOutcome(
                        str(n),
                        n,
                        "failed",
                        messages=[f"HTTP 422: invoice-number INV-{n} has already been taken"],
                        record={
                            "invoice-number": f"INV-{n}",
                            "supplier": "Acme <b>Corp</b>",
                            "total": "100.00",
                            "password": "hunter2",
                        },
                        transformed={
                            "invoice-number": f"INV-{n}",
                            "supplier": {"name": "Acme"},
                            "gross-total": "100.00",
                        },
                    )
                    for n in range(start, min(start + 50, failures))
                ],
            )
        log.finish_run(big, "partial")
    # Spread the runs over the last 90 days (the runner stamps them with "now").
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', "
        "'-' || ((? - id) * 90.0 * 86400 / ?) || ' seconds')",
        (runs + 1, runs + 1),
    )
    db.commit()
    db.close()
    return big


def build_download(log_path: Path, folder: Path, files: int) -> tuple[int, Path]:
    """A bulk download's run whose manifest lists ``files`` files; returns its id and the
    manifest."""
    manifest = folder / "files" / "manifest.csv"
    rows = (
        ManifestRow(
            "invoices",
            n // 4 + 1,
            f"INV-{n // 4 + 1}",
            "attachment",
            n + 1,
            f"scan <{n}>.pdf",
            1000 + n,
            f"{n:064x}",
            f"invoices/INV-{n // 4 + 1}/scan _{n}_.pdf",
        )
        for n in range(files)
    )
    out = Manifest(manifest)
    out.open([])
    out.close(rows)
    with OpLog(log_path) as log:
        run_id = log.start_run("attachments invoices", "coupa attachments")
        summary = {"folder": str(manifest.parent), "manifest": str(manifest), "parents": files // 4}
        summary.update(found=files, downloaded=files, kept=0, failed=0, not_files=0, bytes=files)
        log.set_detail(run_id, "attachments", summary)
        log.finish_run(run_id, "success")
    return run_id, manifest


def manifest_baseline(manifest: Path, page: int) -> Callable[[], object]:
    """The least a manifest page costs: its lines read from an offset known in advance, and
    parsed."""
    with manifest.open("rb") as fh:
        header = fh.readline()
        for _ in range((page - 1) * FILES_PER_PAGE):
            fh.readline()
        offset = fh.tell()

    def read() -> object:
        with manifest.open("rb") as fh:
            fh.seek(offset)
            lines = [header] + [fh.readline() for _ in range(FILES_PER_PAGE)]
        return list(parse_rows([x.decode() for x in lines if x], jsonl=False))

    return read


class Pages:
    """GET requests to a console serving the log on a loopback port, one connection kept.

    The time of a page is the server's own (its ``Server-Timing`` header): routing, the
    guard, the queries and the HTML, without the HTTP client.
    """

    def __init__(self, server: ConsoleServer) -> None:
        self.client = httpx.Client(
            base_url=server.base_url, headers={"Cookie": f"coupa_console={TOKEN}"}, timeout=60
        )
        self.last_ms = 0.0

    def __call__(self, target: str) -> bytes:
        answer = self.client.get(target)
        assert answer.status_code == 200, f"{target}: HTTP {answer.status_code}"
        self.last_ms = float(answer.headers["server-timing"].split("dur=")[1])
        return answer.content


def timed(
    fn: Callable[[], object], repeat: int, took: Callable[[], float] | None = None
) -> tuple[float, float]:
    """Median milliseconds of ``repeat`` calls (``took`` says each call's own time, when
    given), and the peak KiB of one call."""
    fn()  # warm: the first request opens the log in its thread
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(took() if took is not None else (time.perf_counter() - t) * 1000)
    tracemalloc.start()
    fn()
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1024


def raw(
    db: sqlite3.Connection,
    sql: str,
    params: tuple[Any, ...],
    count: str,
    count_params: tuple[Any, ...],
) -> Callable[[], object]:
    def query() -> object:
        rows = db.execute(sql, params).fetchall()
        for row in rows:
            for value in row:
                if isinstance(value, str) and value.startswith(("[", "{")):
                    json.loads(value)
        return rows, db.execute(count, count_params).fetchone()

    return query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--failures", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="console-bench-"))
    path = folder / "oplog.sqlite"
    t = time.perf_counter()
    big = build_log(path, args.runs, args.failures)
    print(
        f"log: {args.runs:,} runs and one run with {args.failures:,} failed records "
        f"built in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)"
    )
    t = time.perf_counter()
    download, manifest = build_download(path, folder, args.files)
    print(
        f"manifest: {args.files:,} files written in {time.perf_counter() - t:.1f} s "
        f"({manifest.stat().st_size / 2**20:.0f} MiB)"
    )
    server = ConsoleServer(ConsoleSettings(log_db=path, token=TOKEN, port=0)).start()
    get = Pages(server)
    db = sqlite3.connect(path)
    runs_sql = "SELECT * FROM runs {w} ORDER BY id DESC LIMIT 50 OFFSET ?"
    last_runs = (args.runs // 50) * 50
    last_failures = ((args.failures - 1) // 25) * 25
    fail_sql = "SELECT * FROM failures WHERE run_id = ? ORDER BY position, id LIMIT 25 OFFSET ?"
    fail_count = "SELECT count(*) FROM failures WHERE run_id = ?"
    last_files = (args.files - 1) // FILES_PER_PAGE + 1
    pages = [
        (
            "runs, page 1",
            "/",
            raw(db, runs_sql.format(w=""), (0,), "SELECT count(*) FROM runs", ()),
        ),
        (
            f"runs, page {last_runs // 50 + 1} (last)",
            f"/?page={last_runs // 50 + 1}",
            raw(db, runs_sql.format(w=""), (last_runs,), "SELECT count(*) FROM runs", ()),
        ),
        (
            "runs, status=failed",
            "/?status=failed",
            raw(
                db,
                runs_sql.format(w="WHERE status = 'failed'"),
                (0,),
                "SELECT count(*) FROM runs WHERE status = 'failed'",
                (),
            ),
        ),
        (
            "runs, operation + status + dates",
            "/?operation=op-users&status=partial&since=2000-01-01&until=2100-01-01",
            raw(
                db,
                runs_sql.format(w="WHERE operation = 'op-users' AND status = 'partial'"),
                (0,),
                "SELECT count(*) FROM runs WHERE operation = 'op-users' AND status = 'partial'",
                (),
            ),
        ),
        (
            "runs, text search",
            "/?q=401",
            raw(
                db,
                runs_sql.format(w="WHERE error LIKE '%401%'"),
                (0,),
                "SELECT count(*) FROM runs WHERE error LIKE '%401%'",
                (),
            ),
        ),
        (
            "charts, 90 days",
            "/charts?days=90",
            raw(
                db,
                "SELECT operation, substr(started_at, 1, 10) AS d, count(*), sum(read), "
                "avg(duration) FROM runs GROUP BY operation, d",
                (),
                "SELECT 1",
                (),
            ),
        ),
        (
            f"run of {args.failures:,} failures, page 1",
            f"/runs/{big}",
            raw(db, fail_sql, (big, 0), fail_count, (big,)),
        ),
        (
            f"run of {args.failures:,} failures, last page",
            f"/runs/{big}?page={last_failures // 25 + 1}",
            raw(db, fail_sql, (big, last_failures), fail_count, (big,)),
        ),
        ("a run with 1 rejected record", "/runs/2", raw(db, fail_sql, (2, 0), fail_count, (2,))),
        (
            f"manifest of {args.files:,} files, page 1",
            f"/runs/{download}",
            manifest_baseline(manifest, 1),
        ),
        (
            f"manifest of {args.files:,} files, last page",
            f"/runs/{download}?files={last_files}",
            manifest_baseline(manifest, last_files),
        ),
    ]
    print(f"\n{'page':42} {'ms':>8} {'baseline ms':>12} {'ratio':>7} {'peak KiB':>9}")
    worst = 0.0
    for name, target, baseline in pages:
        ms, peak = timed(lambda target=target: get(target), args.repeat, lambda: get.last_ms)
        base_ms, _ = timed(baseline, args.repeat)
        worst = max(worst, ms)
        print(f"{name:42} {ms:8.1f} {base_ms:12.2f} {ms / max(base_ms, 0.001):6.0f}x {peak:9.0f}")
    # The first look at a manifest (or at one that changed) notes where its pages start:
    # once per manifest, timed here by changing the file's time before each request.
    stamp = manifest.stat().st_mtime_ns

    def cold() -> bytes:
        nonlocal stamp
        stamp += 1_000_000
        os.utime(manifest, ns=(stamp, stamp))
        return get(f"/runs/{download}?files={last_files}")

    ms, peak = timed(cold, max(3, args.repeat // 3), lambda: get.last_ms)
    worst = max(worst, ms)
    print(f"{'manifest, first look (pages indexed)':42} {ms:8.1f} {'':>12} {'':>7} {peak:9.0f}")
    print(
        f"\nslowest page: {worst:.1f} ms (target under {TARGET_MS:.0f} ms): "
        f"{'OK' if worst < TARGET_MS else 'TOO SLOW'}"
    )


if __name__ == "__main__":
    main()
