"""What the console's tests share: an operation log filled by real runs against a sandbox.

``fill_log`` runs, over HTTP against a real sandbox: a success (with a debug log), a partial
run with rejects (one holding ``<script>`` and a planted password), a failure (a wrong
secret) that chains to a report, a run with ``coupa_monitoring`` (an integration run in the
sandbox, with an integration error for its rejected record), a download of attachments
(a manifest, a file named with HTML, a file that fails on every attempt), and one run left
in progress: ``coupa run`` in a process of its own, against an embedded sandbox slowed by a
latency fault, until ``stop``. ``coupa_profiles`` writes the config file the console reads
Coupa through.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _operations_support import config_for
from coupa_connector import Connection
from coupa_connector.client import ConnectionConfig, RetryPolicy, SecretStr
from coupa_connector.operations import OpLog, Runner, load_operation_file
from coupa_connector.sandbox import Sandbox

PLANTED_RECORD_SECRET = "PLANTED-RECORD-SECRET-7f3a91"
SCRIPT = "<script>window.__xss = 1</script>"

SUPPLIERS = """
connection: {env: true}
vars: {out: out}
operations:
  suppliers-in:
    source: {type: file, path: suppliers.csv}
    transform:
      mapping: {number: number, name: name, status: status}
    target: {type: coupa.create, object: suppliers}
    batch_size: 2
    debug: true
    rejects: ${out}/suppliers-rejects.csv
"""

USERS = """
connection: {env: true}
vars: {out: out}
operations:
  users-in:
    source: {type: file, path: users.csv}
    transform:
      mapping:
        login: login
        email: email
        firstname: firstname
        lastname: lastname
        password: password
    target: {type: coupa.create, object: users}
    debug: true
    rejects: ${out}/users-rejects.csv
"""

INVOICES = """
connection: {env: true}
vars: {out: out}
operations:
  invoices-out:
    source: {type: coupa.query, object: invoices, where: status=approved}
    target: {type: file, path: "${out}/invoices.jsonl"}
    on_failure: [report]
  report:
    source: {type: file, path: report.csv}
    target: {type: file, path: "${out}/report.jsonl"}
"""

MONITORED = """
connection: {env: true}
vars: {out: out, code: X}
operations:
  suppliers-monitored:
    coupa_monitoring: {integration: "${code}", history: errors}
    source: {type: file, path: monitored.csv}
    transform:
      mapping: {number: number, name: name, status: status}
    target: {type: coupa.create, object: suppliers}
    rejects: ${out}/monitored-rejects.csv
"""

ATTACHMENTS = """
connection: {env: true}
vars: {out: out}
operations:
  invoice-files:
    source:
      type: coupa.attachments
      object: invoices
      where: id<=40
      kinds: [attachments, scan]
      download_to: ${out}/files
    transform:
      mapping: {invoice: parent-number, kind: kind, name: file-file-name, path: path}
    target: {type: file, path: "${out}/files.jsonl"}
    rejects: ${out}/files-rejects.jsonl
"""
# An attachment name that is HTML which would run if a page rendered it as HTML.
HTML_NAME = "<img src=x onerror=window.__xss=2>.txt"
BROKEN_NAME = "always-cut-short.pdf"

SLOW = """
connection:
  sandbox: {latency_ms: 400, seed_size: 10}
operations:
  slow-suppliers:
    source: {type: file, path: slow.csv}
    transform:
      mapping: {number: number, name: name}
    target: {type: coupa.create, object: suppliers}
    batch_size: 1
