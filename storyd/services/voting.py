"""The voting service: the open round, its ticker, the ballot flusher and the heartbeat.

Theory of operation: votes arrive through `submit()` (the ChatSink port) from chat sources
and the ingest API and go straight into the pure VoteRound (core/voting.py); moderators'
deletions through `submit_moderation()` take ballots back. The ticker is THE one place that
throttles vote updates: `story:vote-update` at most once per TICK (≤ 10/s), at once when the
last one is older; nothing downstream delays them again (the bus keeps only the newest one
queued per subscriber). With each tick a changed order of the leading choices goes into the
channel given to `send_leaders_to` (the generation service writes the leaders' branches).

The flusher writes dirty ballots to SQLite with *group commit*: a caller that acknowledges
ballots takes a `commit_ticket()` after counting them and awaits `committed(ticket)`, which
returns once a transaction that started after the ticket was taken has committed — whatever
arrives within GROUP_WINDOW shares one transaction, and an acknowledged ballot is on disk
before the answer (`commit()` is both in one). Chat ballots (nobody waits) are flushed at
least every FLUSH_EVERY (250 ms), likes and joins (services/viewer_activity.py) with them.
An open round's heartbeat is written once a second, so a restart gives the vote back the
time it had left. Idle (no round, nothing dirty): no timer.

The director owns *when* a round opens and closes; this service owns *how*: `open()`,
`resume()`, `wait_closed()` (the real close: the announced end plus `[voting]
stream_delay`), `close()`, `record_result()`; the voters' credit in viewer stats follows
off the show's path (services/vote_credits.py). Chat commands (`!join`, …): the words in
`command_words` are recognised on the chat path (the vote core's slow path in a round, a
scan of the `!`-texts outside) and handed to `on_command(word, message)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import trio

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.model import (
    CHOICE_KEYS,
    ChatMessage,
    GiftMessage,
    Moderation,
    key_of_viewer_id,
)
from storyd.core.ports import IngestResult, StoryStore, VotingSettings
from storyd.core.snapshot import ChoiceView, VotingView
from storyd.core.vote_parse import command_word, parse_vote
from storyd.core.voting import Extended, RoundResult, RoundRules, VoteRound
from storyd.errors import StorageError, StoreUnavailable, StorydError
from storyd.services.clock import TrioClock
from storyd.services.viewer_activity import ViewerActivity
from storyd.services.vote_credits import VoteCredits
from storyd.services.vote_ticker import VoteTicker, leading_order
from storyd.system import metrics

log = logging.getLogger(__name__)

FLUSH_EVERY = 0.25      # chat ballots reach the disk at least this often
GROUP_WINDOW = 0.005    # an acknowledged ballot waits this long for company in its transaction
HEARTBEAT_EVERY = 1.0   # an open round's "alive at" stamp


class VotingService:
    def __init__(self, store: StoryStore, bus: EventBus, clock: TrioClock,
                 settings: Callable[[], VotingSettings]) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self.credits = VoteCredits(store, clock.now)
        self.round: VoteRound | None = None
        self.session_id: int | None = None
        self.chapter = 0                  # the chapter whose choices the round decides
        self.choices: tuple[ChoiceView, ...] = ()
        self.last_result: RoundResult | None = None
        self.invalid_outside_rounds = 0
        self.flush_failures = 0
        self.moderation_seen = 0          # moderators' actions received
        self.command_words: frozenset[str] = frozenset()
        self.on_command: Callable[[str, ChatMessage], None] = lambda _word, _msg: None
        self.activity = ViewerActivity()
        self.ticker = VoteTicker(bus, lambda: self.round)
        self._dirty = trio.Event()          # ballots/activity changed: the flusher saves
        self._urgent = trio.Event()         # someone awaits a commit, or the buffer is full
        self._changed = trio.Event()        # the round closed or its deadline moved
        self._flushed = trio.Event()
        self._started = 0                   # flushes started
        self._done = 0                      # flushes finished
        self._failed_at = 0                 # the last flush that failed
        self._failed_unavailable = False    # ... because the store had no room to keep them
        self._last_heartbeat = -1e18
        self.on_early_close: Callable[[], None] = lambda: None
        self.on_extended: Callable[[], None] = lambda: None
        self.on_recorded: Callable[[VoteRound], None] = lambda _round: None  # cameos' credit

    # ---- service ----------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.ticker.run)
            nursery.start_soon(self._flusher)
            await nursery.start(self.credits.run)
            task_status.started()

    def is_open(self) -> bool:
        return self.round is not None and not self.round.closed

    def view(self) -> VotingView | None:
        r = self.round
        if r is None:
            return None
        res = r.result
        return VotingView(
            round_id=r.round_id, choices=self.choices, counts=r.counts, voters=r.voters,
            ends_at=None if r.closed else self._clock.ms(r.ends_at), open=not r.closed,
            closes_at=None if r.closed else self._clock.ms(r.closes_at),
            duration_ms=int((r.ends_at - r.opens_at) * 1000),
            invalid=r.invalid, extended=r.extended, moderated=r.moderated,
            winner=res.winner if res else None, tie_break=res.tie_break if res else None,
            early=res.early if res else False)

    def leaders(self) -> list[int]:
        """Choice indices, most votes first (ties: the lower index first)."""
        return [] if self.round is None else list(leading_order(self.round.counts))

    def send_leaders_to(self, channel: trio.MemorySendChannel[tuple[int, ...]] | None) -> None:
        """Every change of the leading order (`leaders()`) goes into `channel` with the next
        tick, without blocking (services/vote_ticker.py); a new round's first order at once.
        None: stop."""
        self.ticker.send_leaders_to(channel)

    # ---- the chat sink ----------------------------------------------------------------------
    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult:
        r = self.round
        if r is None or r.closed:
            self._outside_round(batch)
            return IngestResult(accepted=0, invalid=0, ignored=len(batch))
        result = r.ingest(batch)
        if r.found_commands:
            found, r.found_commands = r.found_commands, []
            for word, msg in found:
                self.on_command(word, msg)
        if result.accepted:
            metrics.vote_arrived()
            self.ticker.changed()
            self._dirty.set()
            if r.leader_clear():
                r.close(self._clock.now(), early=True)
                self._wake()
                self.on_early_close()
        return result

    def _outside_round(self, batch: Sequence[ChatMessage]) -> None:
        words = self.command_words
        for m in batch:
            t = m.text
            if words and t[:1] in ("!", "！"):
                word = command_word(t, words)
                if word is not None:
                    self.on_command(word, m)
                    continue
            if parse_vote(t) is not None:
                self.invalid_outside_rounds += 1

    def submit_points(self, viewer_id: str, name: str, text: str, weight: int) -> str:
        """A Twitch channel points vote: the viewer's ballot moves to the choice `text` names
        (the reward's input: "b", "!b", "2", "b please") and weighs `weight` (its extra
        weight shares `max_gift_weight`). Returns "counted", "no_vote" (no round open),
        "no_choice" (no choice of this round in the text) or "refused" (a changed ballot
        while `allow_change` is off)."""
        r = self.round
        if r is None or r.closed:
            return "no_vote"
        words = text.split()
        choice = parse_vote(text.strip()) if words else None
        if choice is None and words:
            choice = parse_vote(words[0])
        if choice is None or choice >= r.n_choices:
            r.invalid += 1
            return "no_choice"
        have = r.ballot_of(viewer_id)
        if (have is None or have[0] != choice) and not r.cast(viewer_id, choice, name):
            return "refused"
        r.add_gift(viewer_id, max(weight - 1, 0), unit="votes")
        self.ticker.changed()
        self._dirty.set()
        if r.leader_clear():
            r.close(self._clock.now(), early=True)
            self._wake()
            self.on_early_close()
        return "counted"

    def submit_gift(self, gift: GiftMessage) -> int:
        r = self.round
        if r is None or r.closed or not r.rules.gift_votes:
            return 0
        added = r.add_gift(gift.user_id, gift.diamonds,
                           unit="bits" if gift.platform == "twitch" else "diamonds")
        if added:
            self.ticker.changed()
            self._dirty.set()
        return added

    def submit_moderation(self, action: Moderation) -> bool:
        """A moderator deleted a message or removed a viewer: the ballot it carried goes
        (core/vote_tally.py has the rules). True when a ballot changed."""
        self.moderation_seen += 1
        r = self.round
        if r is None or r.closed:
            return False
        if action.kind == "message":
            changed = r.retract(action.msg_id)
        elif action.kind == "viewer":
            changed = r.remove_viewer(action.key or key_of_viewer_id(action.user_id))
        else:       # a cleared chat keeps its ballots (README: votes as chat types them)
            changed = False
        if changed:
            self.ticker.changed()
            self._dirty.set()
        return changed

    def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                        joins: int = 0) -> None:
        """Likes and joins go to viewer stats with the next flush; never a ballot."""
        kept, full = self.activity.add(user_id, name, likes, joins)
        if kept:
            self._dirty.set()
        if full:
            self._urgent.set()

    # ---- acknowledgements (group commit) ----------------------------------------------------
    def commit_ticket(self) -> int:
        """Take a ticket for everything counted so far and ask for a flush soon."""
        self._urgent.set()
        self._dirty.set()
        return self._started + 1

    async def committed(self, ticket: int) -> None:
        """Return once the flush a ticket waits for has committed. StorageError (or
        StoreUnavailable: no room to keep them) when it failed: do not acknowledge."""
        while self._done < ticket:
            flushed = self._flushed
            await flushed.wait()
        if self._failed_at >= ticket:
            if self._failed_unavailable:   # no room to keep them: the caller answers 503
                raise StoreUnavailable("the ballots could not be kept: the disk is full and "
                                       "so is the memory for ballots (see the daemon's log)")
            raise StorageError("the ballots could not be saved (see the daemon's log)")

    async def commit(self) -> None:
        """Return once every ballot counted before this call is committed to SQLite (group
        commit: one transaction for whatever arrives within GROUP_WINDOW)."""
        await self.committed(self.commit_ticket())

    # ---- rounds -----------------------------------------------------------------------------
    async def open(self, session_id: int, chapter: int, choices: tuple[ChoiceView, ...],
                   duration: float, seed: int) -> VoteRound:
        opens = self._clock.now()
        r = VoteRound(round_id=chapter, n_choices=len(choices),
                      rules=RoundRules.from_config(self._settings()), opens_at=opens,
                      ends_at=opens + duration, seed=seed, commands=self.command_words)
        await self._store.open_round(session_id, chapter, round_id=r.round_id,
                                     choices=[c.text for c in choices], opens_at=opens,
                                     ends_at=r.ends_at)
        self._install(r, session_id, chapter, choices)
        return r

    def resume(self, r: VoteRound, session_id: int, chapter: int,
               choices: tuple[ChoiceView, ...]) -> None:
        """A round restored from disk (core/resume.py planned its times)."""
        r.commands = self.command_words
        self._install(r, session_id, chapter, choices)

    def _install(self, r: VoteRound, session_id: int, chapter: int,
                 choices: tuple[ChoiceView, ...]) -> None:
        self.round, self.session_id, self.chapter, self.choices = r, session_id, chapter, choices
        self.last_result = None
        self._last_heartbeat = -1e18
        self._dirty.set()   # the flusher starts the round's heartbeat
        self.ticker.round_started()
        self._bus.publish(ev.VotingStarted(ev.VotingStartedData(
            round_id=r.round_id, choices=choices, ends_at=self._clock.ms(r.ends_at),
            closes_at=self._clock.ms(r.closes_at),
            duration_ms=int((r.ends_at - r.opens_at) * 1000))))

    async def wait_closed(self, wake: Callable[[], trio.Event]) -> None:
        """Until the round is closed: by its real close (the announced end plus the stream
        delay; extensions applied here), early on a clear lead, or by `close()`. `wake()`
        gives the director's current wake-up event."""
        r = self.round
        assert r is not None
        while not r.closed:
            changed = self._changed
            woken = wake()
            with trio.move_on_at(self._clock.trio_deadline(r.closes_at)):
                async with trio.open_nursery() as nursery:
                    async def one(e: trio.Event) -> None:
                        await e.wait()
                        nursery.cancel_scope.cancel()
                    nursery.start_soon(one, changed)
                    nursery.start_soon(one, woken)
            if r.closed or self._clock.now() < r.closes_at:
                continue
            outcome = r.on_deadline(self._clock.now())
            if isinstance(outcome, Extended) and self.session_id is not None:
                await self._store.update_round(self.session_id, self.chapter,
                                               ends_at=outcome.ends_at, extended=True)
                self._bus.publish(ev.VotingStarted(ev.VotingStartedData(
                    round_id=r.round_id, choices=self.choices,
                    ends_at=self._clock.ms(outcome.ends_at),
                    closes_at=self._clock.ms(r.closes_at), extended=outcome.reason,
                    duration_ms=int((outcome.ends_at - r.opens_at) * 1000))))
                self.on_extended()      # the snapshot shows the new deadline

    def close(self, *, forced_choice: int | None = None) -> RoundResult:
        assert self.round is not None
        result = self.round.close(self._clock.now(), forced_choice=forced_choice)
        self._wake()
        return result

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def record_result(self) -> RoundResult:
        """The closed round's last ballots and its result to SQLite; `voting-ended`. The
        voters' credit in viewer stats follows off the show's path (VoteCredits)."""
        r, session_id = self.round, self.session_id
        assert r is not None and r.result is not None and session_id is not None
        result = r.result
        self.last_result = result
        await self.flush()
        await self._store.record_vote_result(
            session_id, self.chapter, winner=result.winner, counts=list(result.counts),
            voters=result.voters, tie_break=result.tie_break, early=result.early,
            forced=result.forced, closed_at=self._clock.now())
        self.credits.due()
        self.on_recorded(r)
        self._bus.publish(ev.VotingEnded(ev.VotingEndedData(
            round_id=r.round_id, winner=result.winner, winner_key=CHOICE_KEYS[result.winner],
            winner_text=self.choices[result.winner].text, tie_break=result.tie_break,
            tied=tuple(result.tied), counts=tuple(result.counts), voters=result.voters,
            early=result.early, forced=result.forced)))
        return result

    def clear(self) -> None:
        """The round is over for good (result shown, or the story ended)."""
        self.round = None

    # ---- ticker, flusher, heartbeat ---------------------------------------------------------
    async def _flusher(self) -> None:
        while True:
            if not self.is_open():
                await self._dirty.wait()
            with trio.move_on_after(FLUSH_EVERY):
                await self._urgent.wait()
            if self._urgent.is_set():
                await trio.sleep(GROUP_WINDOW)   # let the burst join this transaction
            self._dirty, self._urgent = trio.Event(), trio.Event()
            await self.flush()
            if self._clock.now() - self._last_heartbeat >= HEARTBEAT_EVERY:
                await self._heartbeat()

    async def _heartbeat(self) -> None:
        r, s = self.round, self.session_id
        if r is None or s is None or r.closed:
            return
        self._last_heartbeat = self._clock.now()
        try:
            await self._store.update_round(s, self.chapter, heartbeat_at=self._last_heartbeat)
        except StorydError as exc:  # a missed heartbeat costs resume accuracy, not the show
            log.warning("vote heartbeat not saved: %s", exc)

    async def flush(self) -> None:
        """Dirty ballots of the round, then pending likes/joins, to SQLite (one flush; the
        callers of committed() waiting for it are released when it ends)."""
        self._started += 1
        gen = self._started
        try:
            r, s = self.round, self.session_id
            rows = r.drain_dirty() if r is not None and s is not None else []
            if rows and s is not None:
                try:
                    with trio.CancelScope(shield=True):
                        await self._store.save_ballots(s, self.chapter, rows,
                                                       now=self._clock.now())
                except StorydError as exc:
                    self.flush_failures += 1
                    self._failed_at = gen
                    self._failed_unavailable = isinstance(exc, StoreUnavailable)
                    if r is not None:
                        r.requeue(rows)
                    log.error("%d ballots not saved (retried with the next flush): %s",
                              len(rows), exc)
            await self.activity.save(self._store, self._clock.now())
        finally:
            self._done = max(self._done, gen)
            self._flushed.set()
            self._flushed = trio.Event()
