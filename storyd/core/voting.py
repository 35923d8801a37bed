"""The tally of one voting round (pure: no I/O, no clock); parsing is in vote_parse.py.

Theory of operation
-------------------
A `VoteRound` holds one ballot per viewer: `_ballots[viewer] = choice` plus, when gift votes
are on, extra weight in `_gifts[viewer]`. A ballot weighs ``1 + gift weight``. The invariant
that everything else relies on is::

    _counts[i] == sum(1 + _gifts.get(v, 0) for v, c in _ballots.items() if c == i)

`ingest` keeps it incrementally (a change moves the whole weight), so reading the counts is
O(choices) however large the audience. Gift weight given by a viewer who has no ballot yet
is held in `_held` (capped like any gift weight) and moves into `_gifts` with their first
ballot of the round; held weight is in no count.

`ingest` is the hot path: a batch of chat messages goes through one tight loop with locals
bound once, an exact-string dict lookup first (most votes are exactly "!a", "B", "1" ...),
then a 3-character prefix lookup ("!a lets go"), and the general parser only for the few
messages whose first character could start a vote.

A ballot keeps the display name of the viewer's first vote-shaped message this round
(changing a vote does not touch `_names`: one store fewer on the hot path).

Every viewer whose ballot was added or changed lands in `_dirty` (a dict used as an ordered
set); `drain_dirty` turns it into rows for batch persistence and clears it, so a crash loses
only what was not drained yet. `restore` reloads those rows without marking them dirty.

Closing decides the winner once: the weighted leader; on a tie or with no ballots the
configured policy applies: "first" (lowest tied index), "random" (seeded, the tied set and
the pick are recorded) or "extend" (once, by `on_deadline`; a later tie or empty round falls
back to "random"; an operator `close` never extends). A closed round is frozen: `close` and
`on_deadline` return the same result and further chat is ignored.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec

from storyd.core.model import CHOICE_KEYS, MAX_CHOICES, ChatMessage
from storyd.core.ports import IngestResult, VotingSettings
from storyd.core.vote_parse import (
    EXACT,
    MAY_START,
    PREFIX3,
    parse_slow,  # re-exported
)
from storyd.errors import RefusedError

log = logging.getLogger(__name__)

Policy = Literal["random", "first", "extend"]

class RoundRules(msgspec.Struct, frozen=True, kw_only=True):
    """The rules of one round: a copy of `[voting]`, so a reload never changes a live round."""

    allow_change: bool = True
    early_close: bool = False
    min_votes: int = 10
    swing: int = 5
    tie_break: Policy = "random"
    no_votes: Policy = "random"
    extend_seconds: float = 20.0
    gift_votes: bool = False
    diamonds_per_vote: int = 1
    bits_per_vote: int = 100
    max_gift_weight: int = 10

    @classmethod
    def from_config(cls, v: VotingSettings) -> RoundRules:
        return cls(allow_change=v.allow_change, early_close=v.early_close,
                   min_votes=v.min_votes, swing=v.swing, tie_break=v.tie_break,
                   no_votes=v.no_votes, extend_seconds=float(v.extend_seconds),
                   gift_votes=v.gift_votes, diamonds_per_vote=v.diamonds_per_vote,
                   bits_per_vote=v.bits_per_vote, max_gift_weight=v.max_gift_weight)


class RoundResult(msgspec.Struct, frozen=True):
    """How a round ended. `tied` lists the indices a tie/no-vote policy chose among."""

    winner: int
    counts: tuple[int, ...]     # weighted
    voters: int                 # distinct viewers with a ballot
    # None, "random", "first", "forced", "no_votes_random" or "no_votes_first"
    tie_break: str | None
    tied: tuple[int, ...]
    early: bool
    forced: bool


class Extended(msgspec.Struct, frozen=True):
    """`on_deadline` moved the deadline once instead of closing."""

    ends_at: float
    reason: str                 # "tie" | "no_votes"


# msg ids only guard against a source replaying recent messages (reconnects): forgetting old
# ones after this many keeps a long, busy round's memory bounded.
_SEEN_IDS_CAP = 200_000
# gift weight held for viewers without a ballot yet: at most this many viewers per round
_HELD_CAP = 100_000

Ballot = tuple[str, str, int, int]   # (viewer_id, name, choice, weight)


class VoteRound:
    """The tally of one voting round. Not thread-safe; one owner (the voting service) calls it."""

    def __init__(self, *, round_id: int, n_choices: int, rules: RoundRules, opens_at: float,
                 ends_at: float, seed: int) -> None:
        if not 1 <= n_choices <= MAX_CHOICES:
            raise ValueError(f"a round needs 1..{MAX_CHOICES} choices, got {n_choices}")
        if ends_at < opens_at:
            raise ValueError(f"round ends ({ends_at}) before it opens ({opens_at})")
        self.round_id = round_id
        self.n_choices = n_choices
        self.rules = rules
        self.opens_at = opens_at
        self.ends_at = ends_at
        self.extended = False
        self.closed = False
        self.closed_at: float | None = None
        self.result: RoundResult | None = None
        self.invalid = 0
        self._rng = random.Random(seed)
        self._ballots: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self._gifts: dict[str, int] = {}          # viewer -> extra weight from gifts
        self._held: dict[str, int] = {}           # gift weight given before the first ballot
        self._counts: list[int] = [0] * n_choices
        self._dirty: dict[str, None] = {}         # ordered set of viewers to persist
        self._seen_ids: set[str] = set()          # msg ids of vote-shaped messages this round

    # -- intake ----------------------------------------------------------------------------

    def ingest(self, batch: Sequence[ChatMessage]) -> IngestResult:
        """Count a batch of chat messages. Chatter, repeats, refused changes, duplicate msg ids
        and everything after close are `ignored`; votes for a missing choice are `invalid`."""
        if self.closed:
            return IngestResult(0, 0, len(batch))
        exact = EXACT
        prefix3 = PREFIX3
        may_start = MAY_START
        slow = parse_slow
        ballots = self._ballots
        names = self._names
        counts = self._counts
        dirty = self._dirty
        seen = self._seen_ids
        gifts = self._gifts
        held = self._held
        n = self.n_choices
        allow_change = self.rules.allow_change
        accepted = invalid = 0
        for m in batch:
            t = m.text
            c = exact.get(t)
            if c is None:  # parse_vote's slower steps, inlined
                if t[:1] not in may_start:
                    continue
                c = prefix3.get(t[:3])
                if c is None:
                    c = slow(t)
                    if c is None:
                        continue
            mid = m.msg_id
            if mid:
                if mid in seen:
                    continue
                seen.add(mid)
            if c >= n:
                invalid += 1
                continue
            uid = m.user_id
            prev = ballots.get(uid)
            if prev is None:
                ballots[uid] = c
                w = 1
                if held:
                    g = held.pop(uid, 0)
                    if g:
                        gifts[uid] = g
                        w += g
                counts[c] += w
                names[uid] = m.name
            elif prev == c or not allow_change:
                continue
            else:
                w = 1 + gifts.get(uid, 0)
                ballots[uid] = c
                counts[prev] -= w
                counts[c] += w
            dirty[uid] = None
            accepted += 1
        if len(seen) > _SEEN_IDS_CAP:
            seen.clear()
        self.invalid += invalid
        return IngestResult(accepted, invalid, len(batch) - accepted - invalid)

    def cast(self, viewer_id: str, choice: int, name: str = "") -> bool:
        """Record or change one ballot (operator `vote`, demo audience). True when it counted;
        a missing choice counts as invalid. Never raises."""
        if self.closed:
            return False
        if not 0 <= choice < self.n_choices:
            self.invalid += 1
            return False
        prev = self._ballots.get(viewer_id)
        if prev == choice or (prev is not None and not self.rules.allow_change):
            return False
        held = self._held.pop(viewer_id, None) if prev is None else None
        self._set(viewer_id, name or self._names.get(viewer_id, ""), choice, gift=held)
        self._dirty[viewer_id] = None
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
        choice = self._ballots.get(viewer_id)
        if choice is None:
            held = self._held.get(viewer_id)
            if held is None and len(self._held) >= _HELD_CAP:
                return 0
            have = held or 0
            add = min(amount // max(per, 1), r.max_gift_weight - have)
            if add > 0:
                self._held[viewer_id] = have + add
            return 0
        have = self._gifts.get(viewer_id, 0)
        add = min(amount // max(per, 1), r.max_gift_weight - have)
        if add <= 0:
            return 0
        self._gifts[viewer_id] = have + add
        self._counts[choice] += add
        self._dirty[viewer_id] = None
        return add

    def restore(self, ballots: Iterable[Ballot]) -> int:
        """Reload persisted ballots after a restart (they are not dirty). Rows naming a missing
        choice are skipped with a warning. Returns the number restored."""
        done = 0
        for viewer_id, name, choice, weight in ballots:
            if not 0 <= choice < self.n_choices:
                log.warning("round %d: skipping stored ballot of %r for missing choice %d",
                            self.round_id, viewer_id, choice)
                continue
            self._set(viewer_id, name, choice, gift=max(weight - 1, 0))
            done += 1
        return done

    def _set(self, viewer_id: str, name: str, choice: int, gift: int | None = None) -> None:
        prev = self._ballots.get(viewer_id)
        old_gift = self._gifts.get(viewer_id, 0)
        if prev is not None:
            self._counts[prev] -= 1 + old_gift
        if gift is None:
            gift = old_gift
        if gift:
            self._gifts[viewer_id] = gift
        else:
            self._gifts.pop(viewer_id, None)
        self._ballots[viewer_id] = choice
        self._names[viewer_id] = name
        self._counts[choice] += 1 + gift

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
        return self._held.get(viewer_id, 0)

    def ballot_of(self, viewer_id: str) -> tuple[int, int] | None:
        """(choice, weight) of one viewer's ballot, or None."""
        choice = self._ballots.get(viewer_id)
        return None if choice is None else (choice, 1 + self._gifts.get(viewer_id, 0))

    def _row(self, viewer_id: str) -> Ballot:
        return (viewer_id, self._names.get(viewer_id, ""), self._ballots[viewer_id],
                1 + self._gifts.get(viewer_id, 0))

    def drain_dirty(self) -> list[Ballot]:
        """Ballots added or changed since the last drain, in first-touched order; clears the set."""
        names, ballots, gifts = self._names, self._ballots, self._gifts
        rows = [(v, names.get(v, ""), ballots[v], 1 + gifts.get(v, 0)) for v in self._dirty]
        self._dirty.clear()
        return rows

    def requeue(self, rows: Iterable[Ballot]) -> None:
        """Rows whose save failed: dirty again, so the next drain retries them."""
        for row in rows:
            if row[0] in self._ballots:
                self._dirty[row[0]] = None

    def final_ballots(self) -> list[Ballot]:
        """Every ballot of the round, one per viewer (for viewer stats: counted once)."""
        return [self._row(v) for v in self._ballots]

    def voter_ids(self) -> list[tuple[str, str]]:
        """(viewer_id, name) of every viewer who voted this round, each once."""
        names = self._names
        return [(v, names.get(v, "")) for v in self._ballots]

    # -- closing -----------------------------------------------------------------------------

    def leader_clear(self) -> bool:
        """True when early close is on, at least `min_votes` viewers voted and the leader is
        ahead of the runner-up by `swing` or more. A tie never qualifies."""
        r = self.rules
        if not r.early_close or self.closed or len(self._ballots) < max(r.min_votes, 1):
            return False
        top = sorted(self._counts, reverse=True) + [0]
        return top[0] > top[1] and top[0] - top[1] >= r.swing

    def on_deadline(self, now: float) -> RoundResult | Extended | None:
        """Called by the timer: None before `ends_at`; otherwise close by policy, or, when the
        policy is "extend" and the round was never extended, push `ends_at` once and say so."""
        if self.result is not None:
            return self.result
        if now < self.ends_at:
            return None
        if not self.extended:
            reason = self._needs_policy()
            policy = self.rules.no_votes if reason == "no_votes" else self.rules.tie_break
            if reason is not None and policy == "extend":
                self.extended = True
                self.ends_at = max(self.ends_at, now) + self.rules.extend_seconds
                return Extended(self.ends_at, reason)
        return self.close(now)

    def close(self, now: float, *, forced_choice: int | None = None,
              early: bool = False) -> RoundResult:
        """Close now and decide the winner (tie/no-vote policy without extension; "extend"
        falls back to "random"). Idempotent: once closed, returns the same result.
        Raises RefusedError for a forced choice that does not exist (nothing changes)."""
        if self.result is not None:
            return self.result
        counts = tuple(self._counts)
        voters = len(self._ballots)
        if forced_choice is not None:
            if not 0 <= forced_choice < self.n_choices:
                raise RefusedError(
                    f"choice {forced_choice + 1} does not exist: this round has "
                    f"{self.n_choices} choices (a-{CHOICE_KEYS[self.n_choices - 1]})")
            result = RoundResult(forced_choice, counts, voters, "forced", (), early, True)
        else:
            reason = self._needs_policy()
            if reason is None:
                result = RoundResult(counts.index(max(counts)), counts, voters, None, (),
                                     early, False)
            else:
                best = max(counts)
                tied = tuple(i for i, c in enumerate(counts) if c == best)
                policy = self.rules.no_votes if reason == "no_votes" else self.rules.tie_break
                if policy == "first":
                    winner, label = tied[0], "first"
                else:  # "random", and "extend" once extending is no longer possible
                    winner, label = self._rng.choice(tied), "random"
                if reason == "no_votes":
                    label = "no_votes_" + label
                result = RoundResult(winner, counts, voters, label, tied, early, False)
        self.closed = True
        self.closed_at = now
        self.result = result
        return result

    def _needs_policy(self) -> Literal["tie", "no_votes"] | None:
        if not self._ballots:
            return "no_votes"
        best = max(self._counts)
        return "tie" if self._counts.count(best) > 1 else None
