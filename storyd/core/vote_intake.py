"""Counting chat messages into a round's ballots: the vote core's hot path (pure).

Theory of operation (the ballots, counts and dirty records it keeps are core/vote_tally.py's):
every message costs one lookup of its text in the round's table of texts and, for a vote,
one lookup of the viewer's ballot; a repeated vote costs nothing else. Only a message that
sets or changes a ballot moves a count and is appended to the dirty list (the common-case
loop sums a batch's moves in small ints and adds them to the counts at the batch's end).

The table (`_table`) maps each text the round has classified to its answer: a choice index
(>= 0), `CHAT` (not a vote) or `MISSING` (a vote for a choice the round lacks: counted as
invalid every time). It starts as vote_parse.EXACT and learns what `parse_slow` decides for
each new text that may be a vote; a text whose first character cannot start a vote (most
chat), or one that starts like a bare vote (`a`, `2`) and goes on past the longest bare vote,
is chat by vote_parse's first two rules, told without a call and not learned (chat lines are
mostly seen once). Both kinds of learning are
bounded: past `_TABLE_CAP` learned vote texts the parser runs every time; past `_CHATTER_CAP`
learned non-votes they are forgotten and learned again. Chat commands (`!join`) are found
every time they are typed, never learned.

Two loops share that classification: the common case (no gift weight anywhere in the round,
changes allowed) counts a ballot as 1; the other handles gift weight, weight held for a
viewer's first ballot and refused changes. Both give the same dirty records and counts for
the same messages (tests/test_vote_tally_model.py checks them against a reference model).
"""

from __future__ import annotations

from collections.abc import Sequence

from storyd.core.model import ChatMessage, ViewerKey, key_of_viewer_id
from storyd.core.ports import IngestResult, TallyRules
from storyd.core.vote_parse import BARE_START, EXACT, MAX_BARE, MAY_START, command_word, parse_slow

CHAT = -1        # the table's answer for a text that is not a vote
MISSING = -2     # ... for a vote naming a choice the round lacks
_TABLE_CAP = 50_000       # learned vote texts per round (then: parsed every time)
_CHATTER_CAP = 50_000     # learned non-vote texts per round (then: forgotten, relearned)


def text_table(n_choices: int) -> dict[str, int]:
    """A round's table before it learns anything (the empty text is chat)."""
    table = {t: c if c < n_choices else MISSING for t, c in EXACT.items()}
    table[""] = CHAT
    return table


class Intake:
    """`ingest` for core/vote_tally.py's Tally (which sets every attribute named here)."""

    n_choices: int
    rules: TallyRules
    closed: bool
    invalid: int
    commands: frozenset[str]
    found_commands: list[tuple[str, ChatMessage]]
    _table: dict[str, int]
    _n_votes: int
    _n_chat: int
    _ballots: dict[ViewerKey, int]
    _gifts: dict[ViewerKey, int]
    _held: dict[ViewerKey, int]
    _counts: list[int]
    _dirty: list[ChatMessage]

    def ingest(self, batch: Sequence[ChatMessage]) -> IngestResult:
        """Count a batch of chat messages. Chatter, repeats, refused changes and everything
        after close are `ignored`; votes for a missing choice are `invalid`."""
        if self.closed:
            return IngestResult(0, 0, len(batch))
        if self._gifts or self._held or not self.rules.allow_change:
            return self._ingest_weighted(batch)
        vget = self._table.get
        may_start = MAY_START
        bare_start = BARE_START
        learn = self._learn
        ballots = self._ballots
        bget = ballots.get
        up = [0] * self.n_choices     # this batch's moves: small ints, no int allocated per vote
        down = [0] * self.n_choices
        dirty = self._dirty
        n0 = len(dirty)
        missing = 0
        try:
            for m in batch:
                c = vget(m.text)
                if c is None:                       # a text new to this round (never "")
                    t = m.text
                    if t[0] not in may_start or (len(t) > MAX_BARE and t[0] in bare_start
                                                 and not t[MAX_BARE:].isspace()):
                        continue                    # chat (parse_slow's first two rules)
                    c = learn(m)
                if c < 0:
                    if c == MISSING:
                        missing += 1
                    continue
                k = m.key
                p = bget(k)                         # no ballot has key 0
                if p is c:      # choices are small ints: one object per value
                    continue
                if p is None and not k:             # a message without a key: its viewer id's
                    k = key_of_viewer_id(m.user_id)
                    p = bget(k)
                    if p is c:
                        continue
                ballots[k] = c
                up[c] += 1
                if p is not None:
                    down[p] += 1
                dirty.append(m)
        finally:                                # the counts move even if a message raised
            counts = self._counts
            for i, (u, d) in enumerate(zip(up, down, strict=True)):
                counts[i] += u - d
        return self._result(len(batch), len(dirty) - n0, missing)

    def _ingest_weighted(self, batch: Sequence[ChatMessage]) -> IngestResult:
        """`ingest` with gift weight in the round, or with changes refused."""
        vget = self._table.get
        may_start = MAY_START
        bare_start = BARE_START
        learn = self._learn
        ballots = self._ballots
        bget = ballots.get
        counts = self._counts
        gifts = self._gifts
        held = self._held
        dirty = self._dirty
        allow_change = self.rules.allow_change
        n0 = len(dirty)
        missing = 0
        for m in batch:
            c = vget(m.text)
            if c is None:
                t = m.text
                if t[0] not in may_start or (len(t) > MAX_BARE and t[0] in bare_start
                                             and not t[MAX_BARE:].isspace()):
                    continue
                c = learn(m)
            if c < 0:
                if c == MISSING:
                    missing += 1
                continue
            k = m.key or key_of_viewer_id(m.user_id)
            p = bget(k)
            if p is c:
                continue
            if p is None:
                ballots[k] = c
                if held and k in held:
                    g = gifts[k] = held.pop(k)
                    counts[c] += 1 + g
                else:
                    counts[c] += 1
            elif allow_change:
                ballots[k] = c
                w = 1 + gifts.get(k, 0) if gifts else 1
                counts[p] -= w
                counts[c] += w
            else:
                continue
            dirty.append(m)
        return self._result(len(batch), len(dirty) - n0, missing)

    def _result(self, n: int, accepted: int, missing: int) -> IngestResult:
        self.invalid += missing
        return IngestResult(accepted, missing, n - accepted - missing)

    def _learn(self, m: ChatMessage) -> int:
        """A text the table does not know yet: parse it once and remember the answer."""
        t = m.text
        c = parse_slow(t)
        table = self._table
        if c is not None and c < self.n_choices:
            if self._n_votes < _TABLE_CAP:
                self._n_votes += 1
                table[t] = c
            return c
        if c is None:
            if self.commands:
                word = command_word(t, self.commands)
                if word is not None:
                    self.found_commands.append((word, m))
                    return CHAT
            c = CHAT
        else:
            c = MISSING
        if self._n_chat >= _CHATTER_CAP:          # forget every learned non-vote
            for text in [text for text, answer in table.items() if answer < 0]:
                del table[text]
            table[""] = CHAT
            self._n_chat = 0
        self._n_chat += 1
        table[t] = c
        return c
