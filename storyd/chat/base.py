"""What every chat source shares: the sink it feeds and the health it reports.

A chat source is a trio service `async def run(..., sink, health, *, task_status)`. It calls
`sink.submit(batch)` from the trio thread with a batch of ChatMessages (batches are what make
high chat rates cheap), `sink.submit_gift(gift)` for finished gift streaks (TikTok gifts,
Twitch cheers) and `sink.submit_activity(...)` for likes and joins (viewer stats only, never
a ballot). All three are synchronous, never block and never raise for bad viewer input.

Health lifecycle of a connecting source (TikTok, Twitch)::

    connecting -> connected -> (drop) -> backing_off -> connecting ...
    connecting -> (stream ended / account offline) -> waiting_for_live -> connecting ...
    connecting -> (error) -> backing_off (retry_at set, delay grows) -> connecting ...
    anything -> stopped (cancelled) ; failed (configuration the source cannot work with)

`reconnects` counts drops of a working connection only (failed attempts are `failures`);
`dropped` counts events thrown away because a bounded buffer was full. The message rate is
taken over a sliding 10 s window and decays to 0 when chat goes quiet. On the wire (`view`)
every time is epoch milliseconds named `*_ms`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import msgspec

from storyd.core.model import ChatMessage, GiftMessage
from storyd.core.ports import ChatSink, IngestResult
from storyd.core.snapshot import ChatSourceView, SourceState
from storyd.system import metrics

log = logging.getLogger(__name__)

RATE_WINDOW = 10   # seconds


class RateWindow:
    """Messages per second over the last `seconds` whole seconds (pure: time is passed in).

    One bucket per second in a ring; a bucket older than the window counts as 0, so the
    rate falls to 0 within `seconds` of the last message, whether or not anything is added.
    """

    def __init__(self, seconds: int = RATE_WINDOW) -> None:
        self.seconds = max(int(seconds), 1)
        self._counts = [0] * self.seconds
        self._stamps = [-1] * self.seconds   # the whole second each bucket holds

    def add(self, n: int, now: float) -> None:
        sec = int(now)
        i = sec % self.seconds
        if self._stamps[i] != sec:
            self._stamps[i], self._counts[i] = sec, 0
        self._counts[i] += n

    def rate(self, now: float) -> float:
        sec = int(now)
        low = sec - self.seconds
        total = sum(c for c, s in zip(self._counts, self._stamps, strict=True) if low < s <= sec)
        return total / self.seconds


def _ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


class ChatHealth(msgspec.Struct, kw_only=True):
    """Mutable health record of one chat source (times in epoch seconds); `view` is the wire."""

    source: str
    state: SourceState = "idle"
    detail: str = ""               # why failed/backing_off/waiting, or what is connected
    room: str = ""                 # TikTok room id / Twitch #channel, once known
    retry_at: float | None = None  # when backing off or waiting for the stream
    connected_since: float | None = None
    last_event_at: float | None = None
    messages: int = 0
    votes_accepted: int = 0
    votes_invalid: int = 0
    gifts: int = 0
    reconnects: int = 0            # drops of a working connection
    failures: int = 0              # connection attempts that never worked
    dropped: int = 0               # events lost to a full buffer (or too big to read)
    moderation: int = 0            # moderators' deletions, bans and timeouts seen
    counters: dict[str, int] = msgspec.field(default_factory=dict)   # source-specific tallies
    window: RateWindow = msgspec.field(default_factory=RateWindow)

    def count(self, result: IngestResult, n_messages: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.last_event_at = now
        self.window.add(n_messages, now)
        self.messages += n_messages
        metrics.count_chat(self.source, n_messages, result.accepted)
        self.votes_accepted += result.accepted
        self.votes_invalid += result.invalid

    def rate(self, now: float | None = None) -> float:
        """Messages per second over the last 10 s."""
        return self.window.rate(time.time() if now is None else now)

    def view(self, now: float | None = None) -> ChatSourceView:
        """The wire form: every time in epoch milliseconds (`*_ms`)."""
        now = time.time() if now is None else now
        return ChatSourceView(
            source=self.source, state=self.state, detail=self.detail, room=self.room,
            retry_at_ms=_ms(self.retry_at), connected_since_ms=_ms(self.connected_since),
            last_event_at_ms=_ms(self.last_event_at), messages=self.messages,
            votes_accepted=self.votes_accepted, votes_invalid=self.votes_invalid,
            gifts=self.gifts, reconnects=self.reconnects, failures=self.failures,
            dropped=self.dropped, moderation=self.moderation,
            rate=round(self.rate(now), 2), counters=dict(self.counters))


def hand_over(sink: ChatSink, health: ChatHealth, batch: Sequence[ChatMessage],
              gifts: Sequence[GiftMessage], now: float, platform: str) -> None:
    """Give one read's messages and finished gifts to the sink and count them in `health`.

    A sink that raises (a bug) costs that batch, logged, never the chat source: the batch is
    counted as ignored and the source keeps reading."""
    if batch:
        try:
            result = sink.submit(batch)
        except Exception:  # noqa: BLE001 - a sink bug must not kill the chat source
            log.exception("chat sink rejected a %s batch", platform)
            result = IngestResult(accepted=0, invalid=0, ignored=len(batch))
        health.count(result, len(batch), now)
    for gift in gifts:
        health.gifts += 1
        try:
            sink.submit_gift(gift)
        except Exception:  # noqa: BLE001
            log.exception("chat sink rejected a %s gift", platform)
