#!/usr/bin/env python3
"""Query throughput: a sequential baseline, coupa-async-client 0.1.0 and ours, side by side.

    python bench/query_throughput.py            # 20,000 invoices, then a 100,000-record file
    python bench/query_throughput.py --quick    # 2,000 invoices, then 10,000 records

The sandbox is seeded with invoices (with lines) and adds 100 ms to every API request. Each
client runs in its own process (so its peak memory is its own) and extracts every invoice,
full records, to a JSON Lines file. Two settings: the sandbox's rate limit off, then on
(25 requests/s, burst 20). Requests and 429s are counted by the sandbox; lost and duplicated
records by comparing each client's ids with the server's. Ours runs twice: in one process
(``ours``), and with ``--processes`` worker processes (``ours-mp``, 2 by default) that share
the same 8 requests in flight and the same rate limit. coupa-async-client is installed
with ``python -m venv`` + pip into a throwaway directory; if that is impossible (no package
index), its rows say so and the rest still runs.

Last, a memory check: ours extracts a large set (100,000 records; 10,000 with --quick) to a
file with no added latency, and its peak RSS is compared with the smaller extract: flat means
it does not grow with the record count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEER = "coupa-async-client==0.1.0"

# --------------------------------------------------------------------------- the workers


def _cpu_seconds() -> float:
    # Children count too: with --processes the records are fetched in worker processes.
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _workers_peak_mb(processes: int) -> float:
    # ru_maxrss of the children is the largest worker's peak; as if all peaked at once.
    if processes <= 1:
        return 0.0
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 * processes


def _peak_mb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss would carry over the size of
    # the parent (which holds the sandbox) from before exec.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_sequential(args: argparse.Namespace) -> dict[str, Any]:
    """The plain loop everyone writes first: one page at a time, offset += what came back."""
    import httpx2
    import orjson

    with httpx2.Client(trust_env=False, timeout=120) as client, open(args.out, "wb") as out:
        token = client.post(
            f"{args.url}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": args.client_id,
                "client_secret": os.environ["BENCH_CLIENT_SECRET"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        started = time.perf_counter()
        offset = n = 0
        while True:
            response = client.get(
                f"{args.url}/api/invoices",
                params={"limit": 50, "offset": offset},
                headers=headers,
            )
            if response.status_code == 429:
                time.sleep(float(response.headers.get("retry-after", "1")))
                continue
            response.raise_for_status()
            page = response.json()
            for record in page:
                out.write(orjson.dumps(record) + b"\n")
            n += len(page)
            offset += len(page)
            if len(page) < 50:
                break
    return {
        "records": n,
        "seconds": time.perf_counter() - started,
        "peak_mb": _peak_mb(),
        "cpu": _cpu_seconds(),
    }


def worker_ours(args: argparse.Namespace) -> dict[str, Any]:
    """Ours: the library's extract (keyset partitions, shared rate limit) to a JSONL file.

    With ``--processes N`` the id ranges are fetched by N worker processes that share the
    same concurrency and rate limit.
    """
    from coupa_connector import AsyncConnection, ConnectionConfig, SecretStr, extract

    config = ConnectionConfig(
        args.url,
        client_id=args.client_id,
        client_secret=SecretStr(os.environ["BENCH_CLIENT_SECRET"]),
        rate_limit=None if args.rate_limit == "off" else float(args.rate_limit),
        concurrency=args.concurrency,
    )

    async def run() -> dict[str, Any]:
        async with AsyncConnection(config) as conn:
            started = time.perf_counter()
            result = await extract(
                conn, "invoices", args.out, fmt="jsonl", processes=args.processes
            )
            return {"records": result.written, "seconds": time.perf_counter() - started}

    summary = asyncio.run(run())
    summary["peak_mb"] = _peak_mb() + _workers_peak_mb(args.processes)
    summary["cpu"] = _cpu_seconds()
    return summary


PEER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, resource, sys, time
    from coupa_async_client import CoupaAsyncClient

    import os
    url, client_id, out_path, concurrency, budget = sys.argv[1:6]
    secret = os.environ["BENCH_CLIENT_SECRET"]

    async def main():
        n = 0
        async with CoupaAsyncClient(
            base_url=url + "/api", token_url=url + "/oauth2/token", client_id=client_id,
            client_secret=secret, default_page_size=50, default_concurrent=int(concurrency),
            timeout=120.0,
        ) as client:
            with open(out_path, "w") as out:
                started = time.perf_counter()
                async for row in client.iter_items("invoices", params={}):
                    out.write(json.dumps(row) + "\\n")
                    n += 1
                return n, time.perf_counter() - started

    try:
        n, seconds = asyncio.run(asyncio.wait_for(main(), timeout=float(budget)))
        status = "ok"
    except (asyncio.TimeoutError, TimeoutError):
        n, seconds, status = -1, float(budget), "did not finish in %s s" % budget
    except Exception as exc:
        n, seconds, status = -1, 0.0, "failed: %s: %s" % (type(exc).__name__, exc)
    peak = 0.0
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"records": n, "seconds": seconds, "peak_mb": peak, "status": status,
                      "cpu": cpu}))
    """
)

