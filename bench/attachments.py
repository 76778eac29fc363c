"""Attachment upload and download: peak memory stays flat, throughput against plain httpx.

A sandbox runs in its own process with its files on disk (so the client's memory is the
client's alone). Each transfer then runs in a fresh client process, which reports its peak
RSS (``ru_maxrss``) and its upload and download throughput:

  connector  ``Connection.upload_attachment`` from a file, ``download_attachment`` to a file
  httpx      the baseline: plain ``httpx2`` streaming, the same multipart upload from the same
             file (``files=`` with an open file) and ``client.stream`` + ``iter_bytes`` into a
             file, same token, same sandbox

for a 1 MB and a large file (200 MB by default). The figure that matters: the connector's
peak RSS with the large file is within 30 MB of its peak with the 1 MB one.

    python bench/attachments.py [--size-mb 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 30

SERVER = """
import sys
from coupa_connector.sandbox import Sandbox
Sandbox(db=sys.argv[1], port=int(sys.argv[2]), seed_size=10,
        attachment_max_bytes=2 * 1024 ** 3).serve()
"""

CONNECTOR = """
import json, resource, sys, time
from pathlib import Path
from coupa_connector import Connection, ConnectionConfig
url, secret, source, target = sys.argv[1:5]
config = ConnectionConfig(url=url, client_id="sandbox", client_secret=secret, rate_limit=None,
                          max_file_bytes="2GiB", timeout=600)
with Connection(config) as conn:
    conn.attachments("invoices", 1)  # token and connection warm
    t0 = time.perf_counter()
    made = conn.upload_attachment("invoices", 1, Path(source))
    t1 = time.perf_counter()
    got = conn.download_attachment("invoices", 1, made, Path(target))
    t2 = time.perf_counter()
assert got.size == Path(source).stat().st_size
print(json.dumps({"up": t1 - t0, "down": t2 - t1,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

BASELINE = """
import json, resource, sys, time
import httpx2
url, secret, source, target = sys.argv[1:5]
with httpx2.Client(base_url=url, timeout=600, trust_env=False) as http:
    token = http.post("/oauth2/token", data={"grant_type": "client_credentials",
        "client_id": "sandbox", "client_secret": secret}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    http.get("/api/invoices/1/attachments", headers=headers)
    t0 = time.perf_counter()
    with open(source, "rb") as handle:
        made = http.post("/api/invoices/1/attachments", headers=headers,
                         files={"attachment[file]": ("big.bin", handle, "application/pdf")},
                         data={"attachment[type]": "file"}).json()
    t1 = time.perf_counter()
    with http.stream("GET", f"/api/invoices/1/attachments/{made['id']}", headers=headers) as r, \\
            open(target, "wb") as out:
        for part in r.iter_bytes():
            out.write(part)
    t2 = time.perf_counter()
print(json.dumps({"up": t1 - t0, "down": t2 - t1,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COUPA_PROFILE": ""}


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/currencies", timeout=2)
        except urllib.error.HTTPError:
            return  # it answers (401 without a token)
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the sandbox did not start")


def _file(folder: Path, mb: int) -> Path:
    path = folder / f"source-{mb}mb.bin"
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(mb):
            out.write(block)
    return path


def _measure(script: str, url: str, secret: str, source: Path, target: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", script, url, secret, str(source), str(target)],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    target.unlink(missing_ok=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from coupa_connector.sandbox import default_client_secret

    secret = default_client_secret(42)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(folder / "sandbox.db"), str(port)],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(url)
            rows = []
            for mb in (1, args.size_mb):
                source = _file(folder, mb)
                for name, script in (("connector", CONNECTOR), ("httpx", BASELINE)):
                    runs = [
                        _measure(script, url, secret, source, folder / "target.bin")
                        for _ in range(args.runs)
                    ]
                    rows.append(
                        {
                            "client": name,
                            "mb": mb,
                            "up_mbs": mb / statistics.median(r["up"] for r in runs),
                            "down_mbs": mb / statistics.median(r["down"] for r in runs),
                            "rss_mb": max(r["rss_kb"] for r in runs) / 1024,
                        }
                    )
                source.unlink()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{'client':<10} {'file':>7} {'upload MB/s':>12} {'download MB/s':>14} {'peak RSS MB':>12}"
    )
    for row in rows:
        print(
            f"{row['client']:<10} {row['mb']:>5}MB {row['up_mbs']:>12.1f} "
            f"{row['down_mbs']:>14.1f} {row['rss_mb']:>12.1f}"
        )
    by = {(r["client"], r["mb"]): r for r in rows}
    for client in ("connector", "httpx"):
        growth = by[(client, args.size_mb)]["rss_mb"] - by[(client, 1)]["rss_mb"]
        print(f"{client}: peak RSS {args.size_mb} MB - 1 MB transfer = {growth:+.1f} MB")
    big_c, big_h = by[("connector", args.size_mb)], by[("httpx", args.size_mb)]
    up, down = big_c["up_mbs"] / big_h["up_mbs"], big_c["down_mbs"] / big_h["down_mbs"]
    print(f"throughput vs httpx at {args.size_mb} MB: upload {up:.2f}x, download {down:.2f}x")
    growth = by[("connector", args.size_mb)]["rss_mb"] - by[("connector", 1)]["rss_mb"]
    verdict = "within" if growth <= LIMIT_MB else "NOT within"
    print(f"connector peak RSS {verdict} {LIMIT_MB} MB of the 1 MB transfer")


if __name__ == "__main__":
    main()
