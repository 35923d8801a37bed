"""What every chat source shares: the sink it feeds and the health it reports.

A chat source is a trio service `async def run(..., sink, health, *, task_status)`. It calls
`sink.submit(batch)` from the trio thread with a batch of ChatMessages (batches are what make
high chat rates cheap), `sink.submit_gift(gift)` for finished gift streaks and
`sink.submit_activity(...)` for likes and joins (viewer stats only, never a ballot). All three
are synchronous, never block and never raise for bad viewer input.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec

from storyd.core.ports import ChatSink, IngestResult

__all__ = ["ChatHealth", "ChatSink", "IngestResult", "SourceState"]

SourceState = Literal["idle", "connecting", "connected", "waiting_for_live", "backing_off",
                      "failed", "stopped"]


class ChatHealth(msgspec.Struct, kw_only=True):
    """Mutable health record of one chat source; the snapshot shows a copy."""

    source: str
    state: SourceState = "idle"
    detail: str = ""               # reason for failed/backing_off, room id when connected ...
    retry_at: float | None = None  # epoch seconds, when backing off
    connected_since: float | None = None
    last_event_at: float | None = None
    messages: int = 0
    votes_accepted: int = 0
    votes_invalid: int = 0
    gifts: int = 0
    reconnects: int = 0
    dropped: int = 0
    rate: float = 0.0              # messages per second, smoothed

    def count(self, result: IngestResult, n_messages: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if self.last_event_at is not None:
            dt = max(now - self.last_event_at, 1e-3)
            inst = n_messages / dt
            self.rate = 0.8 * self.rate + 0.2 * min(inst, 1e7)
        self.last_event_at = now
        self.messages += n_messages
        self.votes_accepted += result.accepted
        self.votes_invalid += result.invalid

    def view(self, now: float | None = None) -> dict[str, object]:
        now = time.time() if now is None else now
        data = msgspec.to_builtins(self)
        data["last_event_age"] = (None if self.last_event_at is None
                                  else round(now - self.last_event_at, 1))
        return data  # type: ignore[no-any-return]
