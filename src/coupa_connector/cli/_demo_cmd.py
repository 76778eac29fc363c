"""``coupa demo``: the example operations against the embedded Coupa sandbox.

The example operation files are read from ``examples/`` of the source checkout when the
package runs from one (so edits there show in the demo), else from the copy shipped inside
the package (``coupa_connector/examples``); a test keeps the two identical.
"""

from __future__ import annotations

import sys
import time
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from coupa_connector.cli._ops_cmds import RichProgress, _console, results_table
from coupa_connector.cli._options import EXIT_INTERRUPTED
from coupa_connector.errors import CoupaError
from coupa_connector.operations import OpLog, Runner, RunResult, load_operation_file
from coupa_connector.operations._runner import sandbox_instance

DEMO_OPERATIONS = (
    ("invoices-to-erp.yaml", "Approved, unexported invoices -> CSV, marked exported in Coupa"),
    ("suppliers-in.yaml", "Supplier master data CSV (with bad rows) -> Coupa"),
    ("purchase-orders-to-erp.yaml", "Purchase orders -> ERP staging table in SQLite"),
)


def examples_dir() -> Path:
    """The folder of example operation files (checkout first, then the installed copy)."""
    package = Path(str(resources.files("coupa_connector")))
    checkout = package.parent.parent / "examples"
    if (checkout / DEMO_OPERATIONS[0][0]).is_file():
        return checkout
    return package / "examples"


@click.command()
@click.option(
    "--out",
    "out_dir",
    default="demo-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the outputs, rejects and the operation log.",
)
@click.option("--seed-size", type=int, default=None, help="Invoices in the sandbox's seed data.")
def demo(out_dir: str, seed_size: int | None) -> None:
    """Run the example operations against the embedded Coupa sandbox (no account needed)."""
    # Ctrl-C at any point, the sandbox still starting included, is one line and exit 130.
    try:
        _demo(out_dir, seed_size)
    except KeyboardInterrupt:
        click.echo("interrupted; run `coupa demo` again to start over", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _demo(out_dir: str, seed_size: int | None) -> None:
    from coupa_connector.client import ConnectionConfig, SecretStr
    from coupa_connector.sandbox import Sandbox

    console = _console()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    folder = examples_dir()
    log_path = out / "oplog.sqlite"
    console.print(
        Panel.fit(
            "coupa-connector demo: a local Coupa-compatible sandbox with generated data,\n"
            f"and the example operations from {escape(str(folder))}",
            title="coupa demo",
        )
    )
    started = time.monotonic()
    results: list[RunResult] = []
    sandbox = Sandbox(seed_size=seed_size, rate_limit=True)
    try:
        with console.status("starting the Coupa sandbox"):  # stopped below even if cut short
            sandbox.start()
        console.print(f"sandbox running at {sandbox.url} (Coupa's 25 requests/s limit on)")
        config = ConnectionConfig(
            url=sandbox.url,
            client_id=sandbox.client_id,
            client_secret=SecretStr(sandbox.client_secret),
        )
        variables = {"out": str(out)}
        # This sandbox's data is new: no watermark or unfinished run of an earlier demo in
        # the same folder may apply to it, so every demo shows the same results.
        instance = sandbox_instance(sandbox.url)
        with OpLog(log_path) as oplog, RichProgress(console) as progress:
            for name, _title in DEMO_OPERATIONS:
                opfile = load_operation_file(folder / name, variables)
                runner = Runner(
                    opfile, oplog=oplog, connection=config, progress=progress, instance=instance
                )
                results.extend(runner.run())
    except CoupaError as exc:
        console.print(f"[red]demo failed: {escape(str(exc))}[/]", highlight=False)
        sys.exit(2)
    finally:
        sandbox.stop()
    console.print(results_table(results, "Demo operations"))
    _explain(console, results, out, log_path, folder, time.monotonic() - started)
    if any(r.status == "failed" for r in results):
        sys.exit(2)


def _explain(
    console: Console, results: list[RunResult], out: Path, log_path: Path, folder: Path, took: float
) -> None:
    exported = sum(r.exported for r in results)
    rejected = sum(r.counts.rejected for r in results)
    console.print(f"done in {took:.1f} s; {exported} records marked exported in the sandbox")
    if rejected:
        console.print(
            f"{rejected} record(s) were rejected on purpose (bad rows in the supplier CSV): "
            "the rejects file holds each row with its reason in the _errors column"
        )
    log_shown = escape(str(log_path))
    console.print(f"\n[bold]outputs[/]:        {escape(str(out))}", highlight=False)
    console.print(f"[bold]operation log[/]:  {log_shown}", highlight=False)
    console.print(f"  coupa logs --log-db {log_shown}", highlight=False)
    console.print(f"  coupa logs <RUN_ID> --log-db {log_shown}", highlight=False)
    console.print(
        "\n[bold]The same operations against a real Coupa instance[/]:\n"
        "  export COUPA_URL=https://<your-instance>.coupahost.com\n"
        "  export COUPA_CLIENT_ID=<OAuth client id>  COUPA_CLIENT_SECRET=<its secret>\n"
        "  export COUPA_SCOPES='core.invoice.read core.invoice.write core.supplier.read "
        "core.supplier.write core.purchase_order.read'\n"
        f"  coupa run {escape(str(folder / 'invoices-to-erp.yaml'))} --var out=./erp-out "
        "--dry-run\n"
        "  (or put the settings in a profile and use --profile NAME; drop --dry-run to write)",
        highlight=False,
    )
