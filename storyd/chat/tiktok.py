"""TikTok LIVE chat source: the trio service around TikTokLive.

Theory of operation:
- `run()` starts a drain task, reports started (the machinery is up; connecting may take
  minutes and must not hold up the daemon), then loops over connection attempts forever.
  TikTokLive itself is imported by the first attempt, in its worker thread, never here.
- Each attempt is a fresh `ConnectionAttempt` (storyd/chat/tiktok_thread.py) run with
  `trio.to_thread.run_sync` on its own asyncio loop. Its handlers `put` events into a
  bounded `Handoff` (storyd/chat/handoff.py): full means drop the newest and count it in
  `health.dropped`; at most one wake-up callback waits in trio's run-sync-soon queue, so a
  chat flood cannot grow memory on either side. The "connected" signal (once per attempt)
  goes straight through `run_sync_soon` and mutates health on the trio thread.
- The drain task takes up to BATCH_MAX items at once, drops repeated message ids, submits
  comments as one batch, feeds gifts to the streak tracker and hands likes/joins to
  `sink.submit_activity` (viewer stats only); idle streaks are flushed about once a second.
- A watcher per attempt forces a reconnect when a connected attempt shows no websocket
  activity for `stall_seconds`, and in its `finally` cancels the attempt, which is how trio
  cancellation reaches the asyncio loop (`call_soon_threadsafe(task.cancel)`) within ~1 s.
- Between attempts (health lifecycle in storyd/chat/base.py): the stream ended or the
  account is offline -> `waiting_for_live`, polled every `live_poll_seconds` with no growth;
  errors -> `backing_off` with exponential backoff and jitter (the sign server's
  retry-after wins when longer). `reconnects` counts only drops of a working connection.
- `room_id` (config) connects straight to that room: no page scrape, no live check, only the
  sign server. When that room's stream ends and `unique_id` is set, later attempts look the
  account's new room up the normal way.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import Callable

import trio

from storyd.chat.base import ChatHealth, hand_over
from storyd.chat.handoff import Handoff
from storyd.chat.tiktok_rules import Backoff, GiftStreaks, RecentIds
from storyd.chat.tiktok_thread import (
    ActivityEventData,
    ConnectionAttempt,
    GiftEventData,
    Item,
    Outcome,
    prime_event_metadata,
)
from storyd.config.masking import resolve_secret
from storyd.config.structs import TikTokConfig
from storyd.core.model import ChatMessage, GiftMessage, Moderation
from storyd.core.ports import ChatSink
from storyd.core.snapshot import SourceState

log = logging.getLogger(__name__)

CHANNEL_SIZE = 8192     # events between the asyncio thread and trio; full: drop newest, count
BATCH_MAX = 512
GIFT_IDLE_SECONDS = 10.0
STABLE_AFTER = 60.0     # a connection up this long resets the backoff
MAX_RETRY_AFTER = 3600.0
SETTLE_MAX = 2.0        # seconds to wait for the daemon to settle before importing TikTokLive
AFTER_READY = 0.5       # ... or, in the daemon, seconds after READY (its first requests first)
# outcomes of an attempt that was connected and counts as a drop (live_end is not a drop)
_DROPS = frozenset({"closed", "closed_error", "stall", "error", "timeout"})


async def run(cfg: TikTokConfig, sink: ChatSink, health: ChatHealth, *,
              clock: Callable[[], float] = time.time, room_id: int | None = None,
              rng: random.Random | None = None, settled: trio.Event | None = None,
              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Feed TikTok LIVE comments and gifts of `cfg.unique_id` into `sink` until cancelled.

    Never raises for connection trouble: it is shown in `health` and retried. The room is
    `room_id` when given, else `cfg.room_id` when set (both skip the scrape and live check).
    `settled` is set once the daemon is ready (READY sent): TikTokLive loads only then.
    """
    if room_id is None and cfg.room_id:
        room_id = int(cfg.room_id)
    source = _TikTokSource(cfg, sink, health, clock, room_id, rng or random.Random(), settled)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.drain)
            task_status.started()
            if not cfg.unique_id and room_id is None:
                health.state = "failed"
                health.detail = "set [chat.tiktok] unique_id (the @handle) or room_id"
                log.error("TikTok chat source: %s", health.detail)
                await trio.sleep_forever()
            await source.supervise()
    finally:
        health.state, health.retry_at, health.connected_since = "stopped", None, None


