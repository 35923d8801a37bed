"""Likes and joins of viewers, added up in memory until the voting service's next flush.

They go to viewer stats (store `add_activity`), never to a ballot. At most MAX_VIEWERS
viewers wait at once: a full buffer asks for an early flush, and a new viewer's activity
is dropped (counted) until it is saved.
"""

from __future__ import annotations

import logging

import trio

from storyd.core.ports import StoryStore
from storyd.errors import StorydError

log = logging.getLogger(__name__)

MAX_VIEWERS = 100_000


class ViewerActivity:
    def __init__(self) -> None:
        self.dropped = 0
        self._pending: dict[str, tuple[str, int, int]] = {}  # viewer -> (name, likes, joins)

    def add(self, user_id: str, name: str, likes: int, joins: int) -> tuple[bool, bool]:
        """Count one viewer's likes/joins: (kept, full) — full asks for a flush now."""
        likes, joins = max(int(likes), 0), max(int(joins), 0)
        if not user_id or not (likes or joins):
            return False, False
        old = self._pending.get(user_id)
        if old is None and len(self._pending) >= MAX_VIEWERS:
            self.dropped += 1
            return False, True
        old_name, old_likes, old_joins = old or ("", 0, 0)
        self._pending[user_id] = (name or old_name, old_likes + likes, old_joins + joins)
        return True, len(self._pending) >= MAX_VIEWERS

    async def save(self, store: StoryStore, now: float) -> None:
        """What waits, to viewer stats (a failure costs those likes, never the show)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        rows = [(vid, name, likes, joins) for vid, (name, likes, joins) in pending.items()]
        try:
            with trio.CancelScope(shield=True):
                await store.add_activity(rows, now=now)
        except StorydError as exc:
            self.dropped += len(rows)
            log.warning("likes/joins of %d viewers not saved: %s", len(rows), exc)