"""

# For the operations page: one that runs (file -> file), one with problems, one with a secret.
OPS_FILES = {
    "copy-rows.yaml": """
        description: Rows of a CSV file copied to JSON lines.
        vars: {out: out}
        operations:
          copy-rows:
            source: {type: file, path: rows.csv}
            target: {type: file, path: "${out}/rows.jsonl"}
            rejects: ${out}/rows-rejects.csv
    """,
    "broken.yaml": """
        operations:
          broken:
            source: {type: file}
            target: {type: nowhere, path: x.csv}
    """,
    "with-secret.yaml": """
        connection: {url: "http://127.0.0.1:1", client_id: x, client_secret: hunter2-in-a-file}
        operations:
          q:
            source: {type: coupa.query, object: invoices}
            target: {type: file, path: out.jsonl}
    """,
}


@dataclass
class FilledLog:
    """The log and what the tests look for in it."""

    log_db: Path
    ops_dir: Path
    out: Path
    success: int = 0
    partial: int = 0
    failed: int = 0
    chained: int = 0
    running: int = 0
    monitored: int = 0
    integration: str = ""
    downloaded: int = 0
    secrets: list[str] = field(default_factory=list)
    slow: subprocess.Popen[bytes] | None = None
    sandbox: Sandbox | None = field(default=None, repr=False)

    def __enter__(self) -> FilledLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """End the run left in progress (and wait for it)."""
        if self.slow is not None and self.slow.poll() is None:
            self.slow.terminate()
            try:
                self.slow.wait(30)
            except subprocess.TimeoutExpired:
                self.slow.kill()
                self.slow.wait()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _run(
    path: Path,
    log: OpLog,
    config: ConnectionConfig,
    out: Path,
    values: Mapping[str, str] | None = None,
) -> list[int]:
    opfile = load_operation_file(path, {"out": str(out), **(values or {})})
    results = Runner(opfile, oplog=log, connection=config, debug_dir=out / "debug").run()
    return [r.run_id for r in results]


def _download(folder: Path, sandbox: Sandbox, log_db: Path, out: Path) -> int:
    """The attachments run: invoices 1-40's files (two pages of manifest), one named with
    HTML, one always cut short (retried once, then a failed record with its reason)."""
    config = config_for(sandbox)
    with Connection(config) as conn:
        conn.upload_attachment("invoices", 1, b"named with html", filename=HTML_NAME)
        broken = conn.upload_attachment("invoices", 2, b"%PDF-1.4 cut" * 50, filename=BROKEN_NAME)
    sandbox.set_faults(methods=["GET"], path=rf"/attachments/{broken.id}$", short_rate=1.0)
    quick = dataclasses.replace(config, max_retries=1, retry=RetryPolicy(backoff_base=0.01))
    try:
        with OpLog(log_db) as log:
            [run_id] = _run(_write(folder, "attachments.yaml", ATTACHMENTS), log, quick, out)
    finally:
        sandbox.clear_faults()
    return run_id


@contextmanager
def coupa_profiles(facts: FilledLog) -> Iterator[Path]:
    """A config file with a profile that reaches the sandbox of the log's runs (``console``)
    and one whose host is closed (``gone``), in ``COUPA_CONFIG_FILE`` while the block runs."""
    sandbox = facts.sandbox
    assert sandbox is not None
    config = facts.log_db.parent / "config.toml"
    config.write_text(
        f"[profiles.console]\nurl = {sandbox.url!r}\nclient_id = {sandbox.client_id!r}\n"
        f"client_secret = {sandbox.client_secret!r}\n"
        "[profiles.gone]\nurl = 'http://127.0.0.1:1'\nclient_id = 'x'\n"
        "client_secret = 'gone-secret-never-shown'\n"
    )
    before = os.environ.get("COUPA_CONFIG_FILE")
    os.environ["COUPA_CONFIG_FILE"] = str(config)
    try:
        yield config
    finally:
        if before is None:
            os.environ.pop("COUPA_CONFIG_FILE", None)
        else:
            os.environ["COUPA_CONFIG_FILE"] = before


def fill_log(folder: Path, sandbox: Sandbox) -> FilledLog:
    """Fill ``folder/oplog.sqlite`` with the four kinds of run (see the module doc)."""
    stamp = f"{time.time_ns() % 10**9}"
    out = folder / "out"
    ops = folder / "ops"
    ops.mkdir(parents=True)
    for name, text in OPS_FILES.items():
        _write(ops, name, text)
    (ops / "rows.csv").write_text("number,amount\nA,1\nB,2\n")
    facts = FilledLog(
        folder / "oplog.sqlite", ops, out, secrets=[PLANTED_RECORD_SECRET], sandbox=sandbox
    )
    config = config_for(sandbox)
    facts.secrets.append(sandbox.client_secret)
    _write(
        folder,
        "suppliers.csv",
        "number,name,status\n"
        + "".join(f"CON-{stamp}-{i},Console Supplier {i},active\n" for i in range(5)),
    )
    _write(
        folder,
        "users.csv",
        "login,email,firstname,lastname,password\n"
        f"con{stamp}a,con{stamp}a@example.com,Ada,Lovelace,{PLANTED_RECORD_SECRET}\n"
        f"con{stamp}b,,{SCRIPT},NoEmail,{PLANTED_RECORD_SECRET}\n"
        f"con{stamp}c,,Grace,NoEmailEither,{PLANTED_RECORD_SECRET}\n",
    )
    _write(folder, "report.csv", "what\ninvoices-out failed\n")
    _write(folder, "slow.csv", "number,name\n" + "".join(f"S-{i},Slow {i}\n" for i in range(400)))
    bad = ConnectionConfig(
        url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=SecretStr("wrong-secret"),
        rate_limit=None,
    )
    with OpLog(facts.log_db) as log:
        [facts.success] = _run(_write(folder, "suppliers.yaml", SUPPLIERS), log, config, out)
        [facts.partial] = _run(_write(folder, "users.yaml", USERS), log, config, out)
        facts.failed, facts.chained = _run(_write(folder, "invoices.yaml", INVOICES), log, bad, out)
    facts.integration = f"CONSOLE-{stamp}"
    _write(
        folder,
        "monitored.csv",
        "number,name,status\n"
        + "".join(f"MON-{stamp}-{i},Monitored {i},active\n" for i in range(3))
        + f"MON-{stamp}-x,Monitored sideways,sideways\n",
    )
    with OpLog(facts.log_db) as log:
        [facts.monitored] = _run(
            _write(folder, "monitored.yaml", MONITORED),
            log,
            config,
            out,
            {"code": facts.integration},
        )
    facts.downloaded = _download(folder, sandbox, facts.log_db, out)
    slow = _write(folder, "slow.yaml", SLOW)
    facts.slow = subprocess.Popen(
        [sys.executable, "-m", "coupa_connector", "run", str(slow), "--log-db", str(facts.log_db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COUPA_LOG_LEVEL": "WARNING"},
    )
    deadline = time.monotonic() + 60
    with OpLog(facts.log_db) as log:
        while time.monotonic() < deadline:
            runs, _ = log.find_runs(status="running")
            if runs and runs[0]["read"] >= 1:
                facts.running = int(runs[0]["id"])
                break
            if facts.slow.poll() is not None:
                break
            time.sleep(0.2)
    if not facts.running:
        facts.stop()
        raise AssertionError("the slow run did not start")
    return facts
