"""The voting service: the open round, its ticker, the ballot flusher and the heartbeat.

Theory of operation: votes arrive through `submit()` (the ChatSink port) synchronously from
chat sources and the ingest API. They go straight into the pure VoteRound (core/voting.py);
a ticker publishes coalesced `story:vote-update` events (≤ 10/s). The flusher writes dirty
ballots to SQLite with *group commit*: a caller that acknowledges ballots (`storyctl vote`,
the ingest API) awaits `commit()`, which asks for a flush within GROUP_WINDOW and returns only
once a transaction that started after its ballots were counted has committed — so whatever
arrives within those few ms shares one transaction, and an acknowledged ballot is on disk
before the answer is sent. Ballots from chat sources (nobody waits) are flushed at least
every FLUSH_EVERY (250 ms). Likes and joins (`submit_activity`) add up per viewer in memory
and go to viewer stats with the same flush; they never touch a vote. While a round is open
the round's heartbeat is written once a second, so a restart gives the vote back the time
it had left. Idle (no round, nothing dirty): no timer at all.

The director owns *when* a round opens and closes; this service owns *how*: `open()`,
`resume()`, `wait_closed()` (the deadline with its extensions), `close()`, `record_result()`.
Whoever follows the vote (the next chapter's branches, services/next_chapter.py) reads
`leader_changes()`: the round's ranking at once and whenever it changes, until the round closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import trio

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.model import CHOICE_KEYS, ChatMessage, GiftMessage
from storyd.core.ports import IngestResult, StoryStore, VotingSettings
from storyd.core.snapshot import ChoiceView, VotingView
from storyd.core.vote_parse import command_word, parse_vote
from storyd.core.voting import Extended, RoundResult, RoundRules, VoteRound
from storyd.errors import StorageError, StoreUnavailable, StorydError
from storyd.services.clock import TrioClock
from storyd.system import metrics

log = logging.getLogger(__name__)

TICK = 0.1              # vote-update coalescing period (≤ 10 updates/s)
FLUSH_EVERY = 0.25      # chat ballots reach the disk at least this often
GROUP_WINDOW = 0.005    # an acknowledged ballot waits this long for company in its transaction
HEARTBEAT_EVERY = 1.0   # an open round's "alive at" stamp
MAX_ACTIVITY_VIEWERS = 100_000  # viewers with unsaved likes/joins; full: flush early, and a
                                # new viewer's activity is dropped (counted) until it is saved


class VotingService:
    def __init__(self, store: StoryStore, bus: EventBus, clock: TrioClock,
                 settings: Callable[[], VotingSettings]) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self.round: VoteRound | None = None
        self.session_id: int | None = None
        self.chapter = 0                  # the chapter whose choices the round decides
        self.choices: tuple[ChoiceView, ...] = ()
        self.last_result: RoundResult | None = None
        self.invalid_outside_rounds = 0
        self.activity_dropped = 0
        self.flush_failures = 0
        self._activity: dict[str, tuple[str, int, int]] = {}  # viewer -> (name, likes, joins)
        self._votes_dirty = trio.Event()    # ballots changed: the ticker publishes
        self._ranking: tuple[int, ...] = ()   # the last ranking sent to leader_changes()
        self._rankings_in, self._rankings_stale = trio.open_memory_channel[tuple[int, ...]](1)
        self._dirty = trio.Event()          # ballots/activity changed: the flusher saves
        self._urgent = trio.Event()         # someone awaits commit(), or the buffer is full
        self._changed = trio.Event()        # the round closed or its deadline moved
        self._flushed = trio.Event()
        self._started = 0                   # flushes started
        self._done = 0                      # flushes finished
        self._failed_at = 0                 # the last flush that failed
        self._failed_unavailable = False    # ... because the store had no room to keep them
        self._last_heartbeat = -1e18
        self.on_early_close: Callable[[], None] = lambda: None
        self.on_extended: Callable[[], None] = lambda: None
        # chat commands (`!join`, `!leave`: services/cameos.py): the words in command_words
        # (lower case, without "!") go to on_command; an empty set costs nothing. A recorded
        # round is offered to on_recorded.
        self.command_words: frozenset[str] = frozenset()
        self.on_command: Callable[[str, ChatMessage], None] = lambda _word, _msg: None
        self.on_recorded: Callable[[VoteRound], None] = lambda _round: None

    # ---- service ----------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ticker)
            nursery.start_soon(self._flusher)
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
            duration_ms=int((r.ends_at - r.opens_at) * 1000),
            invalid=r.invalid, extended=r.extended,
            winner=res.winner if res else None, tie_break=res.tie_break if res else None,
            early=res.early if res else False)

    def leaders(self) -> list[int]:
        """Choice indices, most votes first (ties: the lower index first)."""
        r = self.round
        if r is None:
            return []
        counts = r.counts
        return sorted(range(len(counts)), key=lambda i: (-counts[i], i))

    def leader_changes(self) -> trio.MemoryReceiveChannel[tuple[int, ...]]:
        """The open round's ranking (`leaders()`) now and each time it changes; the channel
        ends when the round closes. Overflow: a newer ranking replaces one not read yet (only
        the latest matters), so a slow reader never holds up a ballot."""
        return self._rankings_stale.clone()

    def _counts_changed(self) -> None:
        """Ballots changed: the ticker publishes them, the flusher saves them, and a new
        ranking goes to leader_changes()."""
        self._votes_dirty.set()
        self._dirty.set()
        self._publish_ranking()

    def _publish_ranking(self) -> None:
        ranking = tuple(self.leaders())
        if ranking == self._ranking:
            return
        self._ranking = ranking
        try:
            self._rankings_stale.receive_nowait()    # an unread older ranking gives way
        except (trio.WouldBlock, trio.EndOfChannel):
            pass
        try:
            self._rankings_in.send_nowait(ranking)
        except trio.ClosedResourceError:   # the round closed meanwhile: nobody follows it
            pass

    def _end_rankings(self) -> None:
        self._rankings_in.close()

    # ---- the chat sink ----------------------------------------------------------------------
    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult:
        words = self.command_words
        if words:
            for m in batch:
                if m.text[:1] in ("!", "！"):
                    word = command_word(m.text, words)
                    if word is not None:
                        self.on_command(word, m)
        r = self.round
        if r is None or r.closed:
            shaped = sum(1 for m in batch if parse_vote(m.text) is not None)
            self.invalid_outside_rounds += shaped
            return IngestResult(accepted=0, invalid=0, ignored=len(batch))
        result = r.ingest(batch)
        if result.accepted:
            metrics.vote_arrived()
            self._counts_changed()
            if r.leader_clear():
                r.close(self._clock.now(), early=True)
                self._wake()
                self.on_early_close()
        return result

    def submit_gift(self, gift: GiftMessage) -> int:
        r = self.round
        if r is None or r.closed or not r.rules.gift_votes:
            return 0
        added = r.add_gift(gift.user_id, gift.diamonds,
                           unit="bits" if gift.platform == "twitch" else "diamonds")
        if added:
            self._counts_changed()
        return added

    def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                        joins: int = 0) -> None:
        """Likes and joins go to viewer stats with the next flush; never a ballot."""
        likes, joins = max(int(likes), 0), max(int(joins), 0)
        if not user_id or not (likes or joins):
            return
        old = self._activity.get(user_id)
        if old is None and len(self._activity) >= MAX_ACTIVITY_VIEWERS:
            self.activity_dropped += 1
            self._urgent.set()
            return
        old_name, old_likes, old_joins = old or ("", 0, 0)
        self._activity[user_id] = (name or old_name, old_likes + likes, old_joins + joins)
        self._dirty.set()
        if len(self._activity) >= MAX_ACTIVITY_VIEWERS:
            self._urgent.set()

    async def commit(self) -> None:
        """Return once every ballot counted before this call is committed to SQLite (group
        commit: one transaction for whatever arrives within GROUP_WINDOW). StorageError when
        that transaction failed: the caller must not acknowledge."""
        target = self._started + 1
        self._urgent.set()
        self._dirty.set()
        while self._done < target:
            flushed = self._flushed
            await flushed.wait()
        if self._failed_at >= target:
            if self._failed_unavailable:   # no room to keep them: the caller answers 503
                raise StoreUnavailable("the ballots could not be kept: the disk is full and "
                                       "so is the memory for ballots (see the daemon's log)")
            raise StorageError("the ballots could not be saved (see the daemon's log)")

    # ---- rounds -----------------------------------------------------------------------------
    async def open(self, session_id: int, chapter: int, choices: tuple[ChoiceView, ...],
                   duration: float, seed: int) -> VoteRound:
        opens = self._clock.now()
        r = VoteRound(round_id=chapter, n_choices=len(choices),
                      rules=RoundRules.from_config(self._settings()), opens_at=opens,
                      ends_at=opens + duration, seed=seed)
        await self._store.open_round(session_id, chapter, round_id=r.round_id,
                                     choices=[c.text for c in choices], opens_at=opens,
                                     ends_at=r.ends_at)
        self._install(r, session_id, chapter, choices)
        return r

    def resume(self, r: VoteRound, session_id: int, chapter: int,
               choices: tuple[ChoiceView, ...]) -> None:
        """A round restored from disk (core/resume.py planned its times)."""
        self._install(r, session_id, chapter, choices)

    def _install(self, r: VoteRound, session_id: int, chapter: int,
                 choices: tuple[ChoiceView, ...]) -> None:
        self.round, self.session_id, self.chapter, self.choices = r, session_id, chapter, choices
        self.last_result = None
        self._last_heartbeat = -1e18
        self._end_rankings()
        self._rankings_in, self._rankings_stale = trio.open_memory_channel[tuple[int, ...]](1)
        self._ranking = ()
        self._publish_ranking()   # the round's first ranking
        self._dirty.set()   # the flusher starts the round's heartbeat
        self._bus.publish(ev.VotingStarted(ev.VotingStartedData(
            round_id=r.round_id, choices=choices, ends_at=self._clock.ms(r.ends_at),
            duration_ms=int((r.ends_at - r.opens_at) * 1000))))

    async def wait_closed(self, wake: Callable[[], trio.Event]) -> None:
        """Until the round is closed: by its deadline (extensions applied here), early on a
        clear lead, or by `close()`. `wake()` gives the director's current wake-up event."""
        r = self.round
        assert r is not None
        try:
            await self._wait_deadline(r, wake)
        finally:
            if r.closed:
                self._end_rankings()

    async def _wait_deadline(self, r: VoteRound, wake: Callable[[], trio.Event]) -> None:
        while not r.closed:
            changed = self._changed
            woken = wake()
            with trio.move_on_at(self._clock.trio_deadline(r.ends_at)):
                async with trio.open_nursery() as nursery:
                    async def one(e: trio.Event) -> None:
                        await e.wait()
                        nursery.cancel_scope.cancel()
                    nursery.start_soon(one, changed)
                    nursery.start_soon(one, woken)
            if r.closed or self._clock.now() < r.ends_at:
                continue
            outcome = r.on_deadline(self._clock.now())
            if isinstance(outcome, Extended) and self.session_id is not None:
                await self._store.update_round(self.session_id, self.chapter,
                                               ends_at=outcome.ends_at, extended=True)
                self._bus.publish(ev.VotingStarted(ev.VotingStartedData(
                    round_id=r.round_id, choices=self.choices,
                    ends_at=self._clock.ms(outcome.ends_at), extended=outcome.reason,
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
        """The closed round's ballots, result and voter credits to SQLite; `voting-ended`."""
        r, session_id = self.round, self.session_id
        assert r is not None and r.result is not None and session_id is not None
        result = r.result
        self.last_result = result
        await self.flush()
        now = self._clock.now()
        await self._store.record_vote_result(
            session_id, self.chapter, winner=result.winner, counts=list(result.counts),
            voters=result.voters, tie_break=result.tie_break, early=result.early,
            forced=result.forced, closed_at=now)
        await self._store.credit_voters(
            [(v, name, choice == result.winner) for v, name, choice, _w in r.final_ballots()],
            now=now)
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
        self._end_rankings()

    # ---- ticker, flusher, heartbeat ---------------------------------------------------------
    async def _ticker(self) -> None:
        """Coalesced `story:vote-update`: at most one per TICK, none while nothing changes."""
        while True:
            await self._votes_dirty.wait()
            self._votes_dirty = trio.Event()
            r = self.round
            if r is not None:
                self._bus.publish(ev.VoteUpdate(ev.VoteUpdateData(
                    round_id=r.round_id, counts=tuple(r.counts), voters=r.voters,
                    invalid=r.invalid)))
            await trio.sleep(TICK)

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
        callers of commit() waiting for it are released when it ends)."""
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
            await self._flush_activity()
        finally:
            self._done = max(self._done, gen)
            self._flushed.set()
            self._flushed = trio.Event()

    async def _flush_activity(self) -> None:
        if not self._activity:
            return
        pending, self._activity = self._activity, {}
        rows = [(vid, name, likes, joins) for vid, (name, likes, joins) in pending.items()]
        try:
            with trio.CancelScope(shield=True):
                await self._store.add_activity(rows, now=self._clock.now())
        except StorydError as exc:  # likes are never worth stopping the show
            self.activity_dropped += len(rows)
            log.warning("likes/joins of %d viewers not saved: %s", len(rows), exc)
