"""Websockets `/ws/overlay` and `/ws/admin`: the snapshot on connect, then the bus, coalesced.

Theory of operation: each client gets one bounded bus subscription (overflow: the bus drops
the oldest vote update for this client, never the latest `story:state` — see storyd/bus.py),
so a slow or dead client never delays the story or another client. Every event is a typed
struct from storyd/core/events.py, encoded once for all clients. Three tasks per client:
  * the pump moves events from the subscription to the socket as they come. Vote updates
    are throttled in ONE place, the voting service's ticker (≤ 10/s); the bus keeps only
    the newest one queued for a client that is busy with a send, so stale counts are
    never sent and nothing here holds an update back.
  * the reader reads every client frame (quart-trio buffers only a few; a handler that never
    reads never learns the client left). Both answer `{"event": "ping"}` with a pong (the
    pages' heartbeat; hypercorn's own ping task is left off because it held shutdown for its
    whole graceful timeout). The admin socket also accepts `story:force-vote-end` and
    `story:regenerate-image`; the overlay socket ignores everything else it reads.
  * the watcher waits for `op.shutdown` (the Operator port's: storyd stops).
When the bus closes or the daemon stops, the socket is closed with 1001 (going away). A send
that stays blocked for SEND_TIMEOUT_S (a client that stopped reading) ends the connection.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import msgspec
import trio
from quart import websocket
from quart.wrappers import Websocket

from storyd.control import protocol as p
from storyd.control.operator import Handler, Operator
from storyd.core import events as ev
from storyd.core.replies import CloseReply, ErrorBody
from storyd.errors import StorydError
from storyd.system import metrics

log = logging.getLogger(__name__)

Outgoing = ev.StorydEvent
SUB_BUFFER = 256       # per client; overflow: the bus's policy (counted), never the state
SEND_TIMEOUT_S = 10.0
GOING_AWAY = 1001
PONG = ev.Pong()
ADMIN_COMMANDS: dict[str, type[p.Close | p.RegenerateImage]] = {
    "story:force-vote-end": p.Close, "story:regenerate-image": p.RegenerateImage}


class WebStats:
    """Counters for /metrics and /healthz."""

    def __init__(self) -> None:
        self.open = {"overlay": 0, "admin": 0}
        self.sent = 0
        self.coalesced = 0
        self.send_timeouts = 0

    def open_sockets(self) -> int:
        return sum(self.open.values())


class _Encoded:
    """Encode each shared event once, however many clients send it (small LRU by id)."""

    def __init__(self, size: int = 64) -> None:
        self._cache: OrderedDict[int, tuple[Outgoing, str]] = OrderedDict()
        self._size = size

    def __call__(self, event: Outgoing) -> str:
        hit = self._cache.get(id(event))
        if hit is not None and hit[0] is event:
            return hit[1]
        text = msgspec.json.encode(event).decode("utf-8")
        self._cache[id(event)] = (event, text)   # keeps the event alive, so its id stays unique
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return text


encode_event = _Encoded()


async def serve_socket(op: Operator, stats: WebStats, handler: Handler, *,
                       admin: bool) -> None:
    """Serve one accepted-or-not websocket until the client leaves or the daemon stops."""
    ws = websocket._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    kind = "admin" if admin else "overlay"
    await ws.accept()
    send_lock = trio.Lock()
    going_away = False

    async def send(event: Outgoing) -> None:
        text = encode_event(event)
        async with send_lock:
            with trio.fail_after(SEND_TIMEOUT_S):
                await ws.send(text)
        stats.sent += 1
        metrics.delivered(kind, event)

    with op.bus.subscribe(SUB_BUFFER) as sub:
        stats.open[kind] += 1
        try:
            await send(ev.State(op.snapshot()))
            async with trio.open_nursery() as nursery:

                async def pump() -> None:
                    nonlocal going_away
                    while True:
                        try:
                            event = await sub.get()
                        except trio.EndOfChannel:
                            going_away = True
                            nursery.cancel_scope.cancel()
                            return
                        await send(event)

                async def watch() -> None:
                    nonlocal going_away
                    await op.shutdown.wait()
                    going_away = True
                    nursery.cancel_scope.cancel()

                nursery.start_soon(pump)
                nursery.start_soon(watch)
                nursery.start_soon(_read, ws, op, handler, send, admin)
            if going_away:
                with trio.move_on_after(2):
                    await ws.close(GOING_AWAY, "storyd is shutting down")
        except* trio.TooSlowError:
            stats.send_timeouts += 1
            log.info("%s websocket client stopped reading; dropping it", kind)
        finally:
            stats.coalesced += sub.replaced
            stats.open[kind] -= 1


async def _read(ws: Websocket, op: Operator, handler: Handler,
                send: Callable[[Outgoing], Awaitable[None]], admin: bool) -> None:
    while True:
        raw = await ws.receive()
        try:
            msg = msgspec.json.decode(raw) if len(raw) <= 4096 else None
            name = msg.get("event") if isinstance(msg, dict) else None
        except (msgspec.DecodeError, RecursionError):   # bad frames are ignored, not logged
            name = None
        if name == "ping":     # the pages' heartbeat: they reconnect when pongs stop coming
            await send(PONG)
            continue
        if not admin:
            continue
        kind = ADMIN_COMMANDS.get(name) if isinstance(name, str) else None
        command = name if isinstance(name, str) else None
        if kind is None:
            await send(ev.CommandResult(ev.CommandResultData(
                command=command, ok=False, error=ErrorBody(
                    code="bad_request", message="unknown command; send "
                    "story:force-vote-end or story:regenerate-image"))))
            continue
        try:
            result = await handler(op, kind())
            reply = ev.CommandResultData(   # regenerate-image: the picture comes as an event
                command=command, ok=True,
                result=result if isinstance(result, CloseReply) else None)
        except StorydError as exc:
            reply = ev.CommandResultData(command=command, ok=False, error=ErrorBody(
                code=exc.code, message=str(exc)))
        await send(ev.CommandResult(reply))
