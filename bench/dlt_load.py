#!/usr/bin/env python3
"""The dlt source against our own extract: records/s of each, in the same run.

    python bench/dlt_load.py            # 5,000 invoices with their lines
    python bench/dlt_load.py --quick    # 1,000 invoices

The sandbox (in this process) is seeded with invoices and adds 100 ms to every API request,
as Coupa's own page times do. Each client runs in its own process: ``coupa query invoices
-o out.jsonl`` (ours), and a dlt pipeline of ``coupa_source(objects=["invoices"])`` into
DuckDB, whose extract (the source itself) and whole run (extract, normalize, load) are timed
apart. Twice: the sandbox's rate limit off, then on (25 requests/s, burst 20; the client's
limit on too), where the bound is 25 x 50 = 1,250 records/s. The target: the dlt source
within 1.5x of our extract's time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOUND = 25 * 50


def worker_dlt(args: argparse.Namespace) -> dict[str, Any]:
    import dlt

    from coupa_connector import ConnectionConfig, SecretStr
    from coupa_connector.integrations.dlt import coupa_source

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    config = ConnectionConfig(
        url=args.url,
        client_id=args.client_id,
        client_secret=SecretStr(os.environ["BENCH_CLIENT_SECRET"]),
        rate_limit=None if args.rate_limit == "off" else float(args.rate_limit),
    )
    work = Path(args.out)
    pipe = dlt.pipeline(
        "bench_coupa",
        destination=dlt.destinations.duckdb(str(work / "warehouse.duckdb")),
        dataset_name="coupa",
        pipelines_dir=str(work / "pipelines"),
    )
    started = time.perf_counter()
    pipe.extract(coupa_source(objects=["invoices"], connection=config), loader_file_format="jsonl")
    extracted = time.perf_counter()
    pipe.normalize()
    normalized = time.perf_counter()
    pipe.load()
    loaded = time.perf_counter()
    rows = pipe.last_trace.last_normalize_info.row_counts.get("invoices", 0)
    return {
        "records": rows,
        "extract": extracted - started,
        "normalize": normalized - extracted,
        "load": loaded - normalized,
        "total": loaded - started,
    }


def run_ours(sandbox: Any, work: Path, rate_limit: str) -> dict[str, Any]:
    out = work / "ours.jsonl"
    env = {
        **os.environ,
        "COUPA_URL": sandbox.url,
        "COUPA_CLIENT_ID": sandbox.client_id,
        "COUPA_CLIENT_SECRET": sandbox.client_secret,
        "COUPA_RATE_LIMIT": rate_limit,
        "COUPA_PROFILE": "",
    }
    cmd = [sys.executable, "-m", "coupa_connector", "query", "invoices", "-o", str(out)]
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    with out.open("rb") as fh:
        records = sum(1 for _ in fh)
    out.unlink()
    return {"records": records, "total": seconds}


def run_dlt(sandbox: Any, work: Path, rate_limit: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(dir=work))
    cmd = [sys.executable, __file__, "--worker", "--url", sandbox.url]
    cmd += ["--client-id", sandbox.client_id, "--out", str(folder), "--rate-limit", rate_limit]
    env = {**os.environ, "BENCH_CLIENT_SECRET": sandbox.client_secret}
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--invoices", type=int)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--client-id", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--rate-limit", default="off", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        print(json.dumps(worker_dlt(opts)))
        return 0

    from coupa_connector.sandbox import Sandbox

    invoices = opts.invoices or (1_000 if opts.quick else 5_000)
    print(f"seeding {invoices} invoices ...", file=sys.stderr)
    with (
        tempfile.TemporaryDirectory(prefix="coupa-bench-") as tmp,
        Sandbox(seed_size=invoices) as sandbox,
    ):
        work = Path(tmp)
        print(
            f"\n{'rate limit':<12}{'client':<22}{'records':>8}{'s':>8}{'rec/s':>8}"
            f"{'x ours':>8}{'of bound':>10}"
        )
        for limited in (False, True):
            sandbox.set_rate_limit(limited, rate=25, burst=20)
            sandbox.set_faults(latency_ms=100, path="^/api/")
            setting = "25" if limited else "off"
            ours = run_ours(sandbox, work, setting)
            theirs = run_dlt(sandbox, work, setting)
            rows = [
                ("coupa query -o", ours["records"], ours["total"]),
                ("dlt source (extract)", theirs["records"], theirs["extract"]),
                ("dlt run (to DuckDB)", theirs["records"], theirs["total"]),
            ]
            for name, records, seconds in rows:
                rate = records / seconds if seconds else 0.0
                of_bound = f"{rate / BOUND:.0%}" if limited else ""
                print(
                    f"{'on' if limited else 'off':<12}{name:<22}{records:>8}{seconds:>8.1f}"
                    f"{rate:>8.0f}{seconds / ours['total']:>8.2f}{of_bound:>10}"
                )
            print(
                f"{'':<12}dlt phases: extract {theirs['extract']:.1f} s, normalize "
                f"{theirs['normalize']:.1f} s, load {theirs['load']:.1f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
