"""A sandbox whose ``/api`` is a tiny app of its own, to test the server's outer layers
(auth, throttle, faults, admin, stats) apart from the Coupa API behind them."""

from __future__ import annotations

import atexit
import functools
import json
from typing import Any

import httpx2

from coupa_connector.sandbox import Sandbox
from coupa_connector.sandbox._server import SandboxApp, build_sandbox_app

TINY_SCOPES = ("core.common.read", "core.common.write", "core.invoice.read")


class TinyStore:
    """Things in a dict; ``reset`` reseeds ``seed_size`` of them (3 by default)."""

    def __init__(self) -> None:
        self.things: dict[int, dict[str, Any]] = {}
        self.resets = 0
        self.reset()

    def reset(self, seed_size: int | None = None, seed: int = 42) -> dict[str, int]:
        self.resets += 1
        self.things = {i: {"id": i, "name": f"thing {i}"} for i in range(1, (seed_size or 3) + 1)}
        return {"things": len(self.things)}

    def close(self) -> None:
        self.things.clear()


def tiny_api(store: TinyStore) -> Any:
    """``/api/things`` (list, show, create), ``/api/whoami`` and ``/api/big`` (100 kB)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"].rstrip("/")
        method = scope["method"]
        auth = scope["coupa.auth"]
        status, body = 404, {"errors": {"base": ["no such route"]}}
        if path == "/api/whoami":
            scopes = None if auth.scopes is None else sorted(auth.scopes)
            status, body = (
                200,
                {"client": auth.client_id, "scopes": scopes, "login": auth.user_login},
            )
        elif path == "/api/big":
            status, body = 200, {"data": "x" * 100_000}
        elif path == "/api/things" and method == "GET":
            status, body = 200, list(store.things.values())
        elif path == "/api/things" and method == "POST":
            raw = b""
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if not message.get("more_body"):
                    break
            thing = {"id": max(store.things, default=0) + 1, **json.loads(raw or b"{}")}
            store.things[thing["id"]] = thing
            status, body = 201, thing
        elif path.startswith("/api/things/") and path.rsplit("/", 1)[1].isdigit():
            found = store.things.get(int(path.rsplit("/", 1)[1]))
            if found is not None:
                status, body = 200, found
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


class TinySandbox(Sandbox):
    """A real server (uvicorn, sockets, every outer layer) around the tiny API."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = TinyStore()

    def _build_app(self) -> SandboxApp:
        return build_sandbox_app(
            self.settings, store=self.store, api_factory=tiny_api, scopes=TINY_SCOPES
        )


@functools.cache
def loopback() -> httpx2.Client:
    """One HTTP client for the whole test process.

    Creating an httpx client loads the CA bundle (~0.2 s); these tests speak plain HTTP to
    127.0.0.1, so certificates play no part and one shared client keeps them fast.
    """
    client = httpx2.Client(timeout=30, verify=False)
    atexit.register(client.close)
    return client


def mint_token(sandbox: Sandbox, client_id: str, client_secret: str, scope: str = "") -> str:
    """A bearer token from the sandbox's token endpoint (client credentials)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
    }
    if scope:
        form["scope"] = scope
    response = loopback().post(f"{sandbox.url}/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def client(base_url: str, headers: dict[str, str] | None = None) -> httpx2.Client:
    """A client of its own (its own connections and default headers) for loopback HTTP."""
    return httpx2.Client(base_url=base_url, headers=headers, timeout=30, verify=False)
