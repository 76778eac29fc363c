"""The connection settings the tap and the target share, and the ``ConnectionConfig`` they
make: the config's ``url``/``client_id``/``client_secret``/``scopes``, else a ``profile`` of
the config file, else the ``COUPA_*`` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

from coupa_connector import ConnectionConfig, SecretStr

CONNECTION_SETTINGS = (
    th.Property("url", th.StringType, description="Instance URL (https://acme.coupahost.com)."),
    th.Property("client_id", th.StringType, description="OAuth 2.0 client id."),
    th.Property(
        "client_secret", th.StringType, secret=True, description="OAuth 2.0 client secret."
    ),
    th.Property("scopes", th.StringType, description="OAuth scopes, space separated."),
    th.Property(
        "profile",
        th.StringType,
        description="A profile of ~/.config/coupa-connector/config.toml, instead of the above.",
    ),
    th.Property(
        "rate_limit",
        th.NumberType,
        description="Requests per second for the whole run (default 25, Coupa's budget).",
    ),
)


def connection_config(config: Mapping[str, Any]) -> ConnectionConfig:
    """The connection the settings describe.

    Raises:
        ConfigurationError: The settings cannot make a connection (the message says why).
    """
    extra: dict[str, Any] = {}
    if config.get("rate_limit") is not None:
        extra["rate_limit"] = float(config["rate_limit"]) or None
    if config.get("url"):
        secret = config.get("client_secret")
        scopes = config.get("scopes") or ""
        return ConnectionConfig(
            url=str(config["url"]),
            client_id=config.get("client_id"),
            client_secret=SecretStr(str(secret)) if secret else None,
            scopes=tuple(str(scopes).split()),
            **extra,
        )
    if config.get("profile"):
        base = ConnectionConfig.from_profile(str(config["profile"]))
    else:
        base = ConnectionConfig.from_env()
    if not extra:
        return base
    from dataclasses import replace

    return replace(base, **extra)
