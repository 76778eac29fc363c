"""The provider's description for Airflow's providers manager (``apache_airflow_provider``).

Plain data, no Airflow import: Airflow reads it at start-up. The connection form of
Airflow 3 comes from ``conn-fields`` and ``ui-field-behaviour`` here; Airflow 2 asks the
hook's ``get_connection_form_widgets`` and ``get_ui_field_behaviour`` instead.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "coupa"
HOOK = "coupa_connector.integrations.airflow.hooks.CoupaHook"

# The connection's extra: what each key holds, for the form and for the hook's checks.
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "scopes": {
        "label": "OAuth scopes",
        "description": "Space-separated, e.g. core.invoice.read core.invoice.write",
        "schema": {"type": ["string", "null"]},
    },
    "rate_limit": {
        "label": "Requests per second",
        "description": "The instance's budget for every task using this connection (Coupa: 25)",
        "schema": {"type": ["number", "null"], "default": 25, "minimum": 0},
    },
    "burst": {
        "label": "Burst",
        "description": "Requests allowed at once (Coupa: 20)",
        "schema": {"type": ["integer", "null"], "default": 20, "minimum": 1},
    },
    "concurrency": {
        "label": "Requests in flight",
        "description": "Per task; the pool of the instance bounds the tasks",
        "schema": {"type": ["integer", "null"], "default": 8, "minimum": 1},
    },
    "wire_format": {
        "label": "Wire format",
        "schema": {"type": ["string", "null"], "default": "json", "enum": ["json", "xml"]},
    },
    "rate_limit_backend": {
        "label": "Shared rate budget",
        "description": "redis://host:6379/0 shares the budget across workers; empty: per task",
        "schema": {"type": ["string", "null"]},
    },
    "rate_limit_fallback_share": {
        "label": "Share kept without Redis",
        "description": "Of the rate, per task, while the shared budget is unreachable",
        "schema": {"type": ["number", "null"], "default": 0.25, "minimum": 0, "maximum": 1},
    },
    "max_retries": {
        "label": "Retries per request",
        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
    },
    "timeout": {
        "label": "Timeout (s)",
        "schema": {"type": ["number", "null"], "default": 60, "minimum": 0},
    },
    "allow_http": {
        "label": "Allow plain http://",
        "description": "Only for a trusted network; loopback (the sandbox) is always allowed",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "extra"],
    "relabeling": {"host": "Instance URL", "login": "Client ID", "password": "Client secret"},
    "placeholders": {
        "host": "https://acme.coupahost.com",
        "login": "OAuth client id",
        "password": "OAuth client secret",
    },
}


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata (Airflow's ``provider_info`` schema)."""
    from coupa_connector import __version__

    return {
        "package-name": "coupa-connector",
        "name": "Coupa",
        "description": "Coupa Core REST API: hook, operators, a deferrable sensor, example DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Coupa",
                "external-doc-url": "https://compass.coupa.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Coupa",
                "python-modules": ["coupa_connector.integrations.airflow.hooks"],
            }
        ],
        "operators": [
            {
                "integration-name": "Coupa",
                "python-modules": ["coupa_connector.integrations.airflow.operators"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Coupa",
                "python-modules": ["coupa_connector.integrations.airflow.sensors"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Coupa",
                "python-modules": ["coupa_connector.integrations.airflow.triggers"],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK,
                "hook-name": "Coupa",
                "conn-fields": EXTRA_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
