"""TikTok LIVE chat source: the trio service around TikTokLive.

Theory of operation:
- `run()` starts a drain task, reports started (the machinery is up; connecting may take
  minutes and must not hold up the daemon), then loops over connection attempts forever.
- Each attempt is a fresh `ConnectionAttempt` (storyd/chat/tiktok_thread.py) run with
  `trio.to_thread.run_sync` on its own asyncio loop. Its handlers call `_post` from the
  asyncio thread, which schedules `_deliver` on the trio thread with the trio token;
  `_deliver` puts the item into a bounded channel with `send_nowait` (full: drop and count
  in `health.dropped`) so the asyncio side never blocks. Connect/live-end signals skip the
  channel (they mutate health directly on the trio thread) so they are never dropped.
- The drain task takes one item, then up to BATCH_MAX more without waiting, drops repeated
  message ids, submits comments as one batch, feeds gifts to the streak tracker and hands
  likes/joins to `sink.submit_activity` (viewer stats only); idle streaks are flushed about
  once a second. Likes and joins travel the same bounded channel as comments.
- A watcher per attempt forces a reconnect when a connected attempt shows no websocket
  activity for `stall_seconds`, and in its `finally` cancels the attempt, which is how trio
  cancellation reaches the asyncio loop (`call_soon_threadsafe(task.cancel)`) within ~1 s.
- Between attempts: exponential backoff with jitter; the sign server's retry-after wins
  when longer; an offline account is polled every OFFLINE_POLL seconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import trio

from storyd.chat.base import ChatHealth, ChatSink, IngestResult, SourceState
from storyd.chat.tiktok_rules import Backoff, GiftStreaks, RecentIds
from storyd.chat.tiktok_thread import (
    ActivityEventData,
    ConnectionAttempt,
    GiftEventData,
    Item,
    Outcome,
    prime_event_metadata,
)
from storyd.config import TikTokConfig, resolve_secret
from storyd.core.model import ChatMessage, GiftMessage

log = logging.getLogger(__name__)

CHANNEL_SIZE = 8192     # events between the asyncio thread and trio; full: drop newest, count
BATCH_MAX = 512
GIFT_IDLE_SECONDS = 10.0
OFFLINE_POLL = 60.0
STABLE_AFTER = 60.0     # a connection up this long resets the backoff
MAX_RETRY_AFTER = 3600.0


async def run(cfg: TikTokConfig, sink: ChatSink, health: ChatHealth, *,
              clock: Callable[[], float] = time.time, room_id: int | None = None,
              rng: random.Random | None = None,
              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Feed TikTok LIVE comments and gifts of `cfg.unique_id` into `sink` until cancelled.

    Never raises for connection trouble: it is shown in `health` and retried. `room_id`
    connects straight to a known room (skips the room-id scrape and the live check).
    """
    source = _TikTokSource(cfg, sink, health, clock, room_id, rng or random.Random())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(source.drain)
        task_status.started()
        if not cfg.unique_id and room_id is None:
            health.state, health.detail = "failed", "set [chat.tiktok] unique_id (the @handle)"
            log.error("TikTok chat source: %s", health.detail)
            await trio.sleep_forever()
        await source.supervise()


