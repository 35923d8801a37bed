"""Twitch channel points votes: EventSub over a websocket (trio-websocket) and Helix (httpx).

Theory of operation:
- `run()` reports started at once, then loops over attempts until cancelled. An attempt
  validates the token (`GET {auth_url}/validate`: its user must be the channel's and carry
  `channel:read:redemptions`; the answer names the Client-Id Helix wants), connects to
  `eventsub_url?keepalive_timeout_seconds=N`, waits for `session_welcome` (at most
  `connect_timeout`; other frames before it are counted and skipped), and subscribes to
  `channel.channel_points_custom_reward_redemption.add` for the session
  (`POST {helix_url}/eventsub/subscriptions`) inside the keepalive window the welcome names.
- Connected, every frame is one JSON message (storyd/chat/eventsub_rules.py). A message id
  seen before is a duplicate (Twitch delivers at least once): ignored and counted, across
  reconnects; so is a redemption id seen before. A redemption of the reward titled
  `[voting] points_reward` goes to the voting service (`submit_points`: the viewer's ballot,
  weighing `points_weight`); other rewards, unknown message types, frames that are not
  EventSub messages are counted (each kind logged once) and nothing else happens.
- `session_reconnect` (Twitch's maintenance): a second connection opens to its
  `reconnect_url`, as given, while the first keeps being read; once the new one is welcomed
  the old one is closed. The subscription moves with it: nothing is sent.
- A silence longer than the keepalive window (plus a little grace), a close, a network error,
  or a welcome that never comes ends the attempt; the next one subscribes again on a new
  session (events in between are lost, as Twitch documents). A revoked subscription, a
  refused or wrong token end it as `failed`, retried only every `backoff_max` seconds.
- The client sends nothing at all: trio-websocket answers Twitch's pings with pongs.
`reconnects` counts ends of a working session, `failures` attempts that never got one;
`counters` the rest (duplicates, keepalives, moves, unknown, bad frames, other rewards, …).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import Protocol

import httpx
import msgspec
import trio
import trio_websocket

from storyd.chat.base import ChatHealth
from storyd.chat.eventsub_rules import (
    MAX_FRAME,
    SUBSCRIPTION,
    Frame,
    helix_answer,
    parse_frame,
    redemption_of,
    same_title,
    subscription_body,
    token_problem,
    with_keepalive,
)
from storyd.chat.tiktok_rules import Backoff, RecentIds
from storyd.config.masking import resolve_secret
from storyd.config.structs import TwitchConfig, VotingConfig
from storyd.core.snapshot import SourceState

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10.0
STABLE_AFTER = 60.0
MOVES = 4            # reconnect requests waiting to be followed (Twitch sends one at a time)


class PointsSink(Protocol):
    def submit_points(self, viewer_id: str, name: str, text: str, weight: int) -> str: ...


class _Ended(Exception):
    """How an attempt ended: kind is closed, stall, no_welcome, auth, revoked, rate, error."""

    def __init__(self, kind: str, detail: str, delay: float | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.delay = kind, detail, delay


def _why(exc: BaseException) -> _Ended:
    """How an attempt ended, looking into exception groups (the connection tasks')."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = [e for e in exc.exceptions if not isinstance(e, trio.Cancelled)]
        return _why(next((e for e in leaves if isinstance(e, _Ended)), leaves[0])) if leaves \
            else _Ended("error", "cancelled")
    if isinstance(exc, _Ended):
        return exc
    if isinstance(exc, trio_websocket.ConnectionClosed):
        code = getattr(exc.reason, "code", None)
        return _Ended("closed", f"EventSub closed the connection ({code})")
    if isinstance(exc, trio_websocket.HandshakeError | OSError | trio.BrokenResourceError
                  | httpx.HTTPError):
        return _Ended("error", f"cannot reach Twitch: {type(exc).__name__}: {exc}"[:200])
    log.error("Twitch channel points: unexpected error", exc_info=exc)
    return _Ended("error", f"{type(exc).__name__}: {exc}"[:200])


class _Identity(msgspec.Struct, frozen=True):
    token: str
    client_id: str
    broadcaster_id: str


class _Conn:
    """One EventSub websocket: its session, and whether it is being replaced."""

    def __init__(self, scope: trio.CancelScope, session_id: str, keepalive: int) -> None:
        self.scope, self.session_id, self.keepalive = scope, session_id, keepalive
        self.retiring = False


async def run(twitch: Callable[[], TwitchConfig], voting: Callable[[], VotingConfig],
              sink: PointsSink, health: ChatHealth, *, rng: random.Random | None = None,
              clock: Callable[[], float] = time.time,
              transport: httpx.AsyncBaseTransport | None = None,
              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Feed channel points votes into `sink` until cancelled; never raises for connection
    trouble (it is shown in `health` and retried)."""
    source = _EventSub(twitch, voting, sink, health, rng or random.Random(), clock, transport)
    try:
        task_status.started()
        await source.supervise()
    finally:
        health.state, health.retry_at, health.connected_since = "stopped", None, None


class _EventSub:
    def __init__(self, twitch: Callable[[], TwitchConfig], voting: Callable[[], VotingConfig],
                 sink: PointsSink, health: ChatHealth, rng: random.Random,
                 clock: Callable[[], float], transport: httpx.AsyncBaseTransport | None) -> None:
        self.twitch, self.voting, self.sink, self.health = twitch, voting, sink, health
        self.rng, self.clock, self.transport = rng, clock, transport
        cfg = twitch()
        self.backoff = Backoff(cfg.backoff_initial, cfg.backoff_max)
        self.messages, self.redemptions = RecentIds(10_000), RecentIds(10_000)
        self.identity: _Identity | None = None
        self._logged: set[str] = set()
        self._up_since: float | None = None
        self._last_detail = ""
        health.room = "#" + cfg.channel.lower().lstrip("#") if cfg.channel else ""

    def _count(self, key: str, n: int = 1) -> None:
        self.health.counters[key] = self.health.counters.get(key, 0) + n

    def _once(self, key: str, message: str, *args: object) -> None:
        """A WARNING the first time a kind of trouble shows up in this run, DEBUG after."""
        level = logging.DEBUG if key in self._logged else logging.WARNING
        self._logged.add(key)
        log.log(level, "Twitch channel points: " + message, *args)

    # -- attempts -----------------------------------------------------------------------
    async def supervise(self) -> None:
        h = self.health
        while True:
            h.state, h.retry_at, h.connected_since = "connecting", None, None
            self._up_since = None
            try:
                await self._attempt()
                ended = _Ended("closed", "EventSub ended the session")
            except Exception as e:  # noqa: BLE001 - whatever Twitch does, retry later
                ended = _why(e)
            if self._up_since is not None:
                h.reconnects += 1
                if trio.current_time() - self._up_since >= STABLE_AFTER:
                    self.backoff.reset()
            else:
                h.failures += 1
            delay = self.backoff.next(self.rng.random())
            state: SourceState = "backing_off"
            if ended.kind in ("auth", "revoked"):
                state, delay = "failed", max(delay, self.twitch().backoff_max)
            if ended.delay is not None:
                delay = max(delay, ended.delay)
            h.state, h.connected_since = state, None
            h.retry_at, h.detail = self.clock() + delay, ended.detail
            level = logging.WARNING if ended.detail != self._last_detail else logging.DEBUG
            self._last_detail = ended.detail
            log.log(level, "Twitch channel points: %s (%s); next attempt in %.1f s",
                    ended.kind, ended.detail, delay)
            await trio.sleep(delay)

    async def _attempt(self) -> None:
        cfg = self.twitch()
        token = resolve_secret("", cfg.oauth_token_env).strip().removeprefix("oauth:")
        if not token:
            raise _Ended("auth", f"no token: set [chat.twitch] oauth_token_env and the "
                                 f"environment variable it names ({cfg.oauth_token_env or '-'})")
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=self.transport) as http:
            ident = await self._identify(http, cfg, token)
            moves_in, moves = trio.open_memory_channel[str](MOVES)
            async with trio.open_nursery() as nursery:
                url = with_keepalive(cfg.eventsub_url, cfg.keepalive_seconds)
                conn: _Conn = await nursery.start(self._connection, url, moves_in)
                await self._subscribe(http, cfg, ident, conn)
                if self.health.state != "connected":   # not already shown by a redemption
                    self._connected(cfg)
                async for new_url in moves:
                    new: _Conn = await nursery.start(self._connection, new_url, moves_in)
                    conn.scope.cancel()     # the old socket goes once the new one is welcomed
                    conn = new
                    self._count("moves")
                    log.info("Twitch channel points: moved to a new EventSub connection")

    def _connected(self, cfg: TwitchConfig) -> None:
        h = self.health
        self._up_since = trio.current_time()
        title = self.voting().points_reward
        h.state, h.retry_at, h.connected_since = "connected", None, self.clock()
        h.detail = f"#{cfg.channel.lower().lstrip('#')}: channel points reward {title!r}"
        self._last_detail = ""
        log.info("Twitch channel points: subscribed to redemptions of %r", title)

    # -- Helix --------------------------------------------------------------------------
    async def _identify(self, http: httpx.AsyncClient, cfg: TwitchConfig,
                        token: str) -> _Identity:
        if self.identity is not None and self.identity.token == token:
            return self.identity
        resp = await http.get(f"{cfg.auth_url.rstrip('/')}/validate",
                              headers={"Authorization": f"OAuth {token}"})
        if resp.status_code == 401:
            raise _Ended("auth", "Twitch says the token is invalid or expired: make a new one "
                                 "(with channel:read:redemptions) for [chat.twitch] "
                                 "oauth_token_env")
        if resp.status_code != 200:
            raise _Ended("error", f"token validation answered HTTP {resp.status_code}")
        info = resp.json()
        problem = token_problem(info if isinstance(info, dict) else {}, cfg.channel)
        if problem is not None:
            raise _Ended("auth", problem)
        self.identity = _Identity(token, str(info["client_id"]), str(info["user_id"]))
        return self.identity

    async def _subscribe(self, http: httpx.AsyncClient, cfg: TwitchConfig, ident: _Identity,
                         conn: _Conn) -> None:
        """Subscribe the session inside its keepalive window (Twitch closes it otherwise)."""
        with trio.move_on_after(max(conn.keepalive - 1, 1)) as window:
            resp = await http.post(
                f"{cfg.helix_url.rstrip('/')}/eventsub/subscriptions",
                json=subscription_body(ident.broadcaster_id, conn.session_id),
                headers={"Authorization": f"Bearer {ident.token}",
                         "Client-Id": ident.client_id})
        if window.cancelled_caught:
            raise _Ended("error", f"Helix did not take the subscription within the keepalive "
                                  f"window ({conn.keepalive} s)")
        try:
            body = resp.json()
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
        except ValueError:
            message = resp.text[:200]
        answer = helix_answer(resp.status_code, message)
        if answer == "ok":
            if resp.status_code == 409:
                self._count("already_subscribed")
            return
        detail = f"Helix refused the subscription: HTTP {resp.status_code} {message[:120]}"
        if answer == "auth":
            self.identity = None
            raise _Ended("auth", detail + " (the token: [chat.twitch] oauth_token_env)")
        if answer == "forbidden":
            raise _Ended("auth", detail + " (the broadcaster's token with "
                                          "channel:read:redemptions is needed)")
        delay = None
        if answer == "rate":
            reset = resp.headers.get("Ratelimit-Reset", "")
            delay = (float(reset) - self.clock()) if reset.replace(".", "", 1).isdigit() else 60
            delay = min(max(delay, 1.0), 600.0)
        raise _Ended("rate" if answer == "rate" else "error", detail, delay)

    # -- one websocket ------------------------------------------------------------------
    async def _connection(self, url: str, moves: trio.MemorySendChannel[str], *,
                          task_status: trio.TaskStatus[_Conn] = trio.TASK_STATUS_IGNORED
                          ) -> None:
        """Connect, wait for the welcome (reported as started), then read until the socket
        ends, is replaced, or goes quiet for longer than its keepalive window."""
        cfg = self.twitch()
        scope = trio.CancelScope()
        with scope:
            with trio.CancelScope(deadline=trio.current_time() + cfg.connect_timeout) as opening:
                async with trio_websocket.open_websocket_url(
                        url, max_message_size=MAX_FRAME, connect_timeout=cfg.connect_timeout,
                        disconnect_timeout=1.0) as ws:
                    welcome = await self._welcome(ws)
                    opening.deadline = math.inf
                    conn = _Conn(scope, welcome.session_id,
                                 welcome.keepalive or cfg.keepalive_seconds)
                    task_status.started(conn)
                    await self._read(ws, conn, moves)
            if opening.cancelled_caught:
                raise _Ended("no_welcome", f"no session_welcome from EventSub within "
                                           f"{cfg.connect_timeout:g} s")

    async def _welcome(self, ws: trio_websocket.WebSocketConnection) -> Frame:
        while True:
            frame = parse_frame(await ws.get_message())
            if frame.kind == "welcome":
                self.messages.seen_before(frame.message_id)
                return frame
            self._count("before_welcome")
            self._once("before_welcome", "a %s message before the welcome (skipped)",
                       frame.message_type or frame.kind)

    async def _read(self, ws: trio_websocket.WebSocketConnection, conn: _Conn,
                    moves: trio.MemorySendChannel[str]) -> None:
        grace = conn.keepalive + max(2.0, conn.keepalive * 0.2)
        while True:
            with trio.move_on_after(grace) as quiet:
                try:
                    raw = await ws.get_message()
                except trio_websocket.ConnectionClosed:
                    if conn.retiring:      # the old socket of a reconnect: closed as planned
                        return
                    raise
            if quiet.cancelled_caught:
                if conn.retiring:
                    return
                raise _Ended("stall", f"nothing from EventSub for {grace:g} s (keepalive "
                                      f"window {conn.keepalive} s)")
            self.health.last_event_at = self.clock()
            url = self._frame(parse_frame(raw))
            if url:
                conn.retiring = True
                try:
                    moves.send_nowait(url)
                except trio.WouldBlock:
                    self._count("moves_dropped")

    def _frame(self, frame: Frame) -> str:
        """Handle one message; the URL to move to for a session_reconnect, else ""."""
        if frame.message_id and self.messages.seen_before(frame.message_id):
            self._count("duplicates")
            self._once("duplicate", "a message delivered twice (ignored; Twitch delivers at "
                                    "least once)")
            return ""
        match frame.kind:
            case "keepalive":
                self._count("keepalives")
            case "notification":
                if frame.subscription_type != SUBSCRIPTION:
                    self._count("other_events")
                    self._once(f"event:{frame.subscription_type}", "an event of type %r "
                               "(not subscribed to; ignored)", frame.subscription_type)
                else:
                    if self.health.state == "connecting":  # it came before Helix's answer:
                        self._connected(self.twitch())     # the subscription is live
                    self._redeemed(frame)
            case "reconnect":
                return frame.reconnect_url
            case "revocation":
                self._count("revocations")
                self.identity = None
                raise _Ended("revoked", f"Twitch revoked the subscription "
                                        f"({frame.subscription_status or 'no reason given'}): "
                                        "check the token and its channel:read:redemptions scope")
            case "bad":
                self._count("bad_frames")
                self.health.dropped += 1
                self._once("bad", "a frame that is not an EventSub message (%s)", frame.problem)
            case _:   # "unknown", or a second welcome
                self._count("unknown")
                self._once(f"type:{frame.message_type}", "an unknown message type %r (ignored)",
                           frame.message_type)
        return ""

    def _redeemed(self, frame: Frame) -> None:
        r = redemption_of(frame.event)
        if r is None:
            self._count("bad_frames")
            self._once("bad_event", "a redemption without a usable user or id (ignored)")
            return
        if self.redemptions.seen_before(r.id):
            self._count("duplicates")
            return
        cfg = self.voting()
        if not same_title(r.reward_title, cfg.points_reward):
            self._count("other_rewards")
            return
        h = self.health
        h.messages += 1
        h.window.add(1, self.clock())
        try:
            outcome = self.sink.submit_points(r.viewer_id, r.name, r.user_input,
                                              cfg.points_weight)
        except Exception:  # noqa: BLE001 - a sink bug costs one vote, not the source
            log.exception("Twitch channel points: the vote of %s failed", r.viewer_id)
            outcome = "error"
        self._count(f"points_{outcome}")
        if outcome == "counted":
            h.votes_accepted += 1
        else:
            h.votes_invalid += 1
