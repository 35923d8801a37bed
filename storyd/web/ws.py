"""Websockets `/ws/overlay` and `/ws/admin`: the snapshot on connect, then the bus, coalesced.

Theory of operation: each client gets one bounded bus subscription (overflow: the bus drops
the oldest vote update for this client, never the latest `story:state` — see storyd/bus.py),
so a slow or dead client never delays the story or another client. Every event is a typed
struct from storyd/core/events.py, encoded once per event: every client is handed the same
str. What one send costs is paid once per client per event (hundreds of overlays, ten vote
updates a second), so the path is short: `/ws/overlay` is served on the ASGI layer beside
Quart (storyd/web/overlay_socket.py), `/ws/admin` through Quart; both run `serve_socket`
over the small `Socket` port. Three tasks per client:
  * the writer, the only one that sends: the snapshot, then each pong or command result the
    reader hands it, then the subscription's events as they come. Vote updates are
    throttled in ONE place, the voting service's ticker (≤ 10/s); the bus keeps only the
    newest one queued for a client that is busy with a send (latest wins per client), so
    stale counts are never sent and nothing here holds an update back.
  * the reader reads every client frame (a handler that never reads never learns the client
    left). Both sockets answer `{"event": "ping"}` with a pong (the pages' heartbeat;
    hypercorn's own ping task is left off because it held shutdown for its whole graceful
    timeout). The admin socket also accepts `story:force-vote-end` and
    `story:regenerate-image`; the overlay socket ignores everything else it reads.
  * the watcher waits for `op.shutdown` (the Operator port's: storyd stops).
When the bus closes or the daemon stops, the socket is closed with 1001 (going away). A send
that took longer than SEND_TIMEOUT_S (a client that barely reads) ends the connection;
hypercorn shields its socket write from cancellation, so a deadline could not end a send
sooner (a client that stopped reading altogether holds only its own writer and its bounded
queue). No timer per send: a deadline costs more than the two clock reads.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

import msgspec
import trio

from storyd.bus import Subscription
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


class Socket(Protocol):
    """One accepted websocket, whoever serves it: quart's Websocket (`/ws/admin`) or the
    plain ASGI one (`/ws/overlay`, storyd/web/overlay_socket.py). `receive()` raises
    ClientLeft (or the task is cancelled) once the client is gone."""

    async def send(self, data: str) -> None: ...

    async def receive(self) -> str | bytes: ...

    async def close(self, code: int, reason: str) -> None: ...


class ClientLeft(Exception):
    """The client closed the websocket or the connection dropped."""


async def serve_socket(op: Operator, stats: WebStats, handler: Handler, sock: Socket, *,
                       admin: bool) -> None:
    """Serve one accepted websocket until the client leaves or the daemon stops."""
    kind = "admin" if admin else "overlay"
    replies: deque[Outgoing] = deque()   # pongs and command results: the writer sends them
    ended = ""                           # why the writer or the watcher ended the socket

    def reply(event: Outgoing) -> None:
        replies.append(event)
        sub.wake()

    with op.bus.subscribe(SUB_BUFFER) as sub:
        stats.open[kind] += 1
        try:
            async with trio.open_nursery() as nursery:

                async def write() -> None:
                    nonlocal ended
                    ended = await _write(sock, sub, replies, stats, kind, ev.State(op.snapshot()))
                    nursery.cancel_scope.cancel()

                async def watch() -> None:
                    nonlocal ended
                    await op.shutdown.wait()
                    ended = "going away"
                    nursery.cancel_scope.cancel()

                nursery.start_soon(write)
                nursery.start_soon(watch)
                nursery.start_soon(_read, sock, op, handler, reply, admin)
            if ended == "too slow":
                stats.send_timeouts += 1
                log.info("%s websocket client stopped reading; dropping it", kind)
            elif ended == "going away":
                with trio.move_on_after(2):
                    await sock.close(GOING_AWAY, "storyd is shutting down")
        except* ClientLeft:
            pass
        finally:
            stats.coalesced += sub.replaced
            stats.open[kind] -= 1


async def _write(sock: Socket, sub: Subscription, replies: deque[Outgoing], stats: WebStats,
                 kind: str, event: Outgoing) -> str:
    """The one task that sends: `event` (the snapshot), then the replies the reader hands
    over and the subscription's events, as they come. Returns why it stopped."""
    while True:
        started = trio.current_time()
        await sock.send(encode_event(event))
        if trio.current_time() - started > SEND_TIMEOUT_S:
            return "too slow"
        stats.sent += 1
        metrics.delivered(kind, event)
        while not replies:          # (while-else: a reply is there, or came while waiting)
            try:
                event = sub.get_nowait()
                break
            except trio.WouldBlock:
                await sub.ready()
            except trio.EndOfChannel:
                return "going away"
        else:
            event = replies.popleft()


async def _read(sock: Socket, op: Operator, handler: Handler,
                reply: Callable[[Outgoing], None], admin: bool) -> None:
    while True:
        raw = await sock.receive()
        try:
            msg = msgspec.json.decode(raw) if len(raw) <= 4096 else None
            name = msg.get("event") if isinstance(msg, dict) else None
        except (msgspec.DecodeError, RecursionError):   # bad frames are ignored, not logged
            name = None
        if name == "ping":     # the pages' heartbeat: they reconnect when pongs stop coming
            reply(PONG)
            continue
        if not admin:
            continue
        kind = ADMIN_COMMANDS.get(name) if isinstance(name, str) else None
        command = name if isinstance(name, str) else None
        if kind is None:
            reply(ev.CommandResult(ev.CommandResultData(
                command=command, ok=False, error=ErrorBody(
                    code="bad_request", message="unknown command; send "
                    "story:force-vote-end or story:regenerate-image"))))
            continue
        try:
            result = await handler(op, kind())
            done = ev.CommandResultData(   # regenerate-image: the picture comes as an event
                command=command, ok=True,
                result=result if isinstance(result, CloseReply) else None)
        except StorydError as exc:
            done = ev.CommandResultData(command=command, ok=False, error=ErrorBody(
                code=exc.code, message=str(exc)))
        reply(ev.CommandResult(done))
