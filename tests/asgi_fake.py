"""The ASGI plumbing the loopback fakes share (fake_openai, fake_helix, fake_eventsub):
hypercorn's lifespan handshake, and a request's whole body and headers."""

from __future__ import annotations

from typing import Any


async def read_request(scope: dict[str, Any], receive: Any, send: Any
                       ) -> tuple[bytes, dict[str, str]] | None:
    """(body, lower-cased headers) of an HTTP request; None for a lifespan scope, whose
    startup and shutdown it answers until the server shuts down."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return None
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    return body, {k.decode().lower(): v.decode() for k, v in scope["headers"]}