async def _load_tiktoklive(settled: trio.Event | None) -> None:
    """Import TikTokLive in a worker thread once the daemon has settled (AFTER_READY seconds
    after READY; without `settled`, all tasks blocked for a moment, at most SETTLE_MAX s):
    the import takes seconds on a busy machine and competes for the GIL. The thread is
    abandoned on cancel, so a stop during the import is immediate (it ends on its own)."""
    if settled is not None:
        await settled.wait()
        await trio.sleep(AFTER_READY)
    else:
        from trio.testing import wait_all_tasks_blocked  # only here: imports pytest

        with trio.move_on_after(SETTLE_MAX):
            await wait_all_tasks_blocked(cushion=0.05)
    try:
        await trio.to_thread.run_sync(prime_event_metadata, abandon_on_cancel=True)
    except Exception:  # noqa: BLE001 - the attempt reports a missing/broken TikTokLive
        log.debug("loading TikTokLive failed", exc_info=True)
        return
    # TikTokLive's generated protobuf/pydantic classes are a huge object graph that lives as
    # long as the process; moving it out of the collector's reach keeps every later GC pass
    # cheap and cut the interpreter's exit after SIGTERM from ~6 s to ~0.4 s (busy machine).
    gc.freeze()


class _TikTokSource:
    def __init__(self, cfg: TikTokConfig, sink: ChatSink, health: ChatHealth,
                 clock: Callable[[], float], room_id: int | None, rng: random.Random,
                 settled: trio.Event | None) -> None:
        self.cfg, self.sink, self.health, self.clock = cfg, sink, health, clock
        self.room_id = room_id
        self.rng = rng
        self.settled = settled
        self.token = trio.lowlevel.current_trio_token()
        # bounded; overflow policy: drop the newest item and count it in health.dropped
        self.queue: Handoff[Item] = Handoff(CHANNEL_SIZE, self.token)
        self.recent = RecentIds(10_000)
        self.streaks = GiftStreaks(GIFT_IDLE_SECONDS)
        self.backoff = Backoff(cfg.backoff_initial, cfg.backoff_max)
        self.likes = 0
        self.joins = 0
        health.source = health.source or "tiktok"
        health.room = str(room_id) if room_id is not None else ""

    # -- asyncio thread -> trio ---------------------------------------------------------
    def _post(self, item: Item) -> None:
        """Called on the asyncio thread; never blocks (a full queue drops and counts)."""
        self.queue.put(item)

    def _signal(self, kind: str, value: int) -> None:
        """Called on the asyncio thread; the health change happens on the trio thread."""
        try:
            self.token.run_sync_soon(self._on_signal, kind, value)
        except trio.RunFinishedError:
            pass

    def _on_signal(self, kind: str, value: int) -> None:
        if kind == "connected":
            h = self.health
            h.state, h.retry_at = "connected", None
            h.connected_since = self.clock()
            if value:
                h.room = str(value)
            h.detail = f"room {h.room}" if h.room else ""
            log.info("TikTok chat connected (%s)", h.detail or self.cfg.unique_id)

    # -- trio side ----------------------------------------------------------------------
    async def drain(self) -> None:
        while True:
            items: list[Item] = []
            with trio.move_on_after(1.0):
                items = await self.queue.get_batch(BATCH_MAX)
            self.health.dropped = self.queue.dropped
            self._handle(items)

    def _handle(self, items: list[Item]) -> None:
        now = self.clock()
        batch: list[ChatMessage] = []
        for item in items:
            if isinstance(item, Moderation):      # after the comments before it
                hand_over(self.sink, self.health, batch, (), now, "TikTok")
                batch = []
                self._moderate(item)
                continue
            if self.recent.seen_before(item.msg_id):
                continue
            if isinstance(item, ChatMessage):
                batch.append(item)
            elif isinstance(item, GiftEventData):
                done = self.streaks.update(item.user_id, item.gift_id, item.repeat,
                                           item.diamonds, item.streaking, now,
                                           name=item.name, msg_id=item.msg_id)
                if done is not None:
                    self._gift(done)
            elif isinstance(item, ActivityEventData):
                self._activity(item)
        for gift in self.streaks.flush_idle(now):
            self._gift(gift)
        hand_over(self.sink, self.health, batch, (), now, "TikTok")

    def _moderate(self, action: Moderation) -> None:
        self.health.moderation += 1
        try:
            self.sink.submit_moderation(action)
        except Exception:  # noqa: BLE001 - a sink bug must not kill the chat source
            log.exception("chat sink rejected a TikTok deletion")

    def _gift(self, gift: GiftMessage) -> None:
        hand_over(self.sink, self.health, (), (gift,), time.time(), "TikTok")

    def _activity(self, item: ActivityEventData) -> None:
        try:
            self.sink.submit_activity(item.user_id, item.name, likes=item.likes,
                                      joins=item.joins)
        except Exception:  # noqa: BLE001
            log.exception("chat sink rejected TikTok viewer activity")

    async def supervise(self) -> None:
        key = resolve_secret(self.cfg.sign_api_key, self.cfg.sign_api_key_env)
        await _load_tiktoklive(self.settled)
        while True:
            h = self.health
            h.state, h.detail = "connecting", ""
            h.retry_at = h.connected_since = None
            attempt = ConnectionAttempt(self.cfg, sign_key=key, room_id=self.room_id,
                                        post=self._post, signal=self._signal, clock=self.clock)
            outcome = await self._run_attempt(attempt)
            self.likes += attempt.likes
            self.joins += attempt.joins
            if attempt.connected and outcome.kind in _DROPS:
                h.reconnects += 1
            elif not attempt.connected and outcome.kind not in ("offline", "stopped"):
                h.failures += 1
            state, delay = self._plan(outcome)
            h.state, h.connected_since = state, None
            h.retry_at = self.clock() + delay
            h.detail = outcome.detail or outcome.kind
            if outcome.kind == "live_end" and self.room_id is not None and self.cfg.unique_id:
                self.room_id = None   # that broadcast is over: find @unique_id's next room
                h.room = ""
            log.log(logging.INFO if state == "waiting_for_live" else logging.WARNING,
                    "TikTok chat: %s (%s); next attempt in %.1f s", outcome.kind, h.detail, delay)
            await trio.sleep(delay)

    async def _run_attempt(self, attempt: ConnectionAttempt) -> Outcome:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch, attempt)
            # not abandoned on cancel: _watch's finally cancels the asyncio task, and the
            # thread then closes its sockets and returns within about a second.
            outcome = await trio.to_thread.run_sync(attempt.run_blocking,
                                                    abandon_on_cancel=False)
            nursery.cancel_scope.cancel()
        return outcome

    async def _watch(self, attempt: ConnectionAttempt) -> None:
        """Cancel a connected attempt that stalls; cancel the attempt whenever we leave."""
        stall = max(self.cfg.stall_seconds, 0.01)
        interval = min(max(stall / 4, 0.01), 5.0)
        try:
            seen, since = -1, trio.current_time()
            while True:
                await trio.sleep(interval)
                now = trio.current_time()
                if not attempt.connected or attempt.activity != seen:
                    seen, since = attempt.activity, now
                elif now - since >= stall:
                    log.warning("TikTok chat stalled: no events for %.0f s; reconnecting", stall)
                    attempt.cancel("stall")
                    return
        finally:
            attempt.cancel("stopped")

    def _plan(self, outcome: Outcome) -> tuple[SourceState, float]:
        """Health state and delay before the next attempt."""
        if outcome.connected_for >= STABLE_AFTER or outcome.kind in ("offline", "live_end"):
            self.backoff.reset()
        if outcome.kind in ("offline", "live_end"):
            return "waiting_for_live", self.cfg.live_poll_seconds
        delay = self.backoff.next(self.rng.random())
        if outcome.kind == "rate_limited" and outcome.retry_after:
            delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER))
        return ("failed" if outcome.kind == "fatal" else "backing_off"), delay
