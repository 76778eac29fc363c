"""Write throughput: creates and updates against the sandbox with 100 ms of added latency.

    .venv/bin/python bench/write_throughput.py            # 2,000 creates + 2,000 updates
    .venv/bin/python bench/write_throughput.py --quick    # a smaller run

The sandbox runs in a child process (so the server and the client do not share one
interpreter), seeded small, with ``latency_ms=100`` on every API request. Measured in the
same run:

* baseline: the same connection sending one record at a time (concurrency 1, no rate limit),
  on a sample of the records (a full sequential run would take minutes at 100 ms a request);
* ours, rate limit off: the write activities at ``--concurrency`` records in flight;
* ours, rate limit on: the connection's 25 requests/s budget against the sandbox's own
  25/s throttle (burst 20), as on a real Coupa instance;
* faults: creates under dropped answers after commit, 5xx and 429 storms.

Each phase starts from a freshly reseeded sandbox, so every phase meets the same data set
(the sandbox's create cost grows with the number of records it holds).

After each run the sandbox is asked for every record of the run: duplicates (a name seen
twice) and losses (a record reported written that is not there, or never reported) must be
zero. Peak memory is the client process's maximum RSS; flat memory is shown by pushing 10,000 and
then 100,000 records through the whole pipeline (reader, validation, results and rejects
files; a dry run, so no server is involved) in fresh processes and comparing their peaks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from _sandbox_child import start_sandbox, stop_sandbox
from coupa_connector import AsyncConnection, ConnectionConfig, RetryPolicy
from coupa_connector.activities.write._results import WriteSummary
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update
from coupa_connector.sandbox import Sandbox


@dataclass
class Run:
    """One measured run."""

    name: str
    records: int
    seconds: float
    requests: int
    summary: WriteSummary
    throttled: int = 0
    duplicates: int = 0
    lost: int = 0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _config(sb: Sandbox, *, concurrency: int, rate_limit: float | None) -> ConnectionConfig:
    return ConnectionConfig(
        url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        concurrency=concurrency,
        rate_limit=rate_limit,
        max_retries=8,
        retry=RetryPolicy(backoff_base=0.05, backoff_cap=1.0),
    )


def _suppliers(tag: str, start: int, count: int) -> Iterator[dict[str, Any]]:
    for i in range(start, start + count):
        yield {
            "name": f"Bench {tag} {i:06d}",
            "number": f"B-{tag}-{i:06d}",
            "status": "active",
            "po-method": "email",
            "po-email": f"orders{i}@example.com",
        }


def _changes(tag: str, start: int, count: int) -> Iterator[dict[str, Any]]:
    for i in range(start, start + count):
        yield {"number": f"B-{tag}-{i:06d}", "display-name": f"Changed {i}"}


async def _timed(name: str, sb: Sandbox, config: ConnectionConfig, make: Any, records: int) -> Run:
    sb.reset_stats()
    summary = WriteSummary()
    started = time.perf_counter()
    async with AsyncConnection(config) as conn:
        results: AsyncIterator[Any] = make(conn)
        async for result in results:
            summary.add(result)
    seconds = time.perf_counter() - started
    stats = sb.stats()
    throttled = int(stats.get("by_status", {}).get("429", 0))
    return Run(name, records, seconds, _api_requests(stats), summary, throttled)


def _api_requests(stats: dict[str, Any]) -> int:
    """Requests the sandbox answered under /api (token requests are not part of the load)."""
    return sum(
        int(counts.get("total", 0))
        for route, counts in stats.get("by_route", {}).items()
        if " /api/" in route
    )


async def _names_in_coupa(config: ConnectionConfig, tag: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    async with AsyncConnection(config) as conn:
        async for record in conn.query(
            "suppliers", where=f"name^=Bench {tag} ", fields=["id", "name"]
        ):
            seen[record["name"]] += 1
    return seen


async def _check(run: Run, config: ConnectionConfig, tag: str, expected: int) -> None:
    seen = await _names_in_coupa(config, tag)
    run.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    # Every record is either in Coupa once, or accounted for as rejected/failed.
    run.lost = expected - len(seen) - run.summary.rejected - run.summary.failed


def _row(run: Run, baseline: Run | None) -> str:
    ratio = f"{run.records_per_s / baseline.records_per_s:6.1f}x" if baseline else "      "
    s = run.summary
    return (
        f"{run.name:<34} {run.records:>6} {run.seconds:>8.1f} {run.records_per_s:>9.1f} "
        f"{run.requests_per_s:>8.1f} {ratio} {run.throttled:>5} {s.written:>7} {s.failed:>6} "
        f"{run.duplicates:>4} {run.lost:>4}"
    )


async def _phase(
    sb: Sandbox, label: str, cfg: ConnectionConfig, check_cfg: ConnectionConfig, n: int
) -> tuple[Run, Run]:
    """Create ``n`` suppliers, check them, then update them all by number.

    ``label`` names the runs, with ``{verb}`` standing for create and update.
    """
    sb.reset()  # every phase starts from the same small data set
    tag = uuid.uuid4().hex[:8]
    created = await _timed(
        label.format(verb="create"),
        sb,
        cfg,
        lambda c: create(c, "suppliers", _suppliers(tag, 0, n)),
        n,
    )
    await _check(created, check_cfg, tag, n)
    updated = await _timed(
        label.format(verb="update"),
        sb,
        cfg,
        lambda c: update(c, "suppliers", _changes(tag, 0, n), key="number"),
        n,
    )
    return created, updated


async def main(args: argparse.Namespace) -> None:
    n = 300 if args.quick else args.records
    sample = 60 if args.quick else args.baseline_records
    child, sb = start_sandbox(latency_ms=args.latency_ms)
    runs: list[tuple[Run, Run | None]] = []
    try:
        base_cfg = _config(sb, concurrency=1, rate_limit=None)
        fast_cfg = _config(sb, concurrency=args.concurrency, rate_limit=None)
        limited_cfg = _config(sb, concurrency=args.concurrency, rate_limit=25.0)
        rss_before = _peak_rss_mb()

        base_create, base_update = await _phase(
            sb, "baseline {verb} (sequential)", base_cfg, base_cfg, sample
        )
        fast_create, fast_update = await _phase(
            sb, f"{{verb}}, limit off, concurrency {args.concurrency}", fast_cfg, fast_cfg, n
        )
        rss_mid = _peak_rss_mb()

        sb.set_rate_limit(True, rate=25, burst=20)
        # Checked without the client-side limit: the check is not what is measured.
        lim_create, lim_update = await _phase(
            sb, "{verb}, limit on (25/s)", limited_cfg, fast_cfg, n
        )
        sb.set_rate_limit(False)

        faults_n = max(100, n // 4)
        sb.set_faults(
            rules=[
                {"methods": ["POST"], "commit_drop_rate": 0.05},
                {"error_rate": 0.05, "error_statuses": [500, 502, 503]},
                {"throttle_rate": 0.05, "retry_after": 1},
            ],
            seed=7,
        )
        sb.reset()  # every phase starts from the same small data set
        tag = uuid.uuid4().hex[:8]
        fault_create = await _timed(
            "create under faults (5% each)",
            sb,
            fast_cfg,
            lambda c: create(c, "suppliers", _suppliers(tag, 0, faults_n)),
            faults_n,
        )
        sb.clear_faults()
        await _check(fault_create, fast_cfg, tag, faults_n)
        rss_after = _peak_rss_mb()

        runs = [
            (base_create, None),
            (base_update, None),
            (fast_create, base_create),
            (fast_update, base_update),
            (lim_create, base_create),
            (lim_update, base_update),
            (fault_create, base_create),
        ]
    finally:
        stop_sandbox(child)

    print(
        f"\nWrite throughput: suppliers, {args.latency_ms} ms added latency per request; "
        f"baseline on {sample} records, the others on {n} ({faults_n} under faults)\n"
    )
    print(
        f"{'run':<34} {'recs':>6} {'seconds':>8} {'recs/s':>9} {'reqs/s':>8} {'ratio':>7} "
        f"{'429s':>5} {'written':>7} {'failed':>6} {'dup':>4} {'lost':>4}"
    )
    for run, baseline in runs:
        print(_row(run, baseline))
    ratio_c = fast_create.records_per_s / base_create.records_per_s
    ratio_u = fast_update.records_per_s / base_update.records_per_s
    print()
    print(f"limit off vs baseline: create {ratio_c:.1f}x, update {ratio_u:.1f}x (target >= 8x)")
    print(
        f"limit on: create {lim_create.requests_per_s:.1f} req/s "
        f"({lim_create.requests_per_s / 25:.0%} of 25), update "
        f"{lim_update.requests_per_s:.1f} req/s ({lim_update.requests_per_s / 25:.0%} of 25) "
        "(target >= 90%)"
    )
    total_dup = sum(r.duplicates for r, _ in runs)
    total_lost = sum(r.lost for r, _ in runs)
    print(f"duplicates {total_dup}, losses {total_lost} (target 0 and 0)")
    print(
        f"client peak RSS: {rss_before:.0f} MB before, {rss_mid:.0f} MB after the limit-off "
        f"runs, {rss_after:.0f} MB at the end"
    )
    small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)
    peak_small, peak_large = _memory_phase(small, large)
    print(
        f"streaming (dry run through reader, validation, pipeline, results and rejects files): "
        f"peak RSS {peak_small:.0f} MB for {small:,} records, {peak_large:.0f} MB for "
        f"{large:,} ({peak_large / peak_small:.2f}x for {large // small}x the records)"
    )


def _memory_child(count: int) -> None:
    """Validate ``count`` records from a JSONL file through the whole pipeline (dry run), with
    results and rejects files, and print this process's peak RSS in MB."""
    import tempfile
    from pathlib import Path

    from coupa_connector.catalog import load_catalog
    from coupa_connector.cli._write_cmds import read_input
    from coupa_connector.cli._write_report import Reports

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i, record in enumerate(_suppliers("mem", 0, count)):
                if i % 10 == 0:
                    record["po-method"] = "pigeon"  # a reject now and then
                fh.write(json.dumps(record) + "\n")
        obj = load_catalog().get("suppliers")
        reports = Reports(
            obj, "jsonl", results=str(Path(tmp) / "r.jsonl"), rejects=str(Path(tmp) / "x.jsonl")
        )
        summary = WriteSummary()

        async def go() -> None:
            async for result in create(None, obj, read_input(str(path), "jsonl"), dry_run=True):  # type: ignore[arg-type]
                reports.add(summary.add(result))

        asyncio.run(go())
        reports.close()
        assert summary.read == count
    print(json.dumps({"records": count, "peak_rss_mb": _peak_rss_mb()}))


def _memory_phase(small: int, large: int) -> tuple[float, float]:
    peaks = []
    for count in (small, large):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks.append(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"])
    return peaks[0], peaks[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (300 records)")
    parser.add_argument("--records", type=int, default=2000, help="records per run")
    parser.add_argument(
        "--baseline-records", type=int, default=200, help="records in the sequential sample"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="records in flight")
    parser.add_argument("--latency-ms", type=int, default=100, help="added per request")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.memory_child:
        _memory_child(parsed.memory_child)
    else:
        asyncio.run(main(parsed))
