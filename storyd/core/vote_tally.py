"""The ballots of one voting round (pure: no I/O, no clock); closing is in core/voting.py.

Theory of operation
-------------------
One ballot per viewer: `_ballots[key] = choice`, where `key` is the viewer's key
(core/model.py `viewer_key`: an int for TikTok and Twitch, so no string is hashed per
message). When gift votes are on, `_gifts[key]` holds extra weight; a ballot weighs
``1 + gift weight``. The invariant everything relies on::

    _counts[i] == sum(1 + _gifts.get(k, 0) for k, c in _ballots.items() if c == i)

`ingest` keeps it incrementally (a change moves the whole weight), so reading the counts
is O(choices) however large the audience. Gift weight of a viewer without a ballot waits
in `_held` (capped like any gift weight) and joins their first ballot of the round.

`ingest` (core/vote_intake.py) is the hot path and does as little per message as Python
allows: one lookup of the text in the round's table of texts, one lookup of the viewer's
ballot, and for a repeated vote nothing else; a text is parsed once per round (the table,
bounded, remembers the answer; most chat is told by its first character). Only a message that
sets or changes a ballot costs more: the count moves and the message is appended to `_dirty`
(append-only, no per-message allocation).

Moderation (`retract`, `remove_viewer`): a deleted message that set a viewer's ballot
gives the viewer back the ballot before it (or none); a deleted message that set the
ballot before only forgets that fallback; any other deleted message (chat, a repeat of the
same vote, an older superseded vote) changes nothing; a banned or timed-out viewer's ballot
is removed. Which message set which ballot is learnt from `_dirty` later, not per message
(core/vote_setters.py: two levels per viewer).

`drain_dirty` turns `_dirty` into rows for batch persistence — one per viewer touched, in
first-touched order, with the ballot as it is now (choice -1: the ballot was removed) — and
clears it, so a crash loses only what was not drained yet. `restore` reloads stored rows
without marking them dirty. A row's name is the name of the viewer's latest message ("" when
an operator or a gift touched it: the stored name stays).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from operator import add, attrgetter
from typing import Literal, cast

from storyd.core.model import (
    CHOICE_KEYS,
    MAX_CHOICES,
    ChatMessage,
    ViewerKey,
    key_of_viewer_id,
    viewer_id_of_key,
)
from storyd.core.ports import TallyRules
from storyd.core.vote_intake import Intake, text_table
from storyd.core.vote_setters import Setters

Ballot = tuple[str, str, int, int]   # (viewer_id, name, choice, weight); choice -1: removed

_HELD_CAP = 100_000       # viewers with gift weight held before their first ballot
_USER_ID = attrgetter("user_id")
_NAME = attrgetter("name")


def _touch(key: ViewerKey) -> ChatMessage:
    """A dirty record for a ballot changed by no chat message (operator, gift, moderation)."""
    return ChatMessage(platform="", user_id=viewer_id_of_key(key), name="", text="", key=key)


class Tally(Intake):
    """Ballots of one round. Not thread-safe; one owner (the voting service) calls it."""

    def __init__(self, n_choices: int, rules: TallyRules,
                 commands: frozenset[str] = frozenset()) -> None:
        if not 1 <= n_choices <= MAX_CHOICES:
            raise ValueError(f"a round needs 1..{MAX_CHOICES} choices, got {n_choices}")
        self.n_choices = n_choices
        self.rules = rules
        self.closed = False
        self.invalid = 0
        self.moderated = 0                          # ballots taken back by moderators
        self.commands = commands                    # chat command words (see vote_parse)
        self.found_commands: list[tuple[str, ChatMessage]] = []
        self._table = text_table(n_choices)       # text -> choice, CHAT or MISSING
        self._n_votes = self._n_chat = 0          # texts learned (core/vote_intake.py)
        self._ballots: dict[ViewerKey, int] = {}
        self._gifts: dict[ViewerKey, int] = {}
        self._held: dict[ViewerKey, int] = {}
        self._counts = [0] * n_choices
        self._dirty: list[ChatMessage] = []
        self._settled = 0                         # _dirty[:_settled] is in _setters
        self._odd = 0       # records in _dirty that set no ballot or name nobody (see drain)
        self._setters = Setters()                 # two levels per viewer, for moderation

    def cast(self, viewer_id: str, choice: int, name: str = "") -> bool:
        """Record or change one ballot (operator `vote`, demo audience). True when it counted;
        a missing choice counts as invalid. Never raises."""
        if self.closed:
            return False
        if not 0 <= choice < self.n_choices:
            self.invalid += 1
            return False
        key = key_of_viewer_id(viewer_id)
        prev = self._ballots.get(key)
        if prev == choice or (prev is not None and not self.rules.allow_change):
            return False
        held = self._held.pop(key, None) if prev is None else None
        self._set(key, choice, gift=held)
        self._odd += not name
        self._dirty.append(ChatMessage(platform="local", user_id=viewer_id, name=name,
                                       text="!" + CHOICE_KEYS[choice], key=key))
        return True

    def add_gift(self, viewer_id: str, amount: int, *,
                 unit: Literal["diamonds", "bits", "votes"] = "diamonds") -> int:
        """Add `amount // diamonds_per_vote` (TikTok diamonds) or `amount // bits_per_vote`
        (Twitch bits) weight to the viewer's ballot, capped at `max_gift_weight` per viewer and
        round. A viewer without a ballot yet has the weight held (same cap) and applied when
        they vote this round. Returns the weight added to the tally now (0 when gift votes are
        off, the round is closed, or the weight is held)."""
        r = self.rules   # "votes": weight as it is (Twitch channel points), gift votes or not
        if not (r.gift_votes or unit == "votes") or self.closed or amount <= 0:
            return 0
        per = 1 if unit == "votes" else r.bits_per_vote if unit == "bits" else r.diamonds_per_vote
        key = key_of_viewer_id(viewer_id)
        choice = self._ballots.get(key)
        if choice is None:
            held = self._held.get(key)
            if held is None and len(self._held) >= _HELD_CAP:
                return 0
            have = held or 0
            add = min(amount // max(per, 1), r.max_gift_weight - have)
            if add > 0:
                self._held[key] = have + add
            return 0
        have = self._gifts.get(key, 0)
        add = min(amount // max(per, 1), r.max_gift_weight - have)
        if add <= 0:
            return 0
        self._gifts[key] = have + add
        self._counts[choice] += add
        self._dirty.append(_touch(key))
        self._odd += 1
        return add

    def restore(self, ballots: Iterable[Ballot]) -> list[Ballot]:
        """Reload persisted ballots after a restart (they are not dirty). Returns the rows
        skipped because they name a missing choice."""
        skipped = []
        for viewer_id, name, choice, weight in ballots:
            if not 0 <= choice < self.n_choices:
                skipped.append((viewer_id, name, choice, weight))
                continue
            key = key_of_viewer_id(viewer_id)
            self._set(key, choice, gift=max(weight - 1, 0))
            self._setters.restored(key, choice)
        return skipped

    def _set(self, key: ViewerKey, choice: int, gift: int | None = None) -> None:
        prev = self._ballots.get(key)
        old_gift = self._gifts.get(key, 0)
        if prev is not None:
            self._counts[prev] -= 1 + old_gift
        if gift is None:
            gift = old_gift
        if gift:
            self._gifts[key] = gift
        else:
            self._gifts.pop(key, None)
        self._ballots[key] = choice
        self._counts[choice] += 1 + gift

    def _remove(self, key: ViewerKey) -> None:
        choice = self._ballots.pop(key)
        self._counts[choice] -= 1 + self._gifts.pop(key, 0)
        self._setters.forget(key)

    # -- moderation --------------------------------------------------------------------------

    def retract(self, msg_id: str) -> bool:
        """A moderator deleted the message `msg_id` (see the module docstring). True when a
        ballot changed."""
        if self.closed or not msg_id:
            return False
        self._settle()
        hit = self._setters.take_back(msg_id, self._table)
        if hit is None:
            return False
        key, fallback = hit
        if fallback is None or not 0 <= fallback < self.n_choices:
            self._remove(key)
        else:
            self._set(key, fallback)
        self._moderated(key)
        return True

    def remove_viewer(self, key: ViewerKey) -> bool:
        """A banned or timed-out viewer: their ballot in this round goes (held gift weight
        too). True when they had one."""
        self._held.pop(key, None)
        if self.closed or key not in self._ballots:
            return False
        self._settle()
        self._remove(key)
        self._moderated(key)
        return True

    def _moderated(self, key: ViewerKey) -> None:
        self.moderated += 1
        self._dirty.append(_touch(key))
        self._settled = len(self._dirty)

    def _settle(self, latest: dict[ViewerKey, ChatMessage] | None = None) -> None:
        """`_setters` up to date with every ballot set since the last time."""
        records = self._dirty
        if self._settled < len(records):
            self._setters.settle(records[self._settled:], latest)
            self._settled = len(records)

    # -- reading -----------------------------------------------------------------------------

    @property
    def counts(self) -> tuple[int, ...]:
        """Weighted counts per choice (1 per ballot plus gift weight)."""
        return tuple(self._counts)

    @property
    def voters(self) -> int:
        """Distinct viewers holding a ballot."""
        return len(self._ballots)

    def held_weight(self, viewer_id: str) -> int:
        """Gift weight waiting for this viewer's first ballot of the round."""
        return self._held.get(key_of_viewer_id(viewer_id), 0)

    def ballot_of(self, viewer_id: str) -> tuple[int, int] | None:
        """(choice, weight) of one viewer's ballot, or None."""
        key = key_of_viewer_id(viewer_id)
        choice = self._ballots.get(key)
        return None if choice is None else (choice, 1 + self._gifts.get(key, 0))

    def ballot_rows(self) -> list[tuple[str, int, int]]:
        """(viewer_id, choice, weight) of every ballot (tests and small tools; O(voters))."""
        gifts = self._gifts
        return [(viewer_id_of_key(k), c, 1 + gifts.get(k, 0)) for k, c in self._ballots.items()]

    def drain_dirty(self) -> list[Ballot]:
        """Ballots set, changed or removed since the last drain, one row per viewer in
        first-touched order, as they are now (a removed ballot: choice -1, weight 0)."""
        records = self._dirty
        if not records:
            return []
        if self._settled or self._odd or self._setters.indexed:
            latest = self._drain_in_order(records)
        else:
            latest = self._setters.by_viewer(records)
        self._dirty, self._settled, self._odd = [], 0, 0
        ballots, gifts = self._ballots, self._gifts
        choices = list(map(ballots.get, latest))
        if None not in choices:             # no ballot removed: rows in C loops (issue 23)
            ms = latest.values()
            n = len(choices)
            weights = (map(add, repeat(1, n), map(gifts.get, latest, repeat(0, n))) if gifts
                       else repeat(1, n))
            return list(zip(map(_USER_ID, ms), map(_NAME, ms), cast("list[int]", choices),
                            weights, strict=True))
        rows = []
        for key, m in latest.items():
            c = ballots.get(key)
            if c is None:
                rows.append((m.user_id, m.name, -1, 0))
            else:
                rows.append((m.user_id, m.name, c, 1 + gifts.get(key, 0) if gifts else 1))
        return rows

    def _drain_in_order(self, records: list[ChatMessage]) -> dict[ViewerKey, ChatMessage]:
        """Every record in turn: after a moderator acted, with gifts, unnamed operator votes
        or requeued rows in the list, or once the message index exists."""
        latest: dict[ViewerKey, ChatMessage] = {}
        for m in records[:self._settled]:   # settled before (a moderator acted): rows only
            k = m.key or key_of_viewer_id(m.user_id)
            if m.name or k not in latest:
                latest[k] = m
        self._settle(latest)
        return latest

    def requeue(self, rows: Iterable[Ballot]) -> None:
        """Rows whose save failed: dirty again, so the next drain retries them."""
        for viewer_id, name, _choice, _weight in rows:
            self._odd += 1
            self._dirty.append(ChatMessage(platform="", user_id=viewer_id, name=name, text="",
                                           key=key_of_viewer_id(viewer_id)))
