"""The operations console: a local web app for runs, failures, debug logs and the catalog.

``coupa console`` serves it on 127.0.0.1 with a random access token in the URL it prints.
From Python::

    from coupa_connector.console import ConsoleServer, ConsoleSettings

    with ConsoleServer(ConsoleSettings(log_db=Path("oplog.sqlite"), port=0)) as console:
        print(console.url)
"""

from __future__ import annotations

from coupa_connector.console._app import ConsoleServer, build_console_app, is_loopback
from coupa_connector.console._context import ConsoleSettings

__all__ = ["ConsoleServer", "ConsoleSettings", "build_console_app", "is_loopback"]
