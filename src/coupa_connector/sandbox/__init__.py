"""The Coupa sandbox: a local Coupa-compatible API server for tests, demos and design work.

``Sandbox`` starts it in-process on 127.0.0.1 (``with Sandbox() as sb: ...``);
``coupa sandbox`` runs it in the foreground. The sandbox is an independent implementation of
Coupa's API: it shares the catalog and the error types with the client side, nothing else.
"""

from __future__ import annotations

from coupa_connector.sandbox._auth import AuthContext, OAuthClient, all_scopes
from coupa_connector.sandbox._faults import FaultConfig, FaultRule
from coupa_connector.sandbox._server import (
    Sandbox,
    SandboxSettings,
    build_sandbox_app,
    default_api_key,
    default_client_secret,
)

__all__ = [
    "AuthContext",
    "FaultConfig",
    "FaultRule",
    "OAuthClient",
    "Sandbox",
    "SandboxSettings",
    "all_scopes",
    "build_sandbox_app",
    "default_api_key",
    "default_client_secret",
]
