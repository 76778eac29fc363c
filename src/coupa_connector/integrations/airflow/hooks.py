"""``CoupaHook``: an Airflow connection of type ``coupa`` as a coupa-connector ``Connection``.

The connection's host is the instance URL, its login the OAuth client id, its password the
client secret; its extra holds the rest (``_provider.EXTRA_FIELDS``: scopes, rate,
concurrency, wire format, the shared rate budget...). Nothing here talks to Coupa or reads
the connection until a task runs: building a hook at DAG parse time costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from coupa_connector import AsyncConnection, ConfigurationError, Connection, ConnectionConfig
from coupa_connector.integrations.airflow._compat import BaseHook, mask_secret
from coupa_connector.integrations.airflow._provider import (
    CONN_TYPE,
    EXTRA_FIELDS,
    UI_FIELD_BEHAVIOUR,
)

DEFAULT_CONN_ID = "coupa_default"


def config_from_airflow(conn: Any, **overrides: Any) -> ConnectionConfig:
    """A ``ConnectionConfig`` from an Airflow ``Connection`` (host, login, password, extra).

    Raises:
        ConfigurationError: No host, an unknown extra key or a bad value (named).
    """
    host = (conn.host or "").strip()
    if not host:
        raise ConfigurationError(
            f"Airflow connection {conn.conn_id!r}: host must be the Coupa instance URL"
        )
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    if conn.port and not urlsplit(host).port:
        parts = urlsplit(host)
        host = f"{parts.scheme}://{parts.hostname}:{conn.port}{parts.path}"
    extra = _extra(conn)
    unknown = sorted(set(extra) - set(EXTRA_FIELDS) - {"api_key"})
    if unknown:
        raise ConfigurationError(
            f"Airflow connection {conn.conn_id!r}: unknown extra {', '.join(unknown)}; "
            f"known: {', '.join(sorted(EXTRA_FIELDS))}"
        )
    settings: dict[str, Any] = {k: v for k, v in extra.items() if v not in (None, "")}
    backend = settings.get("rate_limit_backend")
    if isinstance(backend, str) and urlsplit(backend).password:
        mask_secret(urlsplit(backend).password)  # Airflow's task logs hide it too
    settings.update(overrides)
    return ConnectionConfig(
        url=host,
        client_id=conn.login or None,
        client_secret=conn.password or None,
        **settings,
    )


def _extra(conn: Any) -> Mapping[str, Any]:
    raw = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
    if not isinstance(raw, Mapping):
        raise ConfigurationError(
            f"Airflow connection {conn.conn_id!r}: extra must be a JSON object"
        )
    return raw


class CoupaHook(BaseHook):
    """Talk to one Coupa instance through an Airflow connection of type ``coupa``.

    Args:
        coupa_conn_id: The Airflow connection.
        **overrides: ``ConnectionConfig`` settings that win over the connection's
            (``concurrency=4``...).
    """

    conn_name_attr = "coupa_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Coupa"

    def __init__(self, coupa_conn_id: str = DEFAULT_CONN_ID, **overrides: Any) -> None:
        super().__init__()
        self.coupa_conn_id = coupa_conn_id
        self.overrides = overrides

    def get_config(self) -> ConnectionConfig:
        """The connection's settings (reads the Airflow connection; no request to Coupa)."""
        return config_from_airflow(self.get_connection(self.coupa_conn_id), **self.overrides)

    async def aget_config(self) -> ConnectionConfig:
        """``get_config`` for triggers, which run in the triggerer's event loop."""
        getter = getattr(BaseHook, "aget_connection", None)
        if getter is not None:  # Airflow 3
            conn = await getter(self.coupa_conn_id)
        else:  # Airflow 2
            from asgiref.sync import sync_to_async

            conn = await sync_to_async(self.get_connection)(self.coupa_conn_id)
        return config_from_airflow(conn, **self.overrides)

    def get_conn(self) -> Connection:
        """A coupa-connector ``Connection`` (use ``with``); the first request authenticates."""
        return Connection(self.get_config())

    async def aget_conn(self) -> AsyncConnection:
        """An ``AsyncConnection`` (use ``async with``), for triggers."""
        return AsyncConnection(await self.aget_config())

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: host, token and one read per scope."""
        try:
            with self.get_conn() as conn:
                report = conn.test()
        except Exception as exc:  # the UI shows the reason, whatever it is
            return False, str(exc)
        failed = [c for c in report.checks if not c.ok]
        if failed:
            return False, "; ".join(f"{c.check}: {c.detail}" for c in failed)
        return True, f"{len(report.checks)} checks passed"

    # ------------------------------------------------------------- Airflow 2's form

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Airflow 2's form fields for the extra (Airflow 3 reads ``conn-fields``)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, StringField

        widgets: dict[str, Any] = {}
        for name, spec in EXTRA_FIELDS.items():
            types = spec["schema"]["type"]
            if "boolean" in types:
                widgets[name] = BooleanField(lazy_gettext(spec["label"]), default=False)
            else:
                widgets[name] = StringField(
                    lazy_gettext(spec["label"]),
                    widget=BS3TextFieldWidget(),
                    description=spec.get("description", ""),
                )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow 2's relabelled and hidden fields (Airflow 3 reads ``ui-field-behaviour``)."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }
