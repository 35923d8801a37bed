"""The director: owns the story loop, the vote rounds and the only StoryMachine.

Theory of operation: one *play task* per story runs the chapters in sequence —
generate → present (narration) → vote → result → generate … → closing chapter → ended.
Operator commands (`start`, `close`, `next`, `finish`, `end`, `regenerate_image`) are plain
methods called from the trio thread by the control server and the web front. Each first asks
the StoryMachine (pure, core/story.py) whether it fits the state — refusing changes nothing —
then nudges the play task through `self._wake` (a trio.Event replaced after each wake-up).
The play task re-reads the machine's state after every wait, so the loop and the operator
can never disagree about what happens next.

Votes arrive through `submit()` (the ChatSink protocol) synchronously from chat sources.
They go straight into the pure VoteRound; a ticker publishes coalesced `story:vote-update`
events (≤ 10/s) and flushes dirty ballots to SQLite every second, so a kill -9 loses at most
the last second of ballots. Likes and joins (`submit_activity`) only add up per viewer in memory
and go to viewer stats with the same flush; they never touch a vote. While a round is open
the flusher also writes the round's heartbeat once a second, so a restart gives the vote back
the time it had left when the daemon stopped. Everything published is built once and shared.

Invariants: the machine's state is only changed here; every transition publishes a full
`story:state`; a failed generation never leaves a blank screen (`notice` is set, the chain
falls back down to the offline storyteller, and the loop retries).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from storyd import metrics
from storyd.chat.base import IngestResult
from storyd.core import themes
from storyd.core.memory import StoryMemory
from storyd.core.model import (
    CHOICE_KEYS,
    ChapterDraft,
    ChapterRequest,
    ChatMessage,
    DialogueLine,
    GiftMessage,
    ImageRequest,
    MemoryUpdate,
)
from storyd.core.snapshot import Snapshot, VotingView
from storyd.core.story import StoryMachine
from storyd.core.voting import Extended, RoundResult, RoundRules, VoteRound, parse_vote
from storyd.errors import ProviderError, RefusedError, StorydError
from storyd.providers.offline_lang import offline_language_notice
from storyd.services.media import media_url
from storyd.services.narrator import present_chapter
from storyd.services.story_state import ChapterState, StoryState

if TYPE_CHECKING:
    from storyd.app import Daemon

log = logging.getLogger(__name__)

TICK = 0.1              # vote-update coalescing period (≤ 10 updates/s)
FLUSH_EVERY = 1.0       # ballots to disk at least once a second
RETRY_DELAY = 5.0       # after a generation that failed even on the last provider
MIN_RESUME_VOTE = 10.0  # a resumed vote gets the time it had left, but at least this long
MAX_ACTIVITY_VIEWERS = 100_000  # viewers with unsaved likes/joins; full: flush early, and a
                                # new viewer's activity is dropped (counted) until it is saved


class Director:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.machine = StoryMachine()
        self.story: StoryState | None = None
        self.round: VoteRound | None = None
        self.round_chapter = 0
        self.revision = 0
        self.notice: str | None = None
        self.generating: dict[str, Any] | None = None
        self.narration: dict[str, Any] | None = None  # the sentence airing now (reconnects)
        self.last_result: RoundResult | None = None
        self.invalid_outside_rounds = 0
        self._offset = time.time() - trio.current_time()
        self._wake = trio.Event()
        self._votes_dirty = trio.Event()  # set when ballots changed; the ticker publishes
        self._ballots_dirty = trio.Event()  # set when ballots/activity changed; flusher saves
        self._flush_soon = trio.Event()  # set when the activity buffer is full: flush now
        # viewer id -> (name, likes, joins) not yet saved; bounded by MAX_ACTIVITY_VIEWERS
        self._activity: dict[str, tuple[str, int, int]] = {}
        self.activity_dropped = 0
        self._nursery: trio.Nursery | None = None
        self._play_scope: trio.CancelScope | None = None
        self._rng = random.Random()
        self._resumed_round: VoteRound | None = None  # a vote restored from disk at start-up

    # ---- clock -----------------------------------------------------------------------------
    def now(self) -> float:
        """Epoch seconds on the trio clock (so autojump_clock tests move it too)."""
        return self._offset + trio.current_time()

    def _trio_deadline(self, epoch: float) -> float:
        return epoch - self._offset

    # ---- service ---------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await self._resume()
            nursery.start_soon(self._ticker)
            nursery.start_soon(self._flusher)
            task_status.started()
            if self.story is None and self.d.config.story.autostart:
                await self.start()
            await trio.sleep_forever()

    def _spawn_play(self, phase: str) -> None:
        assert self._nursery is not None
        scope = trio.CancelScope()
        self._play_scope = scope
        self._nursery.start_soon(self._play_guarded, scope, phase)

    async def _play_guarded(self, scope: trio.CancelScope, phase: str) -> None:
        with scope:
            try:
                await self._play(phase)
            except Exception as exc:  # noqa: BLE001 — a bug or storage trouble must not kill
                # the daemon (and with it the overlay): say so, end this story cleanly.
                if isinstance(exc, StorydError):
                    log.error("story loop stopped: %s", exc)
                else:
                    log.exception("story loop crashed")
                self._error(f"the story stopped: {exc}")
                self.machine.force("ended")
                self.generating, self.notice = None, None
                self.publish_state()

    # ---- snapshot & events -----------------------------------------------------------------
    def publish(self, name: str, data: dict[str, Any]) -> None:
        self.d.bus.publish(name, data)

    def publish_state(self) -> None:
        self.revision += 1
        self.publish("story:state", msgspec.to_builtins(self.snapshot()))

    def _error(self, message: str) -> None:
        log.warning("%s", message)
        self.publish("story:error", {"message": message, "at": int(self.now() * 1000)})

    def voting_view(self) -> VotingView | None:
        r, ch = self.round, self._chapter(self.round_chapter)
        if r is None or ch is None:
            return None
        res = r.result
        return VotingView(
            round_id=r.round_id, choices=ch.choice_views(), counts=r.counts, voters=r.voters,
            ends_at=None if r.closed else int(r.ends_at * 1000), open=not r.closed,
            duration_ms=int((r.ends_at - r.opens_at) * 1000),
            invalid=r.invalid, extended=r.extended,
            winner=res.winner if res else None, tie_break=res.tie_break if res else None,
            early=res.early if res else False,
        )

    def snapshot(self) -> Snapshot:
        cfg = self.d.config
        s, ch = self.story, (self.story.current if self.story else None)
        overlay = msgspec.to_builtins(cfg.overlay)
        overlay.update(reveal=cfg.story.reveal,
                       reveal_words_per_second=cfg.story.reveal_words_per_second)
        return Snapshot(
            state=self.machine.state, revision=self.revision,
            server_time=int(self.now() * 1000),
            session_id=s.session_id if s else None,
            theme=s.theme.id if s else None, theme_name=s.theme.name if s else None,
            language=s.language if s else None, outline=s.outline if s else "",
            chapter_number=ch.number if ch else 0, title=ch.draft.title if ch else None,
            choices=ch.choice_views() if ch else (), chapter=ch.view() if ch else None,
            voting=self.voting_view(), generating=self.generating,
            notice=self.notice or getattr(self.d, "storage_notice", None),   # disk faults
            narration=self.narration if self.machine.state == "presenting" else None,
            providers=self.d.provider_status(), chat=tuple(self.d.chat_status()),
            max_chapters=cfg.story.max_chapters, test_mode="tiktok" not in cfg.chat.sources,
            overlay=overlay,
            language_notice=offline_language_notice(s.language) if s else None,
        )

    def _chapter(self, number: int) -> ChapterState | None:
        if self.story is None or not 1 <= number <= len(self.story.chapters):
            return None
        return self.story.chapters[number - 1]

    def prompt_context(self, story: StoryState) -> str:
        """The memory block that goes into the next prompt (the outline travels separately)."""
        return story.memory.context(self.d.config.llm.context_tokens, include_outline=False)

    # ---- operator commands -----------------------------------------------------------------
    def _wake_up(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    async def start(self, theme: str | None = None, outline: str | None = None,
                    language: str | None = None, force: bool = False,
                    seed: int | None = None) -> Snapshot:
        cfg = self.d.config
        theme_id = theme or cfg.story.theme
        try:
            th = themes.get_theme(theme_id, self._rng if seed is None else random.Random(seed))
        except KeyError:
            raise RefusedError(f"unknown theme '{theme_id}' (see `storyctl themes`)") from None
        if outline is not None and len(outline) > 2000:
            raise RefusedError("the outline is too long (2000 characters at most)")
        if language is not None and not 1 <= len(language.strip()) <= 40:
            raise RefusedError("the language must be a name like 'English' or 'Deutsch'")
        if not self.machine.can("start"):
            if not force:
                self.machine.apply("start")  # raises the refusal with its message
            await self.end()
        session_id = await self.d.store.create_session(
            theme=th.id, language=(language or cfg.story.language).strip(),
            outline=(outline or "").strip(), started_at=self.now(),
            settings={"choices": cfg.story.choices, "words": cfg.story.words_per_chapter})
        self.story = StoryState(
            session_id=session_id, theme=th, language=(language or cfg.story.language).strip(),
            outline=(outline or "").strip(),
            seed=self._rng.randrange(1 << 30) if seed is None else seed % (1 << 30),
            memory=StoryMemory((outline or "").strip()))
        self.round, self.round_chapter, self.last_result, self.notice = None, 0, None, None
        self.machine.apply("start")
        log.info("story %d started: theme %s", session_id, th.id)
        self.publish_state()
        self._spawn_play("generate")
        return self.snapshot()

    async def close(self) -> RoundResult:
        self.machine.apply("close")
        assert self.round is not None
        result = self.round.close(self.now())
        self._wake_up()
        return result

    async def next(self, choice: int | None = None) -> None:
        state = self.machine.state
        ch = self.story.current if self.story else None
        if choice is not None and ch is not None and not 0 <= choice < len(ch.draft.choices):
            raise RefusedError(f"choice {CHOICE_KEYS[choice] if choice < 6 else choice} does not "
                               f"exist: this chapter has {len(ch.draft.choices)} choices")
        if state == "presenting" and choice is None:
            self.machine.apply("presented")  # skip the narration, open the vote now
        else:
            self.machine.apply("next")
            if state == "voting" and self.round is not None:
                self.round.close(self.now(), forced_choice=choice)
            elif state == "presenting" and self.story is not None:
                self.story.pending_choice = choice
            elif state == "result" and choice is not None and self.story is not None:
                self.story.pending_choice = choice
        self._wake_up()

    async def finish(self) -> None:
        state = self.machine.state
        self.machine.apply("finish")
        if state == "voting" and self.round is not None:
            self.round.close(self.now())
        self._wake_up()
        self.publish_state()

    async def end(self) -> None:
        if self.machine.state in ("idle", "ended"):
            raise RefusedError(f"no story is running (state: {self.machine.state})")
        if self._play_scope is not None:
            self._play_scope.cancel()
        await self._flush_ballots()
        self.machine.apply("end")
        if self.story is not None:
            await self.d.store.end_session(self.story.session_id, status="ended",
                                           ended_at=self.now())
            self.publish("story:ended", {"session_id": self.story.session_id, "reason": "ended"})
        self.generating, self.notice = None, None
        self.publish_state()

    async def regenerate_image(self) -> None:
        ch = self.story.current if self.story else None
        if ch is None or self.story is None:
            raise RefusedError("there is no chapter to illustrate")
        if not self.d.config.images.enabled:
            raise RefusedError("pictures are off ([images] enabled = false)")
        assert self._nursery is not None
        self._nursery.start_soon(self._illustrate, self.story, ch, self._rng.randrange(1 << 30))

    # ---- chat sink -------------------------------------------------------------------------
    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult:
        r = self.round
        if r is None or r.closed:
            shaped = sum(1 for m in batch if parse_vote(m.text) is not None)
            self.invalid_outside_rounds += shaped
            return IngestResult(accepted=0, invalid=0, ignored=len(batch))
        result = r.ingest(batch)
        if result.accepted:
            metrics.vote_arrived()
            self._votes_dirty.set()
            self._ballots_dirty.set()
            if r.leader_clear():
                r.close(self.now(), early=True)
                if self.machine.can("vote_closed"):
                    self._wake_up()
        return result

    def submit_gift(self, gift: GiftMessage) -> int:
        r = self.round
        if r is None or r.closed or not r.rules.gift_votes:
            return 0
        added = r.add_gift(gift.user_id, gift.diamonds,
                           unit="bits" if gift.platform == "twitch" else "diamonds")
        if added:
            self._votes_dirty.set()
            self._ballots_dirty.set()
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
            self._flush_soon.set()
            return
        old_name, old_likes, old_joins = old or ("", 0, 0)
        self._activity[user_id] = (name or old_name, old_likes + likes, old_joins + joins)
        self._ballots_dirty.set()
        if len(self._activity) >= MAX_ACTIVITY_VIEWERS:
            self._flush_soon.set()

    async def _ticker(self) -> None:
        """Coalesced `story:vote-update`: at most one per TICK, none while nothing changes
        (no idle timers, so virtual-clock tests and an idle daemon both stay quiet)."""
        while True:
            await self._votes_dirty.wait()
            self._votes_dirty = trio.Event()
            r = self.round
            if r is not None:
                self.publish("story:vote-update", {
                    "round_id": r.round_id, "counts": list(r.counts), "voters": r.voters,
                    "invalid": r.invalid})
            await trio.sleep(TICK)

    async def _flusher(self) -> None:
        """Dirty ballots and activity reach SQLite within FLUSH_EVERY (kill -9 loses ≤ 1 s);
        an open round's heartbeat is written as often. Idle (no round, nothing dirty): no timer."""
        while True:
            if not self._round_open():
                await self._ballots_dirty.wait()
            with trio.move_on_after(FLUSH_EVERY):
                await self._flush_soon.wait()
            self._ballots_dirty, self._flush_soon = trio.Event(), trio.Event()
            await self._flush_ballots()
            await self._heartbeat()

    def _round_open(self) -> bool:
        return self.story is not None and self.round is not None and not self.round.closed

    async def _heartbeat(self) -> None:
        r, s = self.round, self.story
        if r is None or s is None or r.closed:
            return
        try:
            await self.d.store.update_round(s.session_id, self.round_chapter,
                                            heartbeat_at=self.now())
        except StorydError as exc:  # a missed heartbeat costs resume accuracy, not the show
            log.warning("vote heartbeat not saved: %s", exc)

    async def _flush_ballots(self) -> None:
        """Dirty ballots of the open round, then pending likes/joins, to SQLite."""
        r, s = self.round, self.story
        rows = r.drain_dirty() if r is not None and s is not None else []
        if rows and s is not None:
            with trio.CancelScope(shield=True):
                await self.d.store.save_ballots(s.session_id, self.round_chapter, rows,
                                                now=self.now())
        await self._flush_activity()

    async def _flush_activity(self) -> None:
        if not self._activity:
            return
        pending, self._activity = self._activity, {}
        rows = [(vid, name, likes, joins) for vid, (name, likes, joins) in pending.items()]
        try:
            with trio.CancelScope(shield=True):
                await self.d.store.add_activity(rows, now=self.now())
        except StorydError as exc:  # likes are never worth stopping the show
            self.activity_dropped += len(rows)
            log.warning("likes/joins of %d viewers not saved: %s", len(rows), exc)

    # ---- the play task ---------------------------------------------------------------------
    async def _wait(self, seconds: float | None = None, *, until: float | None = None) -> None:
        """Sleep until the deadline (trio time) or an operator command wakes us."""
        wake = self._wake
        deadline = until if until is not None else (
            trio.current_time() + seconds if seconds is not None else float("inf"))
        with trio.move_on_at(deadline):
            await wake.wait()

    async def _play(self, phase: str) -> None:
        """generate → present → vote → result, until the closing chapter has aired."""
        assert self.story is not None
        story = self.story
        while True:
            if phase == "generate":
                await self._generate(story)
                phase = "present"
            if phase == "present":
                ch = story.current
                assert ch is not None
                await present_chapter(self, story, ch)
                if ch.closing:
                    await self._finish_story(story)
                    return
                if self.machine.state == "presenting":
                    self.machine.apply("presented")
                phase = "vote" if self.machine.state == "voting" else "after"
            if phase == "vote":
                resumed, self._resumed_round = self._resumed_round, None
                await self._vote(story, resumed=resumed)
                phase = "result"
            if phase == "result":
                await self._show_result(story)
            phase = "generate"

    async def _generate(self, story: StoryState) -> None:
        closing = self.machine.state == "finishing"
        cfg = self.d.config
        winner_text = ""
        prev = story.current
        if prev is not None and story.pending_choice is not None:
            prev.chosen = story.pending_choice
            winner_text = prev.draft.choices[story.pending_choice]
            story.memory.take_choice(winner_text)
            await self.d.store.set_chapter_choice(story.session_id, prev.number,
                                                  story.pending_choice, winner_text)
        story.pending_choice = None
        number = story.next_number
        self.generating = {"what": "closing" if closing else "chapter", "chapter": number,
                           "progress": 0.0, "provider": None}
        self.publish("story:generation-started", {"chapter": number, "closing": closing})
        metrics.dead_air_started()
        self.publish_state()
        if number == 1 and not story.outline:
            story.outline = (await self.d.chains.text.write_outline(
                story.theme, story.language, story.seed)).draft
            story.memory.outline = story.outline
            await self.d.store.set_outline(story.session_id, story.outline)
        request = ChapterRequest(
            theme=story.theme, language=story.language, chapter_number=number,
            words=cfg.story.closing_words if closing else cfg.story.words_per_chapter,
            n_choices=0 if closing else cfg.story.choices, closing=closing,
            outline=story.outline, context=self.prompt_context(story),
            path=story.taken_path(), winning_choice=winner_text,
            previous_text=prev.draft.text if prev else "",
            # the taken path is listed already; what models repeat is last round's losers
            avoid_choices=tuple(c for c in (prev.draft.choices if prev else ())
                                if c != winner_text),
            memory=story.memory.view(), seed=story.seed * 1000 + number,
            max_chapters=cfg.story.max_chapters,
            previous_titles=tuple(c.draft.title for c in story.chapters))
        while True:
            try:
                outcome = await self.d.chains.text.write_chapter(request)
                draft = msgspec.structs.replace(outcome.draft, provider=outcome.provider,
                                                attempt=len(outcome.attempts) or 1)
                break
            except ProviderError as exc:
                self.notice = "The story continues in a moment…"
                self._error(f"chapter {number} could not be written: {exc}")
                self.publish_state()
                await trio.sleep(RETRY_DELAY)
        self.notice = None
        self.generating = None
        ch = ChapterState(number=number, draft=draft, closing=closing)
        story.chapters.append(ch)
        story.memory.apply(number, draft.memory, draft.summary)
        await self.d.store.add_chapter(
            story.session_id, number=number, title=draft.title, text=draft.text,
            choices=list(draft.choices), closing=closing, summary=draft.summary,
            provider=draft.provider, lines=msgspec.to_builtins(draft.lines),
            memory_update=msgspec.to_builtins(draft.memory), created_at=self.now())
        await self.d.store.save_memory(story.session_id, story.memory.to_json())
        self.machine.apply("closing_ready" if closing else "chapter_ready")
        self.publish("story:chapter-ready", msgspec.to_builtins(ch.view()))
        metrics.dead_air_ended()
        self.publish_state()
        if cfg.images.enabled and self._nursery is not None:
            self._nursery.start_soon(self._illustrate, story, ch, story.seed + number)

    async def _illustrate(self, story: StoryState, ch: ChapterState, seed: int) -> None:
        # The overlay's `layout` (not its pixel size) decides the orientation of the stage;
        # providers map these sizes to the nearest one they support; style added there too.
        landscape = self.d.config.overlay.layout != "portrait"
        request = ImageRequest(
            prompt=f"{ch.draft.title}. {ch.draft.summary or ch.draft.text[:200]}",
            title=ch.draft.title, theme=story.theme,
            width=1024 if landscape else 576, height=576 if landscape else 1024, seed=seed)
        try:
            image = (await self.d.chains.images.illustrate(request)).draft
            name = await self.d.media.put(image.data, image.content_type)
        except Exception as exc:  # noqa: BLE001 — a picture is never worth stopping the show
            if not isinstance(exc, (StorydError, ValueError, OSError)):
                log.exception("illustrating chapter %d failed", ch.number)
            self._error(f"no picture for chapter {ch.number}: {exc}")
            return
        ch.image = name
        await self.d.store.set_chapter_media(story.session_id, ch.number, image=name)
        if self.story is story:
            self.publish("story:image-updated",
                         {"chapter": ch.number, "image_url": media_url(name)})
            self.publish_state()

    async def _vote(self, story: StoryState, resumed: VoteRound | None = None) -> None:
        ch = story.current
        assert ch is not None
        cfg = self.d.config
        if resumed is None:
            opens = self.now()
            duration = self.d.voting_duration()
            r = VoteRound(round_id=ch.number, n_choices=len(ch.draft.choices),
                          rules=RoundRules.from_config(cfg.voting), opens_at=opens,
                          ends_at=opens + duration, seed=story.seed + ch.number)
            await self.d.store.open_round(story.session_id, ch.number, round_id=r.round_id,
                                          choices=list(ch.draft.choices), opens_at=opens,
                                          ends_at=r.ends_at)
        else:
            r = resumed
        self.round, self.round_chapter, self.last_result = r, ch.number, None
        self._ballots_dirty.set()  # the flusher starts the round's heartbeat
        self.publish("story:voting-started", {
            "round_id": r.round_id, "choices": msgspec.to_builtins(ch.choice_views()),
            "ends_at": int(r.ends_at * 1000),
            "duration_ms": int((r.ends_at - r.opens_at) * 1000)})
        self.publish_state()
        while not r.closed:
            await self._wait(until=self._trio_deadline(r.ends_at))
            if r.closed:
                break
            outcome = r.on_deadline(self.now())
            if isinstance(outcome, Extended):
                await self.d.store.update_round(story.session_id, ch.number,
                                                ends_at=outcome.ends_at, extended=True)
                self.publish("story:voting-started", {
                    "round_id": r.round_id, "choices": msgspec.to_builtins(ch.choice_views()),
                    "ends_at": int(outcome.ends_at * 1000), "extended": outcome.reason,
                    "duration_ms": int((outcome.ends_at - r.opens_at) * 1000)})
                self.publish_state()
        if self.machine.state == "voting":
            self.machine.apply("vote_closed")
        await self._record_result(story, ch, r)

    async def _record_result(self, story: StoryState, ch: ChapterState, r: VoteRound) -> None:
        result = r.result
        assert result is not None
        self.last_result = result
        await self._flush_ballots()
        await self.d.store.record_vote_result(
            story.session_id, ch.number, winner=result.winner, counts=list(result.counts),
            voters=result.voters, tie_break=result.tie_break, early=result.early,
            forced=result.forced, closed_at=self.now())
        await self.d.store.credit_voters(
            [(v, name, choice == result.winner) for v, name, choice, _w in r.final_ballots()],
            now=self.now())
        story.pending_choice = result.winner
        self.publish("story:voting-ended", {
            "round_id": r.round_id, "winner": result.winner,
            "winner_key": CHOICE_KEYS[result.winner],
            "winner_text": ch.draft.choices[result.winner], "tie_break": result.tie_break,
            "tied": list(result.tied), "counts": list(result.counts), "voters": result.voters,
            "early": result.early, "forced": result.forced})
        self.publish_state()

    async def _show_result(self, story: StoryState) -> None:
        if self.machine.state == "result":
            await self._wait(self.d.config.story.result_seconds)
        if self.machine.state == "result":
            limit = self.d.config.story.max_chapters
            if self.machine.finish_requested or (limit and story.next_number >= limit):
                self.machine.apply("finish")
            else:
                self.machine.apply("result_shown")
        self.round = None

    async def _finish_story(self, story: StoryState) -> None:
        self.machine.apply("end")
        await self.d.store.end_session(story.session_id, status="finished", ended_at=self.now())
        log.info("story %d finished after %d chapters", story.session_id, len(story.chapters))
        self.publish("story:ended", {"session_id": story.session_id, "reason": "finished"})
        self.publish_state()
        self.d.story_finished(story.session_id)

    # ---- resume after a restart ------------------------------------------------------------
    async def _resume(self) -> None:
        state = await self.d.store.active_session()
        if state is None:
            return
        await self.d.store.mark_stale_sessions(except_id=state.session["id"], ended_at=self.now())
        row = state.session
        try:
            th = themes.get_theme(row["theme"])
        except KeyError:
            th = themes.THEMES["fantasy"]
        memory = (StoryMemory.from_json(state.memory) if state.memory
                  else StoryMemory(row.get("outline") or ""))
        story = StoryState(session_id=row["id"], theme=th, language=row["language"],
                           outline=row.get("outline") or "", seed=int(row["id"]) * 7919,
                           memory=memory)
        for c in state.chapters:
            draft = _draft_from_row(c)
            story.chapters.append(ChapterState(
                number=c["number"], draft=draft, closing=bool(c["closing"]),
                image=c.get("image"), audio=list(c.get("audio") or []), chosen=c.get("chosen")))
        self.story = story
        ch = story.current
        if ch is None:
            self.machine.force("generating")
            self._spawn_play("generate")
        elif ch.closing:
            await self.d.store.end_session(story.session_id, status="finished",
                                           ended_at=self.now())
            self.machine.force("ended")
            self.publish_state()
            return
        elif ch.chosen is not None:
            story.pending_choice = ch.chosen
            self.machine.force("generating")
            self._spawn_play("generate")
        elif state.round is not None and state.round["chapter_number"] == ch.number:
            await self._resume_round(story, ch, state.round, state.ballots)
        else:
            self.machine.force("presenting")
            self._spawn_play("present")
        log.info("resumed story %d at chapter %d (%s)", story.session_id,
                 ch.number if ch else 0, self.machine.state)
        self.publish_state()

    async def _resume_round(self, story: StoryState, ch: ChapterState, row: dict[str, Any],
                            ballots: list[tuple[str, str, int, int]]) -> None:
        """The vote gets the time it had left at its last heartbeat (none yet: all of it),
        at least MIN_RESUME_VOTE; its length (for the countdown bar) stays as it was."""
        now = self.now()
        opens, ends = float(row["opens_at"]), float(row["ends_at"])
        alive = row.get("heartbeat_at")
        remaining = ends - (opens if alive is None else float(alive))
        new_ends = now + max(remaining, MIN_RESUME_VOTE)
        r = VoteRound(round_id=row["round_id"], n_choices=len(ch.draft.choices),
                      rules=RoundRules.from_config(self.d.config.voting),
                      opens_at=min(new_ends - (ends - opens), now), ends_at=new_ends,
                      seed=story.seed + ch.number)
        await self.d.store.update_round(story.session_id, ch.number, ends_at=new_ends,
                                        heartbeat_at=now)
        log.info("vote of chapter %d resumed with %.0f s left", ch.number, new_ends - now)
        r.restore(ballots)
        self.round, self.round_chapter = r, ch.number
        self.machine.force("voting")
        self._resumed_round = r
        self._spawn_play("vote")


def _draft_from_row(row: dict[str, Any]) -> ChapterDraft:
    """A stored chapter row back into the draft it was saved from (resume)."""
    return ChapterDraft(
        title=row["title"], text=row["text"], choices=tuple(row.get("choices") or ()),
        memory=msgspec.convert(row.get("memory_update") or {}, MemoryUpdate),
        summary=row.get("summary") or "", provider=row.get("provider") or "",
        lines=tuple(msgspec.convert(row.get("lines") or [], list[DialogueLine])))
