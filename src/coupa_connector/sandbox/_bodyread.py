"""A deadline on reading request bodies, so a body that never arrives cannot hold a connection.

uvicorn bounds the wait for a request's headers and for the next request on a kept-alive
connection, but not the wait for a body: a ``Content-Length`` larger than what is sent, or
``Transfer-Encoding: chunked`` followed by a plain body (which never completes a chunk-size
line), leaves the handler waiting for bytes that never come, and the client without an
answer. This layer bounds every wait for the next part of a body. When it passes, the request
is answered with a 408 in Coupa's error format and the connection is closed (what is left of
the body cannot be told apart from a next request). A client that hangs up mid-body gets no
answer, as nobody would read one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, Request

from coupa_connector.sandbox._wire import error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_BODY_TIMEOUT", "BodyReadDeadline"]

DEFAULT_BODY_TIMEOUT = 5.0  # seconds without a byte of an unfinished request body


class _BodyTimedOut(Exception):
    """Raised from ``receive`` into the handler that waits for the body."""


class BodyReadDeadline:
    """Answer 408 when a request body stops arriving for ``timeout`` seconds.

    Args:
        app: The application behind it.
        timeout: Longest wait, in seconds, for the next part of an unfinished body.
    """

    def __init__(self, app: ASGIApp, timeout: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal body_done
            if body_done:
                # After the body the handler only listens for a disconnect: no deadline.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                raise _BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _BodyTimedOut:
            if started:
                raise  # an answer is under way; the server closes the connection
            response = error_response(
                Request(scope),
                408,
                [f"The request body did not arrive within {self.timeout:g} seconds."],
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
        except ClientDisconnect:
            return  # the client hung up mid-body: nobody to answer
