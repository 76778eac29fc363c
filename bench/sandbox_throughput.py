"""How fast the sandbox serves full pages of invoices, and how much memory it takes.

Starts ``coupa sandbox`` in a subprocess (throttle off), then measures, in the same run:

  baseline   1-record JSON pages of invoices (the whole stack, almost no payload)
  full       50-record JSON pages of invoices with their lines

each from several concurrent clients for a fixed time, and prints pages/s, records/s, the
full/baseline ratio and the server's peak resident memory (VmHWM). ``--seed-100k`` also
reseeds the server with 100,000 invoices and reports the time (target: under 60 s).

    python bench/sandbox_throughput.py [--seed-size 2000] [--clients 4] [--seconds 5] [--seed-100k]

Target on a 2-core machine: at least 150 full pages/s, so that the sandbox is never the
bottleneck of a client held at Coupa's 25 requests/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

TARGET_PAGES_PER_SECOND = 150.0
TARGET_SEED_SECONDS = 60.0


@dataclass
class Server:
    process: subprocess.Popen[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.env["COUPA_URL"]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def admin(self, method: str, name: str, body: dict[str, object] | None = None) -> object:
        request = urllib.request.Request(
            f"{self.url}/__sandbox__/{name}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "X-Sandbox-Admin": self.env["COUPA_SANDBOX_ADMIN_SECRET"],
                "Content-Type": "application/json",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=600) as response:
            return json.loads(response.read())


def start_server(seed_size: int) -> Server:
    cmd = [
        sys.executable,
        "-m",
        "coupa_connector",
        "sandbox",
        "--port",
        "0",
        "--no-rate-limit",
        "--seed-size",
        str(seed_size),
    ]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
    )
    server = Server(process)
    assert process.stdout is not None
    deadline = time.monotonic() + 300
    while "COUPA_SANDBOX_ADMIN_SECRET" not in server.env:
        line = process.stdout.readline()
        if not line or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the sandbox did not start")
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            server.env[name] = value.strip("'")
    return server


def token(server: Server) -> str:
    r = httpx2.post(
        f"{server.url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": server.env["COUPA_CLIENT_ID"],
            "client_secret": server.env["COUPA_CLIENT_SECRET"],
        },
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def load(
    server: Server, bearer: str, limit: int, clients: int, seconds: float, pages: int
) -> dict[str, float]:
    """Fetch pages of ``limit`` invoices from ``clients`` threads for ``seconds``."""
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    counts = [0] * clients
    records = [0] * clients
    errors: list[str] = []
    stop = threading.Event()

    def worker(i: int) -> None:
        with httpx2.Client(base_url=server.url, headers=headers, timeout=30) as http:
            n = 0
            while not stop.is_set():
                offset = ((n * clients + i) % pages) * limit
                r = http.get("/api/invoices", params={"limit": limit, "offset": offset})
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
                    return
                page = r.json()
                if limit == 50 and (len(page) != 50 or "invoice-lines" not in page[0]):
                    errors.append("a full page did not hold 50 invoices with lines")
                    return
                counts[i] += 1
                records[i] += len(page)
                n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"load failed: {errors[0]}")
    return {"pages_per_s": sum(counts) / elapsed, "records_per_s": sum(records) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-size", type=int, default=2000, help="invoices to serve from")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each phase")
    parser.add_argument(
        "--seed-100k", action="store_true", help="also time seeding 100,000 invoices"
    )
    args = parser.parse_args()

    print(f"starting coupa sandbox with {args.seed_size} invoices ...", flush=True)
    started = time.perf_counter()
    server = start_server(args.seed_size)
    print(
        f"  ready in {time.perf_counter() - started:.1f} s, peak RSS {server.peak_rss_mb():.0f} MB"
    )
    try:
        bearer = token(server)
        pages = max(1, args.seed_size // 50)
        # Warm-up: first-touch costs (imports, caches) are not what is measured.
        load(server, bearer, 50, 1, 0.5, pages)
        base = load(server, bearer, 1, args.clients, args.seconds, pages * 50)
        full = load(server, bearer, 50, args.clients, args.seconds, pages)
        peak = server.peak_rss_mb()
        print(f"\n{args.clients} clients, {args.seconds:g} s per phase, JSON")
        print(f"  baseline (1-record pages): {base['pages_per_s']:8.1f} pages/s")
        print(
            f"  full (50 invoices + lines): {full['pages_per_s']:7.1f} pages/s "
            f"({full['records_per_s']:.0f} invoices/s)"
        )
        print(f"  full / baseline ratio:     {full['pages_per_s'] / base['pages_per_s']:8.2f}")
        verdict = "ok" if full["pages_per_s"] >= TARGET_PAGES_PER_SECOND else "BELOW TARGET"
        print(f"  target {TARGET_PAGES_PER_SECOND:.0f} pages/s: {verdict}")
        print(f"  server peak RSS: {peak:.0f} MB")
        if args.seed_100k:
            print("\nreseeding 100,000 invoices ...", flush=True)
            result = server.admin("POST", "reset", {"seed_size": 100_000, "seed": 42})
            assert isinstance(result, dict)
            seconds = float(result["seconds"])
            verdict = "ok" if seconds < TARGET_SEED_SECONDS else "BELOW TARGET"
            print(f"  seeded in {seconds:.1f} s (target < {TARGET_SEED_SECONDS:.0f} s: {verdict})")
            print(
                f"  records: {sum(result['counts'].values())}, "
                f"server peak RSS: {server.peak_rss_mb():.0f} MB"
            )
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


if __name__ == "__main__":
    main()
