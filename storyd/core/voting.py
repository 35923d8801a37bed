"""One voting round: its rules, its times and how it closes (pure: no I/O, no clock).

The ballots themselves are core/vote_tally.py (`VoteRound` is a `Tally` with times);
parsing is core/vote_parse.py.

Times: `ends_at` is the *announced* end — the overlay's countdown reaches 0 there.
`closes_at` is the real close, `stream_delay` seconds later: viewers see the video that
much after OBS renders it while their chat is not delayed, so ballots are accepted until
they have seen the countdown reach 0 too. `on_deadline` looks at `closes_at`.

Closing decides the winner once: the weighted leader; on a tie or with no ballots the
configured policy applies: "first" (lowest tied index), "random" (seeded, the tied set and
the pick are recorded) or "extend" (once, by `on_deadline`: a new announced end
`extend_seconds` from now; a later tie or empty round falls back to "random"; an operator
`close` never extends). A closed round is frozen: `close` and `on_deadline` return the same
result and further chat is ignored. `leader_clear` is the early close: a leader ahead of the
runner-up by `swing` with at least `min_votes` voters (a tie never qualifies).
"""

from __future__ import annotations

import random
from typing import Literal

import msgspec

from storyd.core.model import CHOICE_KEYS
from storyd.core.ports import Policy, VotingSettings
from storyd.core.vote_tally import Tally
from storyd.errors import RefusedError


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
    stream_delay: float = 0.0

    @classmethod
    def from_config(cls, v: VotingSettings) -> RoundRules:
        return cls(allow_change=v.allow_change, early_close=v.early_close,
                   min_votes=v.min_votes, swing=v.swing, tie_break=v.tie_break,
                   no_votes=v.no_votes, extend_seconds=float(v.extend_seconds),
                   gift_votes=v.gift_votes, diamonds_per_vote=v.diamonds_per_vote,
                   bits_per_vote=v.bits_per_vote, max_gift_weight=v.max_gift_weight,
                   stream_delay=float(v.stream_delay))


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


class VoteRound(Tally):
    """The tally of one voting round with its times. One owner (the voting service)."""

    def __init__(self, *, round_id: int, n_choices: int, rules: RoundRules, opens_at: float,
                 ends_at: float, seed: int, commands: frozenset[str] = frozenset()) -> None:
        super().__init__(n_choices, rules, commands)
        if ends_at < opens_at:
            raise ValueError(f"round ends ({ends_at}) before it opens ({opens_at})")
        self.rules: RoundRules = rules
        self.round_id = round_id
        self.opens_at = opens_at
        self.ends_at = ends_at
        self.extended = False
        self.closed_at: float | None = None
        self.result: RoundResult | None = None
        self._rng = random.Random(seed)

    @property
    def closes_at(self) -> float:
        """The real close: the announced end plus the stream delay."""
        return self.ends_at + max(self.rules.stream_delay, 0.0)

    def leader_clear(self) -> bool:
        """True when early close is on, at least `min_votes` viewers voted and the leader is
        ahead of the runner-up by `swing` or more. A tie never qualifies."""
        r = self.rules
        if not r.early_close or self.closed or len(self._ballots) < max(r.min_votes, 1):
            return False
        top = sorted(self._counts, reverse=True) + [0]
        return top[0] > top[1] and top[0] - top[1] >= r.swing

    def on_deadline(self, now: float) -> RoundResult | Extended | None:
        """Called by the timer: None before `closes_at`; otherwise close by policy, or, when
        the policy is "extend" and the round was never extended, announce a new end once."""
        if self.result is not None:
            return self.result
        if now < self.closes_at:
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
