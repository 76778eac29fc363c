"""How fast the sandbox serves full pages of invoices, and how much memory it takes.

Starts ``coupa sandbox`` in a subprocess (throttle off), then measures, in the same run:

  baseline       1-invoice JSON pages (the whole stack, almost no payload)
  new invoices   50-invoice JSON pages with their lines in id order, each asked once: every
                 invoice is rendered for the first time (the target applies here)
  new pages      the same invoices in the five other orderings, each page asked once: new
                 pages of records the server has rendered before
  fetched again  pages asked before, repeated

each from several concurrent client processes. The clients keep their connections open and
read each page's bytes without decoding them (every 20th page is decoded and checked), so
that on a 2-core machine as little of the CPU as possible goes to them: the figure is the
server's. It prints pages/s, the server's CPU time per page and the rate one core could serve
at that cost, the bytes per page and the server's CPU time per MB served (pages grow as
records carry more fields: the per-MB cost compares like with like), the new-invoices/
baseline ratio and the server's resident memory (VmRSS, and the peak, VmHWM).
``--seed-100k`` also reseeds the server with 100,000 invoices, reports the time (target:
under 60 s) and the memory after it, and serves new invoices from that data.

    python bench/sandbox_throughput.py [--seed-size 10000] [--clients 4] [--seconds 5] [--seed-100k]

Target on a 2-core machine: at least 150 pages/s of new invoices, so that the sandbox is
never the bottleneck of a client held at Coupa's 25 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.parse
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

    def _status_mb(self, key: str) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

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


def _client(
    url: str,
    bearer: str,
    queries: list[dict[str, object]],
    cycle: bool,
    deadline: float,
    position: multiprocessing.sharedctypes.Synchronized[int],
    results: multiprocessing.queues.Queue[tuple[int, int, int, str]],
) -> None:
    """One client process: take the next query, fetch it over a kept-alive connection."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    pages = records = size = 0
    error = ""
    try:
        while time.monotonic() < deadline:
            with position.get_lock():
                index = position.value
                position.value += 1
            if index >= len(queries) and not cycle:
                break
            query = queries[index % len(queries)]
            conn.request("GET", "/api/invoices?" + urllib.parse.urlencode(query), headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                error = f"{response.status}: {body[:200]!r}"
                break
            limit = int(str(query["limit"]))
            # Decode a sample only: the client's own JSON parsing must not be what is
            # measured, but pages are checked for what they hold.
            if pages % 20 == 0:
                page = orjson.loads(body)
                if len(page) != limit or (limit == 50 and "invoice-lines" not in page[0]):
                    error = "a page did not hold the invoices asked for"
                    break
            pages += 1
            records += limit
            size += len(body)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        results.put((pages, records, size, error))


def load(
    server: Server,
    bearer: str,
    queries: list[dict[str, object]],
    clients: int,
    seconds: float,
    *,
    cycle: bool,
) -> dict[str, float]:
    """Fetch ``queries`` from ``clients`` processes for at most ``seconds``.

    With ``cycle`` the queries repeat (the server may answer from its page cache);
    without, each is asked once and the phase ends early when they run out.
    """
    context = multiprocessing.get_context("fork")
    position = context.Value("q", 0)
    results: multiprocessing.queues.Queue[tuple[int, int, int, str]] = context.Queue()
    cpu_before = cpu_seconds(server.process.pid)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    workers = [
        context.Process(
            target=_client,
            args=(server.url, bearer, queries, cycle, deadline, position, results),
        )
        for _ in range(clients)
    ]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=seconds + 120) for _ in workers]
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.process.pid) - cpu_before
    for w in workers:
        w.join()
    errors = [e for _, _, _, e in outcomes if e]
    if errors:
        raise SystemExit(f"load failed: {errors[0]}")
    pages = sum(p for p, _, _, _ in outcomes)
    size = sum(b for _, _, b, _ in outcomes)
    return {
        "pages_per_s": pages / elapsed,
        "records_per_s": sum(r for _, r, _, _ in outcomes) / elapsed,
        "server_ms_per_page": 1000 * cpu / max(1, pages),
        "server_cpu_share": cpu / elapsed,
        "pages": pages,
        # Pages grow as records carry more fields: the cost per byte compares like with like.
        "kb_per_page": size / 1024 / max(1, pages),
        "server_ms_per_mb": 1000 * cpu / max(1e-9, size / 1024 / 1024),
    }


