"""The director: the story loop, whose phases are the StoryMachine's states.

Theory of operation: one *play task* per story runs `_play`, which looks at the machine's
state (core/story.py) and runs that state's phase — generating/finishing (the next chapter
airs), presenting (the narrator), voting (the voting service), result (the result card) —
until the closing chapter has aired. Each phase ends by applying an input to the machine.

Operator commands (`start`, `close`, `next`, `finish`, `end`, `regenerate_image`; `extend`
is the generation service's) are plain methods called from the trio thread. Each first asks
the machine whether it fits — refusing changes nothing — then wakes the play task
(`self._wake`, replaced after each wake-up). A `close`/`next` in "voting" before the round is
open is queued and applied the moment the round opens: never lost.

Zero dead air: the chapter to come is one hand-off object (services/next_chapter.py), made by
the play task in its nursery when a vote opens and kept until the chapter airs: its branches
are written while the vote runs, *at the close* the winner is chosen while the result card
shows (the card covers what is left to write), an operator's `next i` during the card chooses
again, and `finish` makes its branches closing chapters. From the first second of waiting in
"generating" the snapshot carries the calm "the story continues in a moment" notice.

Invariants: the machine's state is only changed here; every transition publishes a full
`story:state`; a failed generation never leaves a blank screen (deadline → offline).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, Literal

import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core import themes
from storyd.core.memory import StoryMemory
from storyd.core.model import CHOICE_KEYS
from storyd.core.ports import StoryStore
from storyd.core.snapshot import ChatSourceView, ProvidersView, Snapshot
from storyd.core.story import StoryMachine, check_start_options
from storyd.core.voting import RoundResult
from storyd.errors import RefusedError, StorydError, describe
from storyd.services.clock import TrioClock
from storyd.services.generation import GenerationService
from storyd.services.narrator import Presenter
from storyd.services.next_chapter import NextChapter
from storyd.services.resume import resume_story
from storyd.services.stories import AuthoredStory
from storyd.services.story_state import StoryState, build_snapshot
from storyd.services.voting import VotingService
from storyd.system import metrics

log = logging.getLogger(__name__)

WAITING_NOTICE = "The story continues in a moment…"


class Director:
    def __init__(self, store: StoryStore, generation: GenerationService, voting: VotingService,
                 bus: EventBus, clock: TrioClock, settings: Callable[[], Config], *,
                 presenter: Presenter, vote_seconds: Callable[[], float],
                 status: Callable[[], tuple[ProvidersView, tuple[ChatSourceView, ...]]]
                 = lambda: (ProvidersView(), ()),
                 on_finished: Callable[[int], None] = lambda _session_id: None,
                 storage_notice: Callable[[], str | None] = lambda: None) -> None:
        self._store, self.generation, self.voting, self._bus = store, generation, voting, bus
        self.clock, self._settings, self._presenter = clock, settings, presenter
        self._vote_seconds, self._status, self._on_finished = vote_seconds, status, on_finished
        self._storage_notice = storage_notice   # a disk fault: an operator notice, not a card
        self.audience: Callable[[], dict[str, Any]] = dict   # cameos: services/cameos.py
        self.machine = StoryMachine()
        self.story: StoryState | None = None
        self.revision, self._rng = 0, random.Random()
        self._wake = trio.Event()
        self._queued_close: tuple[int | None] | None = None   # close/next before the round
        self.upcoming: NextChapter | None = None   # the chapter to come (the play task's)
        self._nursery: trio.Nursery | None = None
        self._playing: tuple[trio.CancelScope, trio.Event] | None = None   # the play task
        voting.on_early_close, voting.on_extended = self._wake_up, self.publish_state
        generation.on_error, generation.on_preview = self._error, self._preview
        generation.on_picture = self._picture_shown

    # ---- service ----------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.voting.run)
            await nursery.start(self.generation.run)
            await self._resume()
            task_status.started()
            if self.story is None and self._settings().story.autostart:
                await self.start()
            await trio.sleep_forever()

    def _spawn_play(self) -> None:
        assert self._nursery is not None and self.story is not None
        self._playing = trio.CancelScope(), trio.Event()
        self._nursery.start_soon(self._play_guarded, self.story, *self._playing)

    async def _play_guarded(self, story: StoryState, scope: trio.CancelScope,
                            done: trio.Event) -> None:
        try:
            with scope:
                try:
                    async with trio.open_nursery() as nursery:   # the story's helpers
                        await self._play(story, nursery)
                        nursery.cancel_scope.cancel()   # the story is over: nothing lingers
                except Exception as exc:  # noqa: BLE001 — a bug or storage trouble must not
                    # kill the daemon (and with it the overlay): say so, end this story cleanly.
                    if isinstance(exc, StorydError):
                        log.error("story loop stopped: %s", exc)
                    else:
                        log.exception("story loop crashed")
                    self._error(f"the story stopped: {describe(exc)}")
                    if self.machine.can("end"):
                        self.machine.apply("end")
                    self.publish_state()
        finally:
            self.upcoming = None
            done.set()

    # ---- snapshot & events ------------------------------------------------------------------
    def publish_state(self) -> None:
        self.revision += 1
        self._bus.publish(ev.State(self.snapshot()))

    def _error(self, message: str) -> None:
        log.warning("%s", message)
        self._bus.publish(ev.error(message, self.clock.ms()))

    def snapshot(self) -> Snapshot:
        state, (providers, chat) = self.machine.state, self._status()
        generating = (self.upcoming.view() if self.upcoming is not None
                      and state in ("generating", "finishing") else None)
        return build_snapshot(
            self._settings(), self.story, state=state, revision=self.revision,
            now_ms=self.clock.ms(), voting=self.voting.view(),
            notice=(WAITING_NOTICE if generating and generating.waiting
                    else self._storage_notice()),
            generating=generating,
            narration=self._presenter.narration if state == "presenting" else None,
            providers=providers, chat=chat, costs=tuple(self.generation.costs), **self.audience())

    # ---- operator commands ------------------------------------------------------------------
    def _wake_up(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when an operator command or a closed vote wakes the loop."""
        with trio.move_on_after(seconds):
            await self._wake.wait()

    async def start(self, theme: str | None = None, outline: str | None = None,
                    language: str | None = None, force: bool = False,
                    seed: int | None = None, authored: AuthoredStory | None = None) -> Snapshot:
        cfg = self._settings()
        theme_id = theme or cfg.story.theme
        try:
            th = themes.get_theme(theme_id, self._rng if seed is None else random.Random(seed))
        except KeyError:
            raise RefusedError(f"unknown theme '{theme_id}' (see `storyctl themes`)") from None
        check_start_options(outline, language)
        if not (force or self.machine.can("start")):
            self.machine.apply("start")  # raises the refusal with its message
        lang, text = (language or cfg.story.language).strip(), (outline or "").strip()
        # what can fail comes first: a refused start leaves the story on air as it was
        session_id = await self._store.create_session(
            theme=th.id, language=lang, outline=text, started_at=self.clock.now(),
            settings={"choices": cfg.story.choices, "words": cfg.story.words_per_chapter,
                      **({"seed": seed} if seed is not None else {}),
                      **(authored.settings() if authored else {})})
        if not self.machine.can("start"):
            if not force:   # another start came first meanwhile
                await self._store.end_session(session_id, status="ended",
                                              ended_at=self.clock.now())
                self.machine.apply("start")  # raises the refusal
            await self.end()
        self.story = StoryState(
            session_id=session_id, theme=th, language=lang, outline=text,
            seed=seed % (1 << 30) if seed is not None else self._rng.randrange(1 << 30),
            memory=StoryMemory(text), authored=authored)
        self.voting.clear()
        self.generation.cancel()
        self._queued_close = None
        self.machine.apply("start")
        log.info("story %d started: theme %s", session_id, th.id)
        self.publish_state()
        self._spawn_play()
        return self.snapshot()

    async def close(self) -> RoundResult | None:   # None: queued, the round opens soon
        self.machine.apply("close")
        self._wake_up()
        return self._close_vote(None)

    async def next(self, choice: int | None = None) -> None:
        state, story = self.machine.state, self.story
        ch = story.current if story else None
        if choice is not None and ch is not None and not 0 <= choice < len(ch.draft.choices):
            raise RefusedError(f"choice {CHOICE_KEYS[choice] if choice < 6 else choice} does not "
                               f"exist: this chapter has {len(ch.draft.choices)} choices")
        if state == "presenting" and choice is None:
            self.machine.apply("presented")  # skip the narration, open the vote now
        else:
            self.machine.apply("next")
            if state == "voting":
                self._close_vote(choice)
            elif state == "result" and choice is not None and self.upcoming is not None:
                self.upcoming.choose(choice)   # the operator's choice replaces the winner
            elif state == "presenting" and story is not None:
                story.pending_choice = choice  # the vote is skipped
        self._wake_up()

    def _close_vote(self, choice: int | None) -> RoundResult | None:
        if self.voting.is_open():
            return self.voting.close(forced_choice=choice)
        self._queued_close = (choice,)   # the round opens in a moment
        return None

    async def finish(self, *, now: bool = False) -> None:
        """The next chapter is the last. A running vote runs out (its branches are written
        again as closing chapters meanwhile, so the closing chapter is ready at its close);
        `now` closes it at once."""
        state = self.machine.state
        self.machine.apply("finish")
        if self.upcoming is not None and state in ("voting", "result"):
            self.upcoming.become_closing()
        if state == "voting" and now:
            self.machine.apply("close")
            self._close_vote(None)
        self._wake_up()
        self.publish_state()

    def plan_changed(self) -> None:
        """`extend` moved the story's end: the chapter written ahead during the vote (or the
        result card) is written again from the new plan — a closing chapter only where the
        new plan ends, so extending at the last vote no longer ends the story there."""
        story, nxt = self.story, self.upcoming
        if story is None or nxt is None or self.machine.state not in ("voting", "result"):
            return
        if nxt.number == story.next_number:
            nxt.rewrite(closing=self._closing_next(story))

    async def end(self) -> None:
        if self.machine.state in ("idle", "ended"):
            raise RefusedError(f"no story is running (state: {self.machine.state})")
        if self._playing is not None:
            self._playing[0].cancel()
            await self._playing[1].wait()   # the old loop is gone before a new one may start
        self.generation.cancel()
        await self.voting.flush()
        self.voting.clear()
        await self._over(self.story, "ended")

    async def _over(self, story: StoryState | None, how: Literal["ended", "finished"]) -> None:
        """The story is over: stored so, `story:ended`, and the snapshot that shows it."""
        if self.machine.can("end"):
            self.machine.apply("end")
        if story is not None:
            await self._store.end_session(story.session_id, status=how,
                                          ended_at=self.clock.now())
            self._bus.publish(ev.Ended(ev.EndedData(session_id=story.session_id, reason=how)))
        self.publish_state()

    async def regenerate_image(self) -> None:
        story = self.story
        if story is None or story.current is None or self.machine.state in ("idle", "ended"):
            raise RefusedError("there is no chapter on air to illustrate")
        if not self._settings().images.enabled:
            raise RefusedError("pictures are off ([images] enabled = false)")
        self.generation.illustrate_soon(story, story.current, self._rng.randrange(1 << 30))

    def _picture_shown(self, story: StoryState) -> bool:
        """A late picture came: is its story still on air (then the snapshot shows it)?"""
        if self.story is story:
            self.publish_state()
        return self.story is story

    # ---- the play task: one phase per state -------------------------------------------------
    async def _play(self, story: StoryState, nursery: trio.Nursery) -> None:
        while True:
            state = self.machine.state
            if state in ("generating", "finishing"):
                await self._generating(story, nursery)
            elif state == "presenting":
                if await self._presenting(story):
                    return
            elif state == "voting":
                await self._voting(story, nursery)
            elif state == "result":
                await self._result(story)
            else:
                return

    async def _generating(self, story: StoryState, nursery: trio.Nursery) -> None:
        closing = self.machine.state == "finishing"
        nxt = self.upcoming
        if nxt is None:   # no vote decided it: chapter 1, a skipped vote, a resumed story
            nxt = self.upcoming = self.generation.next_chapter(story, nursery, closing=closing)
            nxt.choose(story.pending_choice)
        if closing:
            nxt.become_closing()
        self._bus.publish(ev.GenerationStarted(ev.GenerationStartedData(
            chapter=nxt.number, closing=closing, prefetched=nxt.ready)))
        metrics.dead_air_started()
        self.publish_state()
        await nxt.chapter(self.clock.ms(), changed=self.publish_state)
        story.pending_choice = None
        ch = await self.generation.air(story, nxt)
        self.upcoming = None
        self.machine.apply("closing_ready" if closing else "chapter_ready")
        self._bus.publish(ev.ChapterReady(ch.view()))
        metrics.dead_air_ended()
        self.publish_state()
        if self._settings().images.enabled and ch.image is None:   # none made in the vote
            self.generation.illustrate_soon(story, ch, story.seed + ch.number)

    def _preview(self, text: str) -> None:
        """Streaming reveal: the awaited chapter's text so far goes out whenever a sentence
        is completed."""
        if self.upcoming is not None and self.upcoming.streamed(text) and \
                self.machine.state in ("generating", "finishing"):
            self.publish_state()

    async def _presenting(self, story: StoryState) -> bool:
        ch = story.current
        assert ch is not None
        await self._presenter.present(
            story, ch, still_presenting=lambda: (self.machine.state == "presenting"
                                                 and self.story is story),
            pause=self.pause)
        if ch.closing:
            await self._over(story, "finished")
            log.info("story %d finished after %d chapters", story.session_id,
                     len(story.chapters))
            self._on_finished(story.session_id)
            return True
        if self.machine.state == "presenting":
            self.machine.apply("presented")   # the voting phase publishes, round open
        return False

    async def _voting(self, story: StoryState, nursery: trio.Nursery) -> None:
        ch = story.current
        assert ch is not None
        v = self.voting
        if v.round is None or v.chapter != ch.number:
            await v.open(story.session_id, ch.number, ch.choice_views(), self._vote_seconds(),
                         seed=story.seed + ch.number)
        queued, self._queued_close = self._queued_close, None
        if queued is not None and v.is_open():
            v.close(forced_choice=queued[0])
        self.publish_state()
        nxt = self.upcoming = self.generation.next_chapter(
            story, nursery, closing=self._closing_next(story), vote=True)
        leaders, follow = trio.open_memory_channel[tuple[int, ...]](1)
        v.send_leaders_to(leaders)   # the ranking, each time it changes
        nursery.start_soon(nxt.follow, follow)
        if v.is_open():
            await v.wait_closed(lambda: self._wake)
        v.send_leaders_to(None)
        if self.machine.state == "voting":
            self.machine.apply("vote_closed")
        result = await v.record_result()
        nxt.choose(result.winner)   # written in the vote, or started now: the card covers it
        self.publish_state()

    def _closing_next(self, story: StoryState) -> bool:
        limit = story.planned_chapters(self._settings().story.max_chapters)
        return self.machine.finish_requested or bool(limit and story.next_number >= limit)

    async def _result(self, story: StoryState) -> None:
        await self.pause(self._settings().story.result_seconds)
        if self.machine.state == "result":
            self.machine.apply("finish" if self._closing_next(story) else "result_shown")
        self.voting.clear()

    # ---- resume after a restart -------------------------------------------------------------
    async def _resume(self) -> None:
        resumed = await resume_story(self._store, self.clock.now(), self.voting,
                                     self._settings().voting)
        if resumed is not None:
            self.story, plan = resumed
            self.machine = StoryMachine(plan.state)
            self.publish_state()
            if plan.state != "ended":
                self._spawn_play()
