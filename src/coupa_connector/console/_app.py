"""The console's ASGI app and ``ConsoleServer``, which serves it on a loopback port.

Routes (every one behind ``Guard``: the access token, the host check, CSRF):

    /                         runs, filtered and paged          _runs
    /runs/{id}                one run: counts, timeline, failures
    /runs/{id}/log            its debug log, searchable
    /runs/{id}/rejects        the rejects file (download)
    /runs/{id}/coupa          its integration run and errors, as Coupa holds them  _coupa
    /charts                   records and durations over time
    /operations               operation files and their validation   _ops
    /operations/{file}        one file: problems, the run form
    /jobs/{id}                a run started here, followed live
    /integrations             an integration's runs and errors in Coupa  _coupa
    /catalog, /catalog/{obj}  objects, fields, JSON Schemas      _catalog
    /connection               the connection test                _connection
    /static/...               the page script and style sheet
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from coupa_connector.console._catalog import catalog_page, object_page, schema_json
from coupa_connector.console._connection import connection_page, test_connection
from coupa_connector.console._context import ConsoleContext, ConsoleSettings
from coupa_connector.console._coupa import coupa_run_page, integrations_page
from coupa_connector.console._guard import Guard
from coupa_connector.console._ops import job_page, operation_page, operations_page, start_run
from coupa_connector.console._runs import charts_page, debug_log_page, download, run_page, runs_page
from coupa_connector.errors import ConfigurationError

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ConsoleServer", "build_console_app", "is_loopback"]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address (or ``localhost``) only this machine can reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_console_app(settings: ConsoleSettings) -> Guard:
    """The console as an ASGI app, behind its guard."""
    ctx = ConsoleContext(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        ctx.close()

    static = StaticFiles(directory=str(resources.files("coupa_connector.console") / "static"))
    app = Starlette(
        routes=[
            Route("/", runs_page),
            Route("/runs/{run_id}", run_page),
            Route("/runs/{run_id}/log", debug_log_page),
            Route("/runs/{run_id}/log/download", download),
            Route("/runs/{run_id}/rejects", download),
            Route("/runs/{run_id}/coupa", coupa_run_page),
            Route("/charts", charts_page),
            Route("/operations", operations_page),
            Route("/operations/{name}", operation_page),
            Route("/operations/{name}/start", start_run, methods=["POST"]),
            Route("/jobs/{job_id}", job_page),
            Route("/integrations", integrations_page),
            Route("/catalog", catalog_page),
            Route("/catalog/{name}", object_page),
            Route("/catalog/{name}/schema/{use}", schema_json),
            Route("/connection", connection_page),
            Route("/connection/test", test_connection, methods=["POST"]),
            Mount("/static", app=static, name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    hosts = {*_LOOPBACK_NAMES, settings.host} if is_loopback(settings.host) else {settings.host}
    return Guard(app, token=settings.token, hosts=hosts)


class ConsoleServer:
    """The console served by uvicorn, in a background thread (``start``) or in front (``serve``).

    Args:
        settings: How it is set up; ``port=0`` picks a free port (``url`` tells which).
    """

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.port = settings.port
        self.app = build_console_app(settings)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def url(self) -> str:
        """The URL to open: it carries the access token."""
        return f"{self.base_url}/?token={self.settings.token}"

    def bind(self) -> None:
        """Open the listening socket (``start`` and ``serve`` do this)."""
        if self._socket is not None:
            return
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.settings.host, self.settings.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f"Cannot listen on {self.settings.host}:{self.settings.port}: {exc.strerror or exc}"
            ) from None
        self._socket = sock
        self.port = sock.getsockname()[1]

    def _uvicorn(self) -> uvicorn.Server:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            server_header=False,
            timeout_graceful_shutdown=2,
            log_config=None,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 30.0) -> ConsoleServer:
        """Serve in a background thread; returns once it answers."""
        self.bind()
        server = self._uvicorn()
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True, name="coupa-console"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigurationError(f"The console did not start on {self.base_url}.")
            time.sleep(0.01)
        return self

    def serve(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        self.bind()
        assert self._socket is not None
        self._server = self._uvicorn()
        try:
            self._server.run(sockets=[self._socket])
        except KeyboardInterrupt:
            pass
        finally:
            self._close_socket()

    def stop(self) -> None:
        """Stop serving (and the runs it started)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._server = None
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
