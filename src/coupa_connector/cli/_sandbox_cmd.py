"""``coupa sandbox``: run the local Coupa-compatible API server in the foreground."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import click

from coupa_connector.cli._options import SetupError
from coupa_connector.errors import ConfigurationError

_LIST_SETTINGS = {"methods", "error_statuses"}


def _parse_faults(values: tuple[str, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected SETTING=VALUE", param_hint="--fault")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if key in _LIST_SETTINGS and not isinstance(value, list):
            value = [v.strip() for v in str(value).split(",") if v.strip()]
            if key == "error_statuses":
                value = [int(v) if v.isdigit() else v for v in value]
        settings[key] = value
    return settings


def _parse_client(value: str) -> dict[str, Any]:
    parts = value.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise click.BadParameter(
            f"{value!r}: expected ID:SECRET or ID:SECRET:SCOPE,SCOPE", param_hint="--client"
        )
    scopes = parts[2].replace(",", " ").split() if len(parts) == 3 else []
    return {"client_id": parts[0], "client_secret": parts[1], "scopes": scopes}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite file that keeps the data across restarts (default: in memory).",
)
@click.option(
    "--seed-size",
    type=click.IntRange(min=0),
    help="Invoices to generate (default: a small data set).",
)
@click.option("--seed", default=42, show_default=True, help="Seed of the data and credentials.")
@click.option(
    "--rate-limit/--no-rate-limit",
    default=True,
    show_default=True,
    help="Throttle like Coupa: 429 with Retry-After over the rate.",
)
@click.option("--rate", default=25.0, show_default=True, help="Requests per second per client.")
@click.option("--burst", default=20, show_default=True, help="Requests a client may burst.")
@click.option(
    "--token-ttl",
    default=86399,
    show_default=True,
    type=click.IntRange(min=1),
    help="Access token lifetime in seconds.",
)
@click.option("--api-key-mode", is_flag=True, help="Also accept the legacy X-COUPA-API-KEY.")
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delay added to every API request.",
)
@click.option(
    "--body-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the rest of a request body before answering 408.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SETTING=VALUE",
    help="A fault setting, repeatable: error_rate=0.1, drop_count=2, methods=POST,PUT, seed=7 ...",
)
@click.option(
    "--client",
    "clients",
    multiple=True,
    metavar="ID:SECRET[:SCOPES]",
    help="Another OAuth client with comma-separated scopes (repeatable).",
)
@click.option("--client-id", default="sandbox", show_default=True, help="The default client.")
@click.option(
    "--client-secret",
    envvar="COUPA_SANDBOX_CLIENT_SECRET",
    help="The default client's secret (default: derived from --seed).",
)
@click.option(
    "--admin-secret",
    envvar="COUPA_SANDBOX_ADMIN_SECRET",
    help="Secret of the /__sandbox__/ admin API (default: random).",
)
def sandbox(
    host: str,
    port: int,
    db: str | None,
    seed_size: int | None,
    seed: int,
    rate_limit: bool,
    rate: float,
    burst: int,
    token_ttl: int,
    api_key_mode: bool,
    latency_ms: int,
    body_timeout: float,
    faults: tuple[str, ...],
    clients: tuple[str, ...],
    client_id: str,
    client_secret: str | None,
    admin_secret: str | None,
) -> None:
    """Run a local Coupa-compatible API server until Ctrl-C.

    Prints the base URL and ready-to-use credentials as shell `export` lines.
    """
    from coupa_connector.sandbox import FaultConfig, Sandbox
    from coupa_connector.sandbox._admin import AdminError, client_from_dict

    try:
        fault_config = FaultConfig.from_dict(_parse_faults(faults)) if faults else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    try:
        extra = tuple(client_from_dict(_parse_client(c)) for c in clients)
    except AdminError as exc:
        raise click.BadParameter(exc.message, param_hint="--client") from None

    click.echo("Seeding the Coupa sandbox...", err=True)
    try:
        server = Sandbox(
            db=db,
            seed_size=seed_size,
            seed=seed,
            rate_limit=rate_limit,
            token_ttl=token_ttl,
            api_key_mode=api_key_mode,
            latency_ms=latency_ms,
            body_timeout=body_timeout,
            host=host,
            port=port,
            rate=rate,
            burst=burst,
            faults=fault_config,
            clients=extra,
            client_id=client_id,
            client_secret=client_secret,
            admin_secret=admin_secret,
        )
        server.bind()
    except ConfigurationError as exc:
        raise SetupError(str(exc)) from None

    throttle = f"{rate:g} requests/s, burst {burst}" if rate_limit else "off"
    click.echo(f"Coupa sandbox on {server.url} (rate limit: {throttle})", err=True)
    lines = [
        f"export COUPA_URL={shlex.quote(server.url)}",
        f"export COUPA_CLIENT_ID={shlex.quote(server.client_id)}",
        f"export COUPA_CLIENT_SECRET={shlex.quote(server.client_secret)}",
        f"export COUPA_SCOPES={shlex.quote(' '.join(server.scopes))}",
    ]
    if api_key_mode:
        lines.append(f"export COUPA_API_KEY={shlex.quote(server.api_key)}")
    lines.append(f"export COUPA_SANDBOX_ADMIN_SECRET={shlex.quote(server.admin_secret)}")
    click.echo("\n".join(lines))
    sys.stdout.flush()
    click.echo(
        f'Admin API: curl -H "X-Sandbox-Admin: $COUPA_SANDBOX_ADMIN_SECRET" '
        f"{server.url}/__sandbox__/stats\nPress Ctrl-C to stop.",
        err=True,
    )
    server.serve()
