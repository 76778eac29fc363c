"""How fast the sandbox serves full pages of invoices, and how much memory it takes.

Starts ``coupa sandbox`` in a subprocess (throttle off), then measures, in the same run:

  baseline      1-invoice JSON pages (the whole stack, almost no payload)
  first fetch   50-invoice JSON pages with their lines, each page asked once (every page of
                the data in six orderings), as clients paging through data ask
  fetched again the same pages repeated (the server may answer from its page cache)

each from several concurrent clients, and prints pages/s, the server's CPU time per page (so
the server's own capacity shows even when the clients on the same machine are the limit),
the first-fetch/baseline ratio and the server's peak resident memory (VmHWM). ``--seed-100k`` also
reseeds the server with 100,000 invoices and reports the time (target: under 60 s).

    python bench/sandbox_throughput.py [--seed-size 10000] [--clients 4] [--seconds 5] [--seed-100k]

Target on a 2-core machine: at least 150 full pages/s, so that the sandbox is never the
bottleneck of a client held at Coupa's 25 requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import orjson

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def distinct_queries(pages: int) -> list[dict[str, object]]:
    """Every page of every ordering once: what clients paging through data ask for."""
    return [
        {"limit": 50, "offset": page * 50, "order_by": order, "dir": direction}
        for order in ("id", "created_at", "updated_at")
        for direction in ("asc", "desc")
        for page in range(pages)
    ]


def load(
    server: Server,
    bearer: str,
    queries: list[dict[str, object]],
    clients: int,
    seconds: float,
    *,
    cycle: bool,
) -> dict[str, float]:
    """Fetch ``queries`` from ``clients`` threads for at most ``seconds``.

    With ``cycle`` the queries repeat (the server may answer from its page cache);
    without, each is asked once and the phase ends early when they run out.
    """
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    lock = threading.Lock()
    position = 0
    done = [0] * clients
    records = [0] * clients
    errors: list[str] = []
    stop = threading.Event()

    def next_query() -> dict[str, object] | None:
        nonlocal position
        with lock:
            if position >= len(queries) and not cycle:
                return None
            query = queries[position % len(queries)]
            position += 1
            return query

    def worker(i: int) -> None:
        with httpx2.Client(base_url=server.url, headers=headers, timeout=60) as http:
            while not stop.is_set():
                query = next_query()
                if query is None:
                    return
                r = http.get("/api/invoices", params=query)  # type: ignore[arg-type]
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
                    stop.set()
                    return
                # Decode a sample only: the client's own JSON parsing must not be what is
                # measured, but every page is checked for size.
                limit = int(query["limit"])  # type: ignore[call-overload]
                if done[i] % 10 == 0:
                    page = orjson.loads(r.content)
                    if len(page) != limit or (limit == 50 and "invoice-lines" not in page[0]):
                        errors.append("a page did not hold the invoices asked for")
                        stop.set()
                        return
                done[i] += 1
                records[i] += limit

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    cpu_before = cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for t in threads:
        t.start()
    deadline = started + seconds
    while any(t.is_alive() for t in threads) and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.process.pid) - cpu_before
    if errors:
        raise SystemExit(f"load failed: {errors[0]}")
    pages = sum(done)
    return {
        "pages_per_s": pages / elapsed,
        "records_per_s": sum(records) / elapsed,
        "server_ms_per_page": 1000 * cpu / max(1, pages),
        "pages": pages,
    }


def _line(name: str, result: dict[str, float]) -> str:
    capacity = 1000 / result["server_ms_per_page"] if result["server_ms_per_page"] else 0.0
    return (
        f"  {name:<34} {result['pages_per_s']:8.1f} pages/s   "
        f"server CPU {result['server_ms_per_page']:6.2f} ms/page "
        f"(one core serves ~{capacity:.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-size", type=int, default=10_000, help="invoices to serve from")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="longest time per phase")
    parser.add_argument(
        "--seed-100k", action="store_true", help="also time reseeding 100,000 invoices"
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
        cold = distinct_queries(pages)
        one_record = [{"limit": 1, "offset": i} for i in range(200)]
        # Warm-up: first-touch costs (imports, SQLite pages) are not what is measured.
        load(server, bearer, one_record, 1, 1.0, cycle=True)
        base = load(server, bearer, one_record, args.clients, args.seconds, cycle=True)
        first = load(server, bearer, cold, args.clients, args.seconds, cycle=False)
        again = load(
            server, bearer, cold[: first["pages"] or 1], args.clients, args.seconds, cycle=True
        )
        print(f"\n{args.clients} concurrent clients, JSON, up to {args.seconds:g} s per phase")
        print(_line("baseline: 1-invoice pages", base))
        print(_line("50 invoices + lines, first fetch", first))
        print(_line("50 invoices + lines, fetched again", again))
        print(f"  first fetch / baseline ratio: {first['pages_per_s'] / base['pages_per_s']:.2f}")
        print(f"  first fetch: {first['records_per_s']:.0f} invoices/s")
        verdict = "ok" if first["pages_per_s"] >= TARGET_PAGES_PER_SECOND else "BELOW TARGET"
        print(f"  target {TARGET_PAGES_PER_SECOND:.0f} pages/s (first fetch): {verdict}")
        print(f"  server peak RSS: {server.peak_rss_mb():.0f} MB")
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
