"""Twitch chat source: IRC over a websocket (trio-websocket), read-only unless logged in.

Theory of operation:
- `run()` reports started at once, then loops over connection attempts until cancelled. Each
  attempt opens the websocket and sends `CAP REQ :twitch.tv/tags twitch.tv/commands`,
  `PASS oauth:<token>` (only when logged in), `NICK` (`justinfan<digits>` when anonymous)
  and `JOIN #channel`. The whole handshake, up to the server's JOIN echo (or `366`), has
  `connect_timeout`; a server that never answers is an attempt that failed.
- Connected, every frame is cut into lines (storyd/core/irc.py: bounded line and frame
  size, malformed lines skipped), PING is answered with PONG, PRIVMSGs to the channel become
  one batch per frame for `sink.submit` (duplicate message ids dropped across reconnects;
  USERNOTICE messages count like chat; CLEARMSG/CLEARCHAT go to `sink.submit_moderation`
  after the chat before them),
  cheers become gifts (`sink.submit_gift`, weighed by `[voting] bits_per_vote`). RECONNECT,
  a close, or `stall_seconds` without any line end the attempt.
- Between attempts: exponential backoff with jitter (reset after a connection that worked
  for STABLE_AFTER s); `reconnects` counts ends of a working connection (RECONNECT included),
  `failures` attempts that never got in. A rejected login is `failed` and retried slowly.
- Announcements (logged in and `announce` on): the announcer turns the bus's vote events into
  one line each (storyd/chat/twitch_rules.py `announcement`) and posts it on the current
  connection, within Twitch's 20 messages per 30 s; with no connection the line is dropped.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

import trio
import trio_websocket

from storyd.chat.base import ChatHealth, hand_over
from storyd.chat.tiktok_rules import Backoff, RecentIds
from storyd.chat.twitch_rules import (
    SendLimiter,
    announcement,
    chat_of,
    is_auth_failure,
    moderation_of,
)
from storyd.config.masking import resolve_secret
from storyd.config.structs import TwitchConfig
from storyd.core.irc import LineSplitter, format_line, parse_line
from storyd.core.model import ChatMessage, GiftMessage, Moderation
from storyd.core.ports import ChatSink
from storyd.core.snapshot import SourceState

log = logging.getLogger(__name__)

MAX_FRAME = 256 * 1024      # bytes of one websocket message; bigger closes the connection
STABLE_AFTER = 60.0
ANNOUNCE_QUEUE = 256    # bus events buffered for the announcer (most are skipped at once)


class Bus(Protocol):
    def subscribe(self, size: int = ...) -> Any: ...


def _why(e: BaseException) -> str:
    """A short reason, looking through trio-websocket's empty HandshakeError to its cause."""
    while not str(e) and (e.__cause__ or e.__context__) is not None:
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return f"{type(e).__name__}: {e}"[:200]


class _Ended(Exception):
    """How an attempt ended: kind is reconnect, closed, stall, timeout, auth, error."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


async def run(cfg: TwitchConfig, sink: ChatSink, health: ChatHealth, *,
              bus: Bus | None = None, rng: random.Random | None = None,
              clock: Callable[[], float] = time.time,
              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Feed the chat of `#cfg.channel` into `sink` until cancelled; never raises for
    connection trouble (it is shown in `health` and retried)."""
    source = _TwitchSource(cfg, sink, health, rng or random.Random(), clock)
    try:
        async with trio.open_nursery() as nursery:
            task_status.started()
            if not cfg.channel:
                health.state, health.detail = "failed", "set [chat.twitch] channel"
                log.error("Twitch chat source: %s", health.detail)
                await trio.sleep_forever()
            if bus is not None and source.token and cfg.announce:
                nursery.start_soon(source.announce, bus)
            await source.supervise()
    finally:
        health.state, health.retry_at, health.connected_since = "stopped", None, None


