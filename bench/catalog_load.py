"""How long loading the catalog takes, cold, and what it costs in memory; how fast the CLI starts.

Each measurement runs in a fresh Python process (so nothing is cached), N times, and reports
the median. In the same run it measures the baselines the numbers are read against:

  python     an empty interpreter start (``python -c pass``)
  json       ``json.loads`` of the same catalog file, nothing else
  catalog    ``load_catalog()``: read, parse, build every ObjectDef, index the names (fields
             are built per object on first use; the first object's cost is shown too),
             and apart from it the import of the package
  help       ``coupa --help`` and ``coupa objects --help`` (no catalog data, no rich)
  schema     ``coupa schema invoices`` (loads the catalog, imports rich, renders a table)
  validate   ``validate_record`` on an invoice with three lines, in records per second,
             against ``json.dumps`` of the same record (the least a send costs)

and prints milliseconds, the catalog/json ratio, and the peak memory (tracemalloc) of the
load. Target: load_catalog() under 100 ms.

    python bench/catalog_load.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 100.0
CATALOG = Path(__file__).resolve().parents[1] / "src/coupa_connector/catalog/catalog.json"

# Each snippet prints the milliseconds its own measured part took, inside the fresh process.
TIMED_JSON = f"""
import json, time
t = time.perf_counter()
json.loads(open({str(CATALOG)!r}, 'rb').read())
print((time.perf_counter() - t) * 1000)
"""
TIMED_CATALOG = """
import time
t0 = time.perf_counter()
from coupa_connector.catalog import load_catalog
t1 = time.perf_counter()
cat = load_catalog()
t2 = time.perf_counter()
cat.get("invoices").fields["invoice-lines"]
t3 = time.perf_counter()
print((t2 - t1) * 1000, (t1 - t0) * 1000, (t3 - t2) * 1000)
"""
VALIDATE = """
import json, time
from coupa_connector import validate_record
from coupa_connector.catalog import load_catalog
obj = load_catalog().get("invoices")
line = {"line-num": 1, "type": "InvoiceQuantityLine", "description": "Toner", "quantity": "2",
        "price": "15.00", "uom": {"code": "EA"}, "account": {"code": "A-1",
        "account-type": {"name": "COA"}}}
record = {"invoice-number": "INV-1", "invoice-date": "2024-05-01", "currency": {"code": "USD"},
          "supplier": {"number": "S-1"}, "account-type": {"name": "COA"},
          "bill-to-address": {"location-code": "HQ"}, "line-level-taxation": False,
          "invoice-lines": [line, line, line]}
n = 3000
t = time.perf_counter()
for _ in range(n):
    json.dumps(record)
t1 = time.perf_counter()
for _ in range(n):
    assert not validate_record(obj, record)
t2 = time.perf_counter()
print(n / (t2 - t1), n / (t1 - t))
"""
MEMORY_CATALOG = """
import tracemalloc
from coupa_connector.catalog import load_catalog
tracemalloc.start()
cat = load_catalog()
for obj in cat:
    len(obj.fields)  # every object's fields built: the most the catalog can take
current, peak = tracemalloc.get_traced_memory()
print(current / 2**20, peak / 2**20)
"""


def inner_ms(code: str, runs: int) -> list[float]:
    """Medians of the numbers a snippet prints, over ``runs`` fresh processes."""
    samples: list[list[float]] = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        samples.append([float(x) for x in out.split()])
    return [statistics.median(column) for column in zip(*samples, strict=True)]


def wall_ms(argv: list[str], runs: int) -> float:
    """Median wall time of a command; NaN (with the reason on stderr) when it fails."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"  ({' '.join(argv[2:])} failed: {last})", file=sys.stderr)
            return float("nan")
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = args.runs

    size_kib = CATALOG.stat().st_size / 1024
    objects = len(json.loads(CATALOG.read_bytes())["objects"])
    python_ms = wall_ms([sys.executable, "-c", "pass"], runs)
    (json_ms,) = inner_ms(TIMED_JSON, runs)
    catalog_ms, import_ms, first_object_ms = inner_ms(TIMED_CATALOG, runs)
    current_mb, peak_mb = (
        float(x)
        for x in subprocess.run(
            [sys.executable, "-c", MEMORY_CATALOG], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    validate_rps, dumps_rps = inner_ms(VALIDATE, 1)
    coupa = [sys.executable, "-m", "coupa_connector"]
    help_ms = wall_ms([*coupa, "--help"], runs)
    objects_help_ms = wall_ms([*coupa, "objects", "--help"], runs)
    schema_ms = wall_ms([*coupa, "schema", "invoices"], runs)

    print(f"catalog.json: {objects} objects, {size_kib:.0f} KiB; median of {runs} cold runs")
    print(f"  python -c pass          {python_ms:8.1f} ms (process start, wall)")
    print(f"  json.loads(file)        {json_ms:8.1f} ms (baseline)")
    print(f"  load_catalog()          {catalog_ms:8.1f} ms = {catalog_ms / json_ms:4.1f}x json")
    print(f"  first object's fields   {first_object_ms:8.1f} ms (invoices, built on first use)")
    print(f"  import the package      {import_ms:8.1f} ms (coupa_connector and its catalog)")
    print(
        f"  memory, all fields built {peak_mb:7.1f} MiB peak (tracemalloc; {current_mb:.1f} kept)"
    )
    print(f"  coupa --help            {help_ms:8.1f} ms = {help_ms / python_ms:4.1f}x bare python")
    print(
        f"  coupa objects --help    {objects_help_ms:8.1f} ms = "
        f"{objects_help_ms / python_ms:4.1f}x bare python"
    )
    print(
        f"  coupa schema invoices   {schema_ms:8.1f} ms = {schema_ms / python_ms:4.1f}x bare python"
    )
    print(
        f"  validate_record()       {validate_rps:8.0f} invoices/s (3 lines each) = "
        f"{validate_rps / dumps_rps:.2f}x json.dumps of the same record"
    )
    verdict = "OK" if catalog_ms < TARGET_MS else "OVER"
    print(f"target: load_catalog() under {TARGET_MS:.0f} ms: {verdict}")
    return 0 if catalog_ms < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
