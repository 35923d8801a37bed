"""Which message set each viewer's ballot, and the one before (pure): what moderation needs.

Theory of operation: the tally (core/vote_tally.py) appends every message that set or
changed a ballot to its dirty list, in order, and nothing else on the hot path. `Setters`
learns from that list later — when the flusher drains it, or right before a moderator's
action — and keeps per viewer `(message id, choice, message id before, choice before)`
(choice before None: the viewer had no ballot). So a deleted message that set the ballot
can give back the ballot before it; two levels are kept, no more.

`settle` walks records in order (it also notes each viewer's latest record that names them,
for the drain's rows); `by_viewer` gets the same result from a list of named votes with dict
builds (C loops) instead of a Python step per record: only each viewer's last two records
matter. The index from message id to viewer is built at the first deletion and then kept
up to date by `settle`; the tally uses `settle` whenever the index exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from operator import add, attrgetter, itemgetter

from storyd.core.model import ChatMessage, ViewerKey, key_of_viewer_id
from storyd.core.vote_parse import parse_slow

Setter = tuple[str, int, str, int | None]

_KEY = attrgetter("key")
_TEXT = attrgetter("text")
_MSG_ID = attrgetter("msg_id")
_TOP = itemgetter(0, 1)                          # (message id, choice) of a Setter
_NOBODY = ("", None, "", None)                   # _TOP of it: no message, no ballot


def _choices(texts: list[str], table: dict[str, int]) -> Iterator[int | None]:
    """The choice of each vote text (the table, else the parser)."""
    cs: list[int | None] = list(map(table.get, texts))
    if None in cs:
        cs = [parse_slow(t) if c is None else c for t, c in zip(texts, cs, strict=True)]
    return iter(cs)


def _choice(text: str, table: dict[str, int]) -> int | None:
    c = table.get(text)
    return parse_slow(text) if c is None else c


class Setters:
    def __init__(self) -> None:
        self._rec: dict[ViewerKey, Setter] = {}
        self._by_msg: dict[str, ViewerKey] | None = None   # built at the first deletion

    @property
    def indexed(self) -> bool:
        return self._by_msg is not None

    def restored(self, key: ViewerKey, choice: int) -> None:
        """A ballot from before a restart: no message is known to have set it."""
        self._rec[key] = ("", choice, "", None)

    def forget(self, key: ViewerKey) -> None:
        self._rec.pop(key, None)

    def settle(self, records: list[ChatMessage], table: dict[str, int],
               latest: dict[ViewerKey, ChatMessage] | None = None) -> None:
        """Learn from `records` in order; with `latest`, note each viewer's latest record
        that names them (a gift or an operator's change names nobody)."""
        rec, index = self._rec, self._by_msg
        keyof = key_of_viewer_id
        for m in records:
            k = m.key or keyof(m.user_id)
            if latest is not None and (m.name or k not in latest):
                latest[k] = m
            if not m.text:          # gift weight or a moderator's change: no new setter
                continue
            c = _choice(m.text, table)
            if c is None:           # pragma: no cover - only votes are recorded
                continue
            old = rec.get(k)
            mid = m.msg_id
            rec[k] = (mid, c, "", None) if old is None else (mid, c, old[0], old[1])
            if index is not None and mid:
                index[mid] = k

    def by_viewer(self, records: list[ChatMessage],
                  table: dict[str, int]) -> dict[ViewerKey, ChatMessage]:
        """`settle` for records that are all named votes, without an index; returns each
        viewer's latest record, in first-touched order. Built with dict and map passes (C
        loops): no Python step per record or per viewer, but for keys a record lacks and
        texts the table does not hold (issue 23: the drain at 100k voters)."""
        keys: list[ViewerKey] = list(map(_KEY, records))
        if 0 in keys:
            keys = [m.key or key_of_viewer_id(m.user_id) for m in records]
        latest = dict(zip(keys, records, strict=True))      # first-touched order, last record
        rec = self._rec
        below: dict[ViewerKey | None, tuple[str, int | None]] = dict(
            zip(latest, map(_TOP, map(rec.get, latest, repeat(_NOBODY))), strict=True))
        if len(latest) < len(keys):        # some viewers have more than one record
            last_at = dict(zip(keys, range(len(keys)), strict=True))
            earlier: list[ViewerKey | None] = list(keys)
            for i in last_at.values():
                earlier[i] = None
            second = dict(zip(earlier, records, strict=True))
            second.pop(None, None)
            befores = zip(map(_MSG_ID, second.values()),
                          _choices(list(map(_TEXT, second.values())), table), strict=True)
            below.update(zip(second, befores, strict=True))
        ms = latest.values()
        tops = zip(map(_MSG_ID, ms), _choices(list(map(_TEXT, ms)), table), strict=True)
        rec.update(zip(latest, map(add, tops, map(below.__getitem__, latest)), strict=True))
        return latest

    def take_back(self, msg_id: str) -> tuple[ViewerKey, int | None] | None:
        """A deleted message: (viewer, the choice to fall back to or None for none) when it
        set a viewer's ballot; None when it changes no ballot (the fallback's own message is
        only forgotten)."""
        key = self._find(msg_id)
        if key is None:
            return None
        mid, choice, prev_mid, prev_choice = self._rec[key]
        if msg_id != mid:           # the fallback's message: nothing to fall back to now
            self._rec[key] = (mid, choice, "", None)
            return None
        if prev_choice is None:
            del self._rec[key]
        else:
            self._rec[key] = (prev_mid, prev_choice, "", None)
        return key, prev_choice

    def _find(self, msg_id: str) -> ViewerKey | None:
        index = self._by_msg
        if index is None or len(index) > 2 * len(self._rec) + 10_000:
            index = self._by_msg = {}
            for k, (mid, _, prev_mid, _) in self._rec.items():
                index[mid] = index[prev_mid] = k
            index.pop("", None)
        found = index.get(msg_id)
        rec = None if found is None else self._rec.get(found)
        return found if rec is not None and msg_id in (rec[0], rec[2]) else None