def _line(name: str, result: dict[str, float]) -> str:
    capacity = 1000 / result["server_ms_per_page"] if result["server_ms_per_page"] else 0.0
    return (
        f"  {name:<34} {result['pages_per_s']:8.1f} pages/s   "
        f"server CPU {result['server_ms_per_page']:6.2f} ms/page "
        f"(one core serves ~{capacity:.0f}/s; server busy {100 * result['server_cpu_share']:.0f}%)"
        f"  {result['kb_per_page']:5.0f} kB/page, {result['server_ms_per_mb']:.2f} ms/MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-size", type=int, default=10_000, help="invoices to serve from")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
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
        one_record: list[dict[str, object]] = [{"limit": 1, "offset": i} for i in range(200)]
        # Warm-up: first-touch costs (imports, SQLite pages) are not what is measured.
        load(server, bearer, one_record, 1, 1.0, cycle=True)
        base = load(server, bearer, one_record, args.clients, args.seconds, cycle=True)
        # The first ordering meets every invoice for the first time; the other orderings
        # ask for new pages of invoices the server has rendered before.
        new = load(server, bearer, cold[:pages], args.clients, args.seconds, cycle=False)
        other = load(server, bearer, cold[pages:], args.clients, args.seconds, cycle=False)
        again = load(
            server, bearer, cold[: int(new["pages"]) or 1], args.clients, args.seconds, cycle=True
        )
        print(
            f"\n{args.clients} concurrent client processes, JSON, up to {args.seconds:g} s a phase"
        )
        print(_line("baseline: 1-invoice pages", base))
        print(_line("50 invoices + lines, new invoices", new))
        print(_line("50 invoices + lines, new pages", other))
        print(_line("50 invoices + lines, fetched again", again))
        print(f"  new invoices / baseline ratio: {new['pages_per_s'] / base['pages_per_s']:.2f}")
        print(f"  new invoices: {new['records_per_s']:.0f} invoices/s")
        verdict = "ok" if new["pages_per_s"] >= TARGET_PAGES_PER_SECOND else "BELOW TARGET"
        print(f"  target {TARGET_PAGES_PER_SECOND:.0f} pages/s (new invoices): {verdict}")
        print(f"  server RSS: {server.rss_mb():.0f} MB, peak {server.peak_rss_mb():.0f} MB")
        if args.seed_100k:
            print("\nreseeding 100,000 invoices ...", flush=True)
            result = server.admin("POST", "reset", {"seed_size": 100_000, "seed": 42})
            assert isinstance(result, dict)
            seconds = float(result["seconds"])
            verdict = "ok" if seconds < TARGET_SEED_SECONDS else "BELOW TARGET"
            print(f"  seeded in {seconds:.1f} s (target < {TARGET_SEED_SECONDS:.0f} s: {verdict})")
            print(
                f"  records: {sum(result['counts'].values())}, "
                f"server RSS {server.rss_mb():.0f} MB, peak {server.peak_rss_mb():.0f} MB"
            )
            big = distinct_queries(100_000 // 50)[: 100_000 // 50]
            new = load(server, bearer, big, args.clients, args.seconds, cycle=False)
            print(_line("100,000 invoices: new invoices", new))
            print(f"  server RSS: {server.rss_mb():.0f} MB, peak {server.peak_rss_mb():.0f} MB")
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


if __name__ == "__main__":
    main()
