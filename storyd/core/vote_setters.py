"""Which message set each viewer's ballot, and the one before (pure): what moderation needs.

Theory of operation: the tally (core/vote_tally.py) appends every message that set or
changed a ballot to its dirty list, in order, and nothing else on the hot path. `Setters`
learns from that list later — when the flusher drains it, or right before a moderator's
action — and keeps per viewer the record (the ChatMessage) that set the ballot and the
record before it (None: the viewer had no ballot before). So a deleted message that set the
ballot can give back the ballot before it; two levels are kept, no more. The records are
kept as they are — no tuple is built and no choice parsed per record (issue 23: at 100k
voters the drain's per-viewer tuples were most of its cost: the drain now takes about half
the time); a choice is read from a record's text only when a deletion needs it. The price is
memory: the kept records hold their strings, about 340 bytes more per voter than the tuples
(66 MB against 32 MB for a round of 100k voters), freed with the round.

`settle` walks records in order (it also notes each viewer's latest record that names them,
for the drain's rows); `by_viewer` gets the same result from a list of named votes with dict
builds (C loops) instead of a Python step per record: only each viewer's last two records
matter. The index from message id to viewer is built at the first deletion and then kept
up to date by `settle`; the tally uses `settle` whenever the index exists.
"""

from __future__ import annotations

from operator import attrgetter

from storyd.core.model import CHOICE_KEYS, ChatMessage, ViewerKey, key_of_viewer_id
from storyd.core.vote_parse import parse_slow

_KEY = attrgetter("key")


def _choice(text: str, table: dict[str, int]) -> int | None:
    c = table.get(text)
    return parse_slow(text) if c is None else c


def _restored(key: ViewerKey, choice: int) -> ChatMessage:
    """The stand-in record of a ballot from before a restart (no message id: never deleted)."""
    return ChatMessage(platform="", user_id="", name="", text="!" + CHOICE_KEYS[choice],
                       key=key)


class Setters:
    def __init__(self) -> None:
        self._top: dict[ViewerKey, ChatMessage] = {}          # the record that set the ballot
        self._below: dict[ViewerKey, ChatMessage | None] = {}  # ... the one before (None: none)
        self._by_msg: dict[str, ViewerKey] | None = None       # built at the first deletion

    @property
    def indexed(self) -> bool:
        return self._by_msg is not None

    def restored(self, key: ViewerKey, choice: int) -> None:
        """A ballot from before a restart: no message is known to have set it."""
        self._top[key] = _restored(key, choice)
        self._below.pop(key, None)

    def forget(self, key: ViewerKey) -> None:
        self._top.pop(key, None)
        self._below.pop(key, None)

    def settle(self, records: list[ChatMessage],
               latest: dict[ViewerKey, ChatMessage] | None = None) -> None:
        """Learn from `records` in order; with `latest`, note each viewer's latest record
        that names them (a gift or an operator's change names nobody)."""
        top, below, index = self._top, self._below, self._by_msg
        keyof = key_of_viewer_id
        for m in records:
            k = m.key or keyof(m.user_id)
            if latest is not None and (m.name or k not in latest):
                latest[k] = m
            if not m.text:          # gift weight or a moderator's change: no new setter
                continue            # (every other record is a vote: its choice is read later)
            below[k] = top.get(k)
            top[k] = m
            if index is not None and m.msg_id:
                index[m.msg_id] = k

    def by_viewer(self, records: list[ChatMessage]) -> dict[ViewerKey, ChatMessage]:
        """`settle` for records that are all named votes, without an index; returns each
        viewer's latest record, in first-touched order. Built with dict and map passes (C
        loops): no Python step per record or per viewer, but for keys a record lacks
        (issue 23: the drain at 100k voters)."""
        keys: list[ViewerKey] = list(map(_KEY, records))
        if 0 in keys:
            keys = [m.key or key_of_viewer_id(m.user_id) for m in records]
        latest = dict(zip(keys, records, strict=True))      # first-touched order, last record
        top, below = self._top, self._below
        below.update(zip(latest, map(top.get, latest), strict=True))
        if len(latest) < len(keys):        # some viewers have more than one record
            last_at = dict(zip(keys, range(len(keys)), strict=True))
            earlier: list[ViewerKey | None] = list(keys)
            for i in last_at.values():
                earlier[i] = None
            second = dict(zip(earlier, records, strict=True))   # each one's record before
            second.pop(None, None)
            below.update(second)   # type: ignore[arg-type]  # None was popped
        top.update(latest)
        return latest

    def take_back(self, msg_id: str,
                  table: dict[str, int]) -> tuple[ViewerKey, int | None] | None:
        """A deleted message: (viewer, the choice to fall back to or None for none) when it
        set a viewer's ballot; None when it changes no ballot (the fallback's own message is
        only forgotten)."""
        key = self._find(msg_id)
        if key is None:
            return None
        top, below = self._top, self._below
        if top[key].msg_id != msg_id:   # the fallback's message: nothing to fall back to now
            below[key] = None
            return None
        fallback = below.pop(key, None)
        if fallback is None:
            del top[key]
            return key, None
        top[key] = fallback
        return key, _choice(fallback.text, table)

    def _find(self, msg_id: str) -> ViewerKey | None:
        index = self._by_msg
        top, below = self._top, self._below
        if index is None or len(index) > 2 * len(top) + 10_000:
            index = self._by_msg = {}
            for k, m in below.items():
                if m is not None:
                    index[m.msg_id] = k
            for k, m in top.items():
                index[m.msg_id] = k
            index.pop("", None)
        found = index.get(msg_id)
        if found is None or found not in top:
            return None
        before = below.get(found)
        return found if msg_id == top[found].msg_id or (
            before is not None and msg_id == before.msg_id) else None
