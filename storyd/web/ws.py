"""Websockets `/ws/overlay` and `/ws/admin`: the snapshot on connect, then the bus, coalesced.

Theory of operation: each client gets one bounded bus subscription (overflow: the bus drops
the oldest vote update for this client, never the latest `story:state` — see storyd/bus.py),
so a slow or dead client never delays the story or another client. Every event is a typed
struct from storyd/core/events.py, encoded once for all clients. Three tasks per client:
  * the pump moves events from the subscription to the socket. The director already
    coalesces `story:vote-update` to ≤ 10/s, so here they pass straight through while the
    client keeps up (a second timer in series added up to 100 ms of latency). Two guards
    remain: a client that is still busy with a send gets only the latest of the updates
    queued meanwhile (stale ones dropped), and a publisher faster than 1/COALESCE_S (20/s)
    is held to it (latest flushed when due). Any other event first flushes the pending
    vote update, so order is kept.
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
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import trio
from quart import websocket

from storyd.bus import Event
from storyd.control import protocol as p
from storyd.control.operator import Handler, Operator
from storyd.core import events as ev
from storyd.errors import StorydError
from storyd.system import metrics

log = logging.getLogger(__name__)

Outgoing = ev.StorydEvent
COALESCE_S = 0.05     # a safety cap (≤ 20/s); the director already sends ≤ 10/s
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


class VoteCoalescer:
    """Pure rate limiter for vote updates; time is passed in (trio.current_time() seconds)."""

    def __init__(self, interval: float = COALESCE_S) -> None:
        self.interval = interval
        self.pending: Outgoing | None = None
        self.next_at = -math.inf
        self.coalesced = 0

    def offer(self, event: Outgoing, now: float) -> list[Outgoing]:
        """Events to send now, in order, after `event` arrived."""
        if isinstance(event, ev.VoteUpdate):
            if self.pending is not None:
                self.coalesced += 1
            self.pending = event
            return self.due(now)
        out: list[Outgoing] = [] if self.pending is None else [self.pending]
        self.pending = None
        out.append(event)
        return out

    def due(self, now: float) -> list[Outgoing]:
        if self.pending is None or now < self.next_at:
            return []
        event, self.pending = self.pending, None
        self.next_at = now + self.interval
        return [event]

    def deadline(self) -> float:
        return math.inf if self.pending is None else self.next_at


def latest_votes_only(burst: list[Event], coalescer: VoteCoalescer) -> list[Event]:
    """A burst queued while the client was busy, with each run of vote updates cut to its
    last one (stale counts are never sent; other events keep their order)."""
    out: list[Event] = []
    for i, event in enumerate(burst):
        if (isinstance(event, ev.VoteUpdate) and i + 1 < len(burst)
                and isinstance(burst[i + 1], ev.VoteUpdate)):
            coalescer.coalesced += 1
            continue
        out.append(event)
    return out


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
        coalescer = VoteCoalescer()
        try:
            await send(ev.State(op.snapshot()))
            async with trio.open_nursery() as nursery:

                async def pump() -> None:
                    nonlocal going_away
                    while True:
                        event: Event | None = None
                        with trio.move_on_at(coalescer.deadline()):
                            try:
                                event = await sub.get()
                            except trio.EndOfChannel:
                                going_away = True
                                nursery.cancel_scope.cancel()
                                return
                        now = trio.current_time()
                        if event is None:
                            out: list[Outgoing] = coalescer.due(now)
                        else:   # drain what is already queued: one wake-up per burst
                            burst = [event]
                            for _ in range(SUB_BUFFER):
                                try:
                                    burst.append(sub.get_nowait())
                                except (trio.WouldBlock, trio.EndOfChannel):
                                    break   # an ended channel is seen by the next receive()
                            out = []
                            for item in latest_votes_only(burst, coalescer):
                                out += coalescer.offer(item, now)
                        for out_event in out:
                            await send(out_event)

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
            stats.coalesced += coalescer.coalesced
            stats.open[kind] -= 1


async def _read(ws: Any, op: Operator, handler: Handler,
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
                command=command, ok=False, error=ev.ErrorBody(
                    code="bad_request", message="unknown command; send "
                    "story:force-vote-end or story:regenerate-image"))))
            continue
        try:
            result = await handler(op, kind())
            reply = ev.CommandResultData(command=command, ok=True,
                                         result=msgspec.to_builtins(result))
        except StorydError as exc:
            reply = ev.CommandResultData(command=command, ok=False, error=ev.ErrorBody(
                code=exc.code, message=str(exc)))
        await send(ev.CommandResult(reply))