class _TikTokSource:
    def __init__(self, cfg: TikTokConfig, sink: ChatSink, health: ChatHealth,
                 clock: Callable[[], float], room_id: int | None, rng: random.Random) -> None:
        self.cfg, self.sink, self.health, self.clock = cfg, sink, health, clock
        self.room_id = room_id
        self.rng = rng
        self.token = trio.lowlevel.current_trio_token()
        # bounded; overflow policy: drop the newest item and count it in health.dropped
        self.send, self.recv = trio.open_memory_channel[Item](CHANNEL_SIZE)
        self.recent = RecentIds(10_000)
        self.streaks = GiftStreaks(GIFT_IDLE_SECONDS)
        self.backoff = Backoff(cfg.backoff_initial, cfg.backoff_max)
        self.likes = 0
        self.joins = 0
        health.source = health.source or "tiktok"

    # -- asyncio thread -> trio ---------------------------------------------------------
    def _post(self, item: Item) -> None:
        """Called on the asyncio thread; never blocks."""
        try:
            self.token.run_sync_soon(self._deliver, item)
        except trio.RunFinishedError:
            pass

    def _signal(self, kind: str, value: int) -> None:
        """Called on the asyncio thread; the health change happens on the trio thread."""
        try:
            self.token.run_sync_soon(self._on_signal, kind, value)
        except trio.RunFinishedError:
            pass

    def _deliver(self, item: Item) -> None:
        try:
            self.send.send_nowait(item)
        except trio.WouldBlock:
            self.health.dropped += 1
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def _on_signal(self, kind: str, value: int) -> None:
        if kind == "connected":
            h = self.health
            h.state, h.retry_at = "connected", None
            h.connected_since = self.clock()
            h.detail = f"room {value}" if value else ""
            log.info("TikTok chat connected (%s)", h.detail or self.cfg.unique_id)

    # -- trio side ----------------------------------------------------------------------
    async def drain(self) -> None:
        while True:
            items: list[Item] = []
            with trio.move_on_after(1.0):
                items.append(await self.recv.receive())
                while len(items) < BATCH_MAX:
                    try:
                        items.append(self.recv.receive_nowait())
                    except trio.WouldBlock:
                        break
            self._handle(items)

    def _handle(self, items: list[Item]) -> None:
        now = self.clock()
        batch: list[ChatMessage] = []
        for item in items:
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
        if batch:
            try:
                result = self.sink.submit(batch)
            except Exception:  # noqa: BLE001 - a sink bug must not kill the chat source
                log.exception("chat sink rejected a TikTok batch")
                result = IngestResult(accepted=0, invalid=0, ignored=len(batch))
            self.health.count(result, len(batch), now)

    def _gift(self, gift: GiftMessage) -> None:
        self.health.gifts += 1
        try:
            self.sink.submit_gift(gift)
        except Exception:  # noqa: BLE001
            log.exception("chat sink rejected a TikTok gift")

    def _activity(self, item: ActivityEventData) -> None:
        try:
            self.sink.submit_activity(item.user_id, item.name, likes=item.likes,
                                      joins=item.joins)
        except Exception:  # noqa: BLE001
            log.exception("chat sink rejected TikTok viewer activity")

    async def supervise(self) -> None:
        prime_event_metadata()
        key = resolve_secret(self.cfg.sign_api_key, self.cfg.sign_api_key_env)
        attempts = 0
        while True:
            if attempts:
                self.health.reconnects += 1
            attempts += 1
            self.health.state, self.health.detail = "connecting", ""
            self.health.retry_at = self.health.connected_since = None
            attempt = ConnectionAttempt(self.cfg, sign_key=key, room_id=self.room_id,
                                        post=self._post, signal=self._signal, clock=self.clock)
            outcome = await self._run_attempt(attempt)
            self.likes += attempt.likes
            self.joins += attempt.joins
            state, delay = self._plan(outcome)
            h = self.health
            h.state, h.connected_since = state, None
            h.retry_at = self.clock() + delay
            h.detail = outcome.detail or outcome.kind
            log.log(logging.INFO if outcome.kind in ("live_end", "offline") else logging.WARNING,
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
        cfg = self.cfg
        if outcome.connected_for >= STABLE_AFTER or outcome.kind == "offline":
            self.backoff.reset()
        if outcome.kind == "offline":
            return "waiting_for_live", min(max(OFFLINE_POLL, cfg.backoff_initial), cfg.backoff_max)
        delay = self.backoff.next(self.rng.random())
        if outcome.kind == "rate_limited" and outcome.retry_after:
            delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER))
        return ("failed" if outcome.kind == "fatal" else "backing_off"), delay