class _TwitchSource:
    def __init__(self, cfg: TwitchConfig, sink: ChatSink, health: ChatHealth,
                 rng: random.Random, clock: Callable[[], float]) -> None:
        self.cfg, self.sink, self.health, self.rng, self.clock = cfg, sink, health, rng, clock
        self.channel = cfg.channel.lower().lstrip("#")
        self.token = resolve_secret("", cfg.oauth_token_env).removeprefix("oauth:")
        self.recent = RecentIds(10_000)
        self.backoff = Backoff(cfg.backoff_initial, cfg.backoff_max)
        self.limiter = SendLimiter()
        self.ws: trio_websocket.WebSocketConnection | None = None
        self.sent: list[str] = []           # announcements posted (for status and tests)
        self._up_since: float | None = None
        health.source = health.source or "twitch"
        health.room = "#" + self.channel if self.channel else ""

    def _nick(self) -> str:
        if self.token and self.cfg.login:
            return self.cfg.login
        return f"justinfan{self.rng.randrange(10_000, 100_000)}"

    # -- attempts -----------------------------------------------------------------------
    async def supervise(self) -> None:
        h = self.health
        while True:
            h.state, h.detail, h.retry_at, h.connected_since = "connecting", "", None, None
            self._up_since = None
            try:
                await self._attempt()
                ended = _Ended("closed", "the connection ended")
            except _Ended as e:
                ended = e
            except trio_websocket.ConnectionClosed as e:
                code = getattr(e.reason, "code", None)
                if code == 1009:        # trio-websocket closed it: a message over MAX_FRAME
                    h.dropped += 1
                    ended = _Ended("closed", f"a message from Twitch was over {MAX_FRAME // 1024}"
                                             " KiB; reconnecting (1009)")
                else:
                    ended = _Ended("closed", f"Twitch closed the connection ({code})")
            except (trio_websocket.HandshakeError, OSError, trio.BrokenResourceError) as e:
                ended = _Ended("error", f"cannot connect: {_why(e)}")
            except Exception as e:  # noqa: BLE001 - whatever the server does, retry later
                log.exception("Twitch chat: unexpected error")
                ended = _Ended("error", f"{type(e).__name__}: {e}"[:200])
            self.ws = None
            if self._up_since is not None:
                h.reconnects += 1
                if trio.current_time() - self._up_since >= STABLE_AFTER:
                    self.backoff.reset()
            else:
                h.failures += 1
            delay = self.backoff.next(self.rng.random())
            state: SourceState = "backing_off"
            if ended.kind == "auth":
                state, delay = "failed", max(delay, self.cfg.backoff_max)
            h.state, h.connected_since = state, None
            h.retry_at, h.detail = self.clock() + delay, ended.detail
            log.warning("Twitch chat: %s (%s); next attempt in %.1f s", ended.kind,
                        ended.detail, delay)
            await trio.sleep(delay)

    async def _attempt(self) -> None:
        cfg = self.cfg
        with trio.move_on_after(cfg.connect_timeout) as handshake:
            async with trio_websocket.open_websocket_url(
                    cfg.url, max_message_size=MAX_FRAME, connect_timeout=cfg.connect_timeout,
                    disconnect_timeout=1.0) as ws:
                await ws.send_message(format_line("CAP", "REQ",
                                                  "twitch.tv/tags twitch.tv/commands"))
                if self.token:
                    await ws.send_message(format_line("PASS", f"oauth:{self.token}",
                                                      trailing=False))
                await ws.send_message(format_line("NICK", self._nick(), trailing=False))
                await ws.send_message(format_line("JOIN", "#" + self.channel, trailing=False))
                lines = LineSplitter()
                await self._read(ws, lines, until_joined=True)
                handshake.deadline = float("inf")
                self._connected(ws)
                await self._read(ws, lines, until_joined=False)
        raise _Ended("timeout", f"no answer to the Twitch handshake within "
                                f"{cfg.connect_timeout:g} s")

    def _connected(self, ws: trio_websocket.WebSocketConnection) -> None:
        h = self.health
        self.ws = ws
        self._up_since = trio.current_time()
        h.state, h.retry_at, h.connected_since = "connected", None, self.clock()
        h.detail = f"#{self.channel}" + (f" as {self.cfg.login}" if self.token else
                                         " (read-only)")
        log.info("Twitch chat connected to #%s", self.channel)

    async def _read(self, ws: trio_websocket.WebSocketConnection, lines: LineSplitter, *,
                    until_joined: bool) -> None:
        stall = max(self.cfg.stall_seconds, 0.01)
        while True:
            with trio.move_on_after(stall) as idle:
                frame = await ws.get_message()
            if idle.cancelled_caught:
                raise _Ended("stall", f"no data from Twitch for {stall:g} s")
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            before = lines.oversized
            joined = await self._frame(ws, lines.feed(text))
            self.health.dropped += lines.oversized - before
            if until_joined and joined:
                return

    async def _frame(self, ws: trio_websocket.WebSocketConnection, raw: list[str]) -> bool:
        """Handle the lines of one frame; True when our JOIN was confirmed."""
        batch: list[ChatMessage] = []
        gifts: list[GiftMessage] = []
        joined = False
        for line in raw:
            msg = parse_line(line)
            if msg is None:
                continue
            cmd = msg.command
            if cmd in ("PRIVMSG", "USERNOTICE"):
                chat = chat_of(msg, self.channel)
                if chat is None or self.recent.seen_before(chat.message.msg_id):
                    continue
                if chat.message.text:
                    batch.append(chat.message)
                if chat.gift is not None:
                    gifts.append(chat.gift)
            elif cmd in ("CLEARMSG", "CLEARCHAT"):
                action = moderation_of(msg, self.channel)
                if action is not None:
                    self._submit(batch, gifts)      # what came before it is counted first
                    self._moderate(action)
            elif cmd == "PING":
                await ws.send_message(format_line("PONG", msg.param(-1) or "tmi.twitch.tv"))
            elif cmd == "RECONNECT":
                self._submit(batch, gifts)
                raise _Ended("reconnect", "Twitch asked to reconnect (maintenance)")
            elif cmd in ("JOIN", "366") and self.channel in (p.lstrip("#").lower()
                                                             for p in msg.params):
                joined = True
            elif is_auth_failure(msg):
                raise _Ended("auth", f"Twitch refused the login: {msg.param(-1)[:120]}")
        self._submit(batch, gifts)
        return joined

    def _moderate(self, action: Moderation) -> None:
        self.health.moderation += 1
        try:
            self.sink.submit_moderation(action)
        except Exception:  # noqa: BLE001 - a sink bug must not kill the chat source
            log.exception("chat sink rejected a Twitch moderation line")

    def _submit(self, batch: list[ChatMessage], gifts: list[GiftMessage]) -> None:
        hand_over(self.sink, self.health, batch, gifts, self.clock(), "Twitch")
        batch.clear()
        gifts.clear()

    # -- announcements ------------------------------------------------------------------
    async def announce(self, bus: Bus) -> None:
        """Post one line per vote opening/closing while connected, within Twitch's limits."""
        with bus.subscribe(ANNOUNCE_QUEUE) as sub:
            async for event in sub:
                line = announcement(event)
                if line is None:
                    continue
                await trio.sleep(self.limiter.wait_time(trio.current_time()))
                ws = self.ws
                if ws is None:
                    log.info("Twitch announcement dropped (not connected): %s", line)
                    continue
                try:
                    await ws.send_message(format_line("PRIVMSG", "#" + self.channel, line))
                except (trio_websocket.ConnectionClosed, ValueError) as e:
                    log.info("Twitch announcement not sent: %s", e)
                    continue
                self.limiter.record(trio.current_time())
                self.sent.append(line)
