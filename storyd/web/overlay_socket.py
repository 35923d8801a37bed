"""`/ws/overlay` on the ASGI layer, beside Quart: the short path for a broadcast.

Theory of operation: every vote update goes to every overlay (hundreds of OBS sources and
viewers' pages on a busy stream, ten updates a second), so what one send costs is paid N
times per tick. Through Quart a send also passes its Websocket wrapper (accept check, blinker
signal) and, in storyd's handler, a lock and a new cancel scope; measured with
tests/bench/bench_fanout_cost.py that was about 40 % of the daemon's CPU per update.
Here the handler speaks ASGI directly: one `websocket.send` message per event, with the
event's JSON text encoded once for all clients (storyd/web/ws.py). `route()` wraps the Quart
app's `asgi_app` (Quart's documented middleware point): a websocket scope for exactly
/ws/overlay is served here, everything else goes to Quart unchanged.

What the Quart route did is kept: the Host allow-list refuses a wrong Host with 421 before
the upgrade (as an HTTP answer where the server offers the `websocket.http.response`
extension, as hypercorn does; else a close); a fault ends only this socket, logged as one
rate-limited line by `on_fault`, and closes it with 1011; the socket itself is
`ws.serve_socket` (snapshot, bus, pings, 1001 when storyd stops).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope, WebsocketScope

from storyd.control.operator import Handler, Operator
from storyd.core.replies import ErrorBody
from storyd.web import security, ws
from storyd.web.responses import ErrorReply

PATH = "/ws/overlay"
INTERNAL_ERROR = 1011

ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Coroutine[Any, Any, None]]


class AsgiSocket:
    """The `ws.Socket` port over an accepted ASGI websocket."""

    def __init__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        self._receive = receive
        self._send = send

    async def send(self, data: str) -> None:
        await self._send({"type": "websocket.send", "text": data, "bytes": None})

    async def receive(self) -> str | bytes:
        msg = await self._receive()
        if msg["type"] != "websocket.receive":   # websocket.disconnect
            raise ws.ClientLeft
        text = msg.get("text")
        return text if isinstance(text, str) else bytes(msg.get("bytes") or b"")

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


def route(inner: ASGIApp, op: Operator, stats: ws.WebStats, handler: Handler, *,
          on_fault: Callable[[BaseException], None]) -> ASGIApp:
    """`inner` (the Quart app's asgi_app) with /ws/overlay served by `serve_overlay`."""

    async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "websocket" and scope["path"] == PATH:
            await serve_overlay(scope, receive, send, op, stats, handler, on_fault=on_fault)
        else:
            await inner(scope, receive, send)

    return app


async def serve_overlay(scope: WebsocketScope, receive: ASGIReceiveCallable,
                        send: ASGISendCallable, op: Operator, stats: ws.WebStats,
                        handler: Handler, *, on_fault: Callable[[BaseException], None]) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"), None)
    if not security.host_allowed(host, op.config.server):
        await _refuse(scope, send, 421, "bad_host", "unknown Host header")
        return
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    sock = AsgiSocket(receive, send)
    try:
        await ws.serve_socket(op, stats, handler, sock, admin=False)
    except Exception as exc:    # noqa: BLE001 — one socket's fault ends only that socket
        on_fault(exc)
        with contextlib.suppress(Exception):
            await sock.close(INTERNAL_ERROR, "internal error")


async def _refuse(scope: WebsocketScope, send: ASGISendCallable, status: int, code: str,
                  message: str) -> None:
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008, "reason": message})
        return
    body = msgspec.json.encode(ErrorReply(error=ErrorBody(code=code, message=message)))
    await send({"type": "websocket.http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]})
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
