#!/usr/bin/env python3
"""Coupa CSV flat files: writing and reading ``coupa-csv`` against the plain CSV format of the
same records, measured in the same run, with each phase's peak memory.

    python bench/coupa_csv.py            # 50,000 suppliers, 5,000 invoices of 3 lines
    python bench/coupa_csv.py --quick    # 10,000 suppliers, 1,000 invoices

The records are made as they are written (a generator), so a phase's peak memory is the
writer's or reader's own. Each phase runs twice: once timed, once under ``tracemalloc`` for
its peak (which slows it, so it is not timed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def suppliers(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "name": f"Supplier {i}",
            "number": f"SUP-{i:06d}",
            "status": "active",
            "po-method": "email",
            "po-email": f"orders{i}@example.com",
            "payment-term": {"code": "Net 30"},
            "tax-id": f"{i:09d}",
        }


def invoices(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "invoice-number": f"INV-{i:06d}",
            "invoice-date": "2024-12-09T00:00:00+00:00",
            "supplier": {"number": f"SUP-{i % 500:06d}"},
            "currency": {"code": "USD"},
            "account-type": {"name": "US COA"},
            "bill-to-address": {"location-code": "LOC-0001"},
            "line-level-taxation": False,
            "invoice-lines": [
                {
                    "line-num": n,
                    "description": f"Toner {n}",
                    "quantity": "2",
                    "price": f"{10 + n}.50",
                    "uom": {"code": "EA"},
                    "account": {"code": "10-100", "account-type": {"name": "US COA"}},
                }
                for n in range(1, 4)
            ],
        }


def measure(run: Callable[[], int]) -> tuple[float, int, float]:
    """(seconds, records, peak MiB) of a phase: timed once, then once for its memory."""
    started = time.perf_counter()
    count = run()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run()
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, count, peak / (1 << 20)


Row = tuple[str, float, int, float, float | None]


def bench_object(
    name: str, make: Callable[[int], Iterator[dict[str, Any]]], count: int, root: Path
) -> list[Row]:
    """The phases for one object: plain CSV and coupa-csv, written and read."""
    from coupa_connector.operations import open_writer, read_records
    from coupa_connector.operations.files.coupa_csv import read_coupa_csv, write_coupa_csv

    plain = root / f"{name}.csv"
    folder = root / name

    def plain_write() -> int:
        with open_writer(plain, "csv") as out:
            for record in make(count):
                out.write(record)
        return count

    def coupa_write(validate: bool) -> int:
        for old in folder.glob("*.csv"):
            old.unlink()
        write_coupa_csv(name, make(count), folder, validate=validate)
        return count

    def plain_read() -> int:
        return sum(1 for _ in read_records(plain, "csv"))

    def coupa_read() -> int:
        paths = sorted(folder.glob("*.csv"))
        return sum(1 for p in paths for _ in read_coupa_csv(name, p, direction="import"))

    rows: list[Row] = []
    base_w = measure(plain_write)
    rows.append((f"{name}: write plain CSV (baseline)", *base_w, None))
    for label, validate in (("validated", True), ("unvalidated", False)):
        got = measure(lambda validate=validate: coupa_write(validate))
        rows.append((f"{name}: write coupa-csv, {label}", *got, got[0] / base_w[0]))
    base_r = measure(plain_read)
    rows.append((f"{name}: read plain CSV (baseline)", *base_r, None))
    got = measure(coupa_read)
    rows.append((f"{name}: read coupa-csv", *got, got[0] / base_r[0]))
    files = sorted(folder.glob("*.csv"))
    print(
        f"{name}: {len(files)} files, "
        f"{sum(f.stat().st_size for f in files) / (1 << 20):.1f} MiB "
        f"(plain CSV {plain.stat().st_size / (1 << 20):.1f} MiB)"
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    n_suppliers, n_invoices = (10_000, 1_000) if opts.quick else (50_000, 5_000)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_object("suppliers", suppliers, n_suppliers, Path(tmp))
        rows += bench_object("invoices", invoices, n_invoices, Path(tmp))
    print()
    print("| phase | records | s | records/s | vs baseline | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, seconds, count, peak, ratio in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        print(
            f"| {label} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} | {shown} | "
            f"{peak:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