# --------------------------------------------------------------------------- the driver


def _ids(path: Path) -> list[int]:
    import orjson

    if not path.exists():
        return []
    with path.open("rb") as handle:
        return [orjson.loads(line)["id"] for line in handle if line.strip()]


def install_peer(workdir: Path) -> Path | None:
    venv = workdir / "peer-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        python = venv / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", PEER],
            check=True,
            capture_output=True,
            timeout=300,
        )
        return python
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"note: could not install {PEER} ({exc}); its rows are skipped", file=sys.stderr)
        return None


def run_client(
    name: str,
    sandbox: Any,
    workdir: Path,
    truth: set[int],
    opts: argparse.Namespace,
    rate_limit: str,
    peer_python: Path | None,
    budget: float,
) -> dict[str, Any]:
    out = workdir / f"{name}.jsonl"
    out.unlink(missing_ok=True)
    common = [sandbox.url, sandbox.client_id]
    if name == "coupa-async-client":
        if peer_python is None:
            return {"client": name, "status": "not installed"}
        script = workdir / "peer.py"
        script.write_text(PEER_SCRIPT)
        cmd = [str(peer_python), str(script), *common, str(out), str(opts.concurrency), str(budget)]
    else:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "ours" if name == "ours-mp" else name,
            "--processes",
            str(opts.processes if name == "ours-mp" else 1),
            "--url",
            common[0],
            "--client-id",
            common[1],
            "--out",
            str(out),
            "--concurrency",
            str(opts.concurrency),
            "--rate-limit",
            rate_limit,
        ]
    sandbox.reset_stats()
    # The sandbox serves from this process: its CPU time over the run is the server's cost.
    server_cpu = time.process_time()
    # The secret travels in the environment: a command line is visible to every local user.
    env = {
        **os.environ,
        "NO_PROXY": "127.0.0.1,localhost",
        "BENCH_CLIENT_SECRET": sandbox.client_secret,
    }
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=budget + 60, env=env)
        summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        if done.returncode != 0 and not summary:
            summary = {"status": f"exit {done.returncode}: {done.stderr.strip()[-200:]}"}
    except subprocess.TimeoutExpired:
        summary = {"status": f"killed after {budget + 60:.0f} s"}
    server_cpu = time.process_time() - server_cpu
    stats = sandbox.stats()
    ids = _ids(out)
    out.unlink(missing_ok=True)
    seconds = float(summary.get("seconds") or 0.0)
    return {
        "client": name,
        "status": summary.get("status", "ok"),
        "records": len(ids),
        "seconds": seconds,
        "rps": len(ids) / seconds if seconds else 0.0,
        "requests": stats["total"],
        "throttled": int(stats["by_status"].get("429", 0)),
        "lost": len(truth - set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        "peak_mb": float(summary.get("peak_mb") or 0.0),
        "cpu": float(summary.get("cpu") or 0.0),
        "server_cpu": server_cpu,
    }


def print_table(title: str, rows: list[dict[str, Any]], bound: float | None) -> None:
    base = next((r for r in rows if r["client"] == "sequential" and r.get("rps")), None)
    print(f"\n{title}")
    head = f"{'client':<20}{'records':>9}{'s':>8}{'rec/s':>9}{'x seq':>7}{'req':>7}{'429s':>6}"
    head += f"{'lost':>6}{'dup':>5}{'peak MB':>9}{'cpu s':>7}{'srv cpu':>8}  status"
    print(head)
    for r in rows:
        if "rps" not in r:
            print(f"{r['client']:<20}{'-':>9}  {r['status']}")
            continue
        ratio = r["rps"] / base["rps"] if base else 0.0
        print(
            f"{r['client']:<20}{r['records']:>9}{r['seconds']:>8.1f}{r['rps']:>9.0f}{ratio:>7.1f}"
            f"{r['requests']:>7}{r['throttled']:>6}{r['lost']:>6}{r['duplicated']:>5}"
            f"{r['peak_mb']:>9.0f}{r['cpu']:>7.1f}{r['server_cpu']:>8.1f}  {r['status']}"
        )
    peer = next((r for r in rows if r["client"] == "coupa-async-client" and r.get("rps")), None)
    for ours in (r for r in rows if r["client"] in ("ours", "ours-mp") and r.get("rps")):
        name = ours["client"]
        if peer:
            print(f"{name} / coupa-async-client: {ours['rps'] / peer['rps']:.2f}x records/s")
        if bound:
            print(
                f"{name} reaches {ours['rps'] / bound:.0%} of the {bound:.0f} records/s bound "
                "(25 x 50)"
            )


def truth_ids(sandbox: Any) -> set[int]:
    from coupa_connector import Connection, ConnectionConfig, SecretStr

    config = ConnectionConfig(
        sandbox.url,
        client_id=sandbox.client_id,
        client_secret=SecretStr(sandbox.client_secret),
        rate_limit=None,
    )
    with Connection(config) as conn:
        return {r["id"] for r in conn.query("invoices", return_object="limited", concurrency=8)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--invoices", type=int, default=None)
    parser.add_argument("--big", type=int, default=None, help="records for the memory check")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--clients",
        default="sequential,coupa-async-client,ours,ours-mp",
        help="comma-separated clients to run (default: all four; ours-mp is ours with "
        "--processes worker processes sharing the same concurrency)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes of ours-mp (default 2)"
    )
    parser.add_argument("--settings", default="off,on", help="rate limit settings to run")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory check")
    parser.add_argument("--worker", choices=["sequential", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--client-id", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--rate-limit", default="25", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        summary = worker_sequential(opts) if opts.worker == "sequential" else worker_ours(opts)
        print(json.dumps(summary))
        return 0

    from coupa_connector.sandbox import Sandbox

    invoices = opts.invoices or (2_000 if opts.quick else 20_000)
    big = opts.big or (10_000 if opts.quick else 100_000)
    budget = 300.0 if opts.quick else 900.0
    with tempfile.TemporaryDirectory(prefix="coupa-bench-") as tmp:
        workdir = Path(tmp)
        peer = None if opts.skip_peer else install_peer(workdir)
        print(f"seeding {invoices} invoices ...", file=sys.stderr)
        with Sandbox(seed_size=invoices) as sandbox:
            truth = truth_ids(sandbox)
            print(
                f"{len(truth)} invoices on the server; concurrency {opts.concurrency}; "
                "100 ms added per request",
                file=sys.stderr,
            )
            results: dict[str, list[dict[str, Any]]] = {}
            wanted = opts.settings.split(",")
            settings = [(f"rate limit {w}", w == "on") for w in ("off", "on") if w in wanted]
            for setting, limited in settings:
                sandbox.set_rate_limit(limited, rate=25, burst=20)
                sandbox.set_faults(latency_ms=100, path="^/api/")
                rows = []
                for client in opts.clients.split(","):
                    print(f"  {setting}: {client} ...", file=sys.stderr)
                    rows.append(
                        run_client(
                            client,
                            sandbox,
                            workdir,
                            truth,
                            opts,
                            "25" if limited else "off",
                            peer,
                            budget,
                        )
                    )
                results[setting] = rows
                print_table(
                    f"Sandbox {setting}, {len(truth)} invoices with lines",
                    rows,
                    1250.0 if limited else None,
                )
            sandbox.clear_faults()
            sandbox.set_rate_limit(False)
            small = next(
                (r for rows in results.values() for r in rows if r["client"] == "ours"), None
            )
        if opts.no_memory:
            return 0
        print(f"\nseeding {big} invoices for the memory check ...", file=sys.stderr)
        with Sandbox(seed_size=big) as sandbox:
            truth = truth_ids(sandbox)
            row = run_client("ours", sandbox, workdir, truth, opts, "off", None, budget * 2)
        compared = (
            f" (vs {small['peak_mb']:.0f} MB for {small['records']})" if small is not None else ""
        )
        print(
            f"\nMemory: ours extracting {row['records']} records to a file: peak "
            f"{row['peak_mb']:.0f} MB{compared}; lost {row['lost']}, duplicated "
            f"{row['duplicated']}, {row['rps']:.0f} records/s with no added latency"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
