"""What the operations' end-to-end tests share: a connection to their own sandbox."""

from __future__ import annotations

from typing import Any

from coupa_connector import Connection
from coupa_connector.client import ConnectionConfig, SecretStr
from coupa_connector.sandbox import Sandbox


def config_for(sandbox: Sandbox) -> ConnectionConfig:
    """A connection to ``sandbox`` with no client-side rate limit."""
    return ConnectionConfig(
        url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=SecretStr(sandbox.client_secret),
        rate_limit=None,
    )


def query(sandbox: Sandbox, obj: str, **options: Any) -> list[dict[str, Any]]:
    """Every record of a query, over a connection of its own."""
    with Connection(config_for(sandbox)) as conn:
        return conn.query_all(obj, **options)
