"""The director: the story loop, whose phases are the StoryMachine's states.

Theory of operation: one *play task* per story runs `_play`, which looks at the machine's
state (core/story.py) and runs that state's phase — generating/finishing (take the next
chapter from the generation service), presenting (the narrator), voting (the voting
service), result (the result card) — until the closing chapter has aired. Each phase ends by
applying an input to the machine; the next turn reads the new state (no second machine).

Operator commands (`start`, `close`, `next`, `finish`, `end`, `regenerate_image`; `extend`
is the generation service's) are plain methods called from the trio thread. Each first asks
the machine whether it fits — refusing changes nothing — then wakes the play task
(`self._wake`, replaced after each wake-up). A `close`/`next` in "voting" before the round is
open is queued and applied the moment the round opens: never lost.

Zero dead air: when a vote opens, the generation service starts writing the branches
([llm] prefetch); *at the close* the winner's chapter is taken (started then if it was not
prefetched) while the result card shows, so the card covers the work. From the first second of
waiting in "generating" the snapshot carries the calm "the story continues in a moment" notice.

Invariants: the machine's state is only changed here; every transition publishes a full
`story:state`; a failed generation never leaves a blank screen (deadline → offline).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core import themes
from storyd.core.memory import StoryMemory
from storyd.core.model import CHOICE_KEYS
from storyd.core.narration import complete_sentences
from storyd.core.ports import StoryStore
from storyd.core.snapshot import ChatSourceView, GeneratingView, ProvidersView, Snapshot
from storyd.core.story import StoryMachine, check_start_options
from storyd.core.voting import RoundResult
from storyd.errors import RefusedError, StorydError, describe
from storyd.services.clock import TrioClock
from storyd.services.generation import GenerationService
from storyd.services.narrator import Presenter
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
        self.notice: str | None = None
        self.generating: GeneratingView | None = None
        self._wake = trio.Event()
        self._queued_close: tuple[int | None] | None = None   # close/next before the round
        self._nursery: trio.Nursery | None = None
        self._play_scope: trio.CancelScope | None = None
        self._play_done: trio.Event | None = None
        self._play_nursery: trio.Nursery | None = None   # the play task's helpers
        voting.on_early_close, voting.on_extended = self._wake_up, self.publish_state
        generation.on_error, generation.on_preview = self._error, self._preview

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
        assert self._nursery is not None
        self._play_scope, self._play_done = trio.CancelScope(), trio.Event()
        self._nursery.start_soon(self._play_guarded, self._play_scope, self._play_done)

    async def _play_guarded(self, scope: trio.CancelScope, done: trio.Event) -> None:
        try:
            with scope:
                try:
                    async with trio.open_nursery() as nursery:
                        self._play_nursery = nursery
                        await self._play()
                except Exception as exc:  # noqa: BLE001 — a bug or storage trouble must not
                    # kill the daemon (and with it the overlay): say so, end this story cleanly.
                    if isinstance(exc, StorydError):
                        log.error("story loop stopped: %s", exc)
                    else:
                        log.exception("story loop crashed")
                    self._error(f"the story stopped: {describe(exc)}")
                    if self.machine.can("end"):
                        self.machine.apply("end")
                    self.generating, self.notice = None, None
                    self.publish_state()
        finally:
            self.generation.drop_handoff()
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
        return build_snapshot(
            self._settings(), self.story, state=state, revision=self.revision,
            now_ms=self.clock.ms(), voting=self.voting.view(),
            notice=self.notice or self._storage_notice(),
            generating=self.generating if state in ("generating", "finishing") else None,
            narration=self._presenter.narration if state == "presenting" else None,
            providers=providers, chat=chat, costs=tuple(self.generation.costs), **self.audience())

    # ---- operator commands ------------------------------------------------------------------
    def _wake_up(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    def current_wake(self) -> trio.Event:
        return self._wake

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
        if not self.machine.can("start"):
            if not force:
                self.machine.apply("start")  # raises the refusal with its message
            await self.end()
        lang, text = (language or cfg.story.language).strip(), (outline or "").strip()
        session_id = await self._store.create_session(
            theme=th.id, language=lang, outline=text, started_at=self.clock.now(),
            settings={"choices": cfg.story.choices, "words": cfg.story.words_per_chapter,
                      **({"seed": seed} if seed is not None else {}),
                      **(authored.settings() if authored else {})})
        self.story = StoryState(
            session_id=session_id, theme=th, language=lang, outline=text,
            seed=seed % (1 << 30) if seed is not None else self._rng.randrange(1 << 30),
            memory=StoryMemory(text), authored=authored)
        self.voting.clear()
        self.generation.cancel()
        self.notice, self._queued_close = None, None
        self.machine.apply("start")
        log.info("story %d started: theme %s", session_id, th.id)
        self.publish_state()
        self._spawn_play()
        return self.snapshot()

    async def close(self) -> RoundResult | None:   # None: queued, the round opens soon
        self.machine.apply("close")
        self._wake_up()
        if not self.voting.is_open():
            self._queued_close = (None,)
            return None
        return self.voting.close()

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
                if self.voting.is_open():
                    self.voting.close(forced_choice=choice)
                else:
                    self._queued_close = (choice,)   # the round opens in a moment
            elif story is not None and (state == "presenting" or choice is not None):
                story.pending_choice = choice
                self.generation.drop_handoff()
        self._wake_up()

    async def finish(self) -> None:
        state = self.machine.state
        self.machine.apply("finish")
        if state == "voting":
            if self.voting.is_open():
                self.voting.close()
            else:
                self._queued_close = (None,)
        self._wake_up()
        self.publish_state()

    async def end(self) -> None:
        if self.machine.state in ("idle", "ended"):
            raise RefusedError(f"no story is running (state: {self.machine.state})")
        if self._play_scope is not None and self._play_done is not None:
            self._play_scope.cancel()
            await self._play_done.wait()   # the old loop is gone before a new one may start
        self.generation.cancel()
        await self.voting.flush()
        if self.machine.can("end"):
            self.machine.apply("end")
        if self.story is not None:
            await self._store.end_session(self.story.session_id, status="ended",
                                          ended_at=self.clock.now())
            self._bus.publish(ev.Ended(ev.EndedData(session_id=self.story.session_id,
                                                    reason="ended")))
        self.voting.clear()
        self.generating, self.notice = None, None
        self.generation.drop_handoff()
        self.publish_state()

    async def regenerate_image(self) -> None:
        story = self.story
        if story is None or story.current is None or self.machine.state in ("idle", "ended"):
            raise RefusedError("there is no chapter on air to illustrate")
        if not self._settings().images.enabled:
            raise RefusedError("pictures are off ([images] enabled = false)")
        self.generation.illustrate_soon(story, story.current, self._rng.randrange(1 << 30),
                                        self._is_current(story))

    def _is_current(self, story: StoryState) -> Callable[[], bool]:
        """For a late picture: is its story still on air (then the snapshot shows it)?"""
        def check() -> bool:
            if self.story is story:
                self.publish_state()
            return self.story is story
        return check

    # ---- the play task: one phase per state -------------------------------------------------
    async def _play(self) -> None:
        story = self.story
        assert story is not None
        while True:
            state = self.machine.state
            if state in ("generating", "finishing"):
                await self._generating(story)
            elif state == "presenting":
                if await self._presenting(story):
                    return
            elif state == "voting":
                await self._voting(story)
            elif state == "result":
                await self._result(story)
            else:
                return

    async def _generating(self, story: StoryState) -> None:
        closing = self.machine.state == "finishing"
        number = story.next_number
        ready = self.generation.handoff_ready()
        self.generating = GeneratingView(what="closing" if closing else "chapter",
                                         chapter=number, since_ms=self.clock.ms(),
                                         prefetched=ready)
        self._bus.publish(ev.GenerationStarted(ev.GenerationStartedData(
            chapter=number, closing=closing, prefetched=ready)))
        metrics.dead_air_started()
        self.publish_state()
        self._preview(self.generation.preview_so_far())   # streamed during the result card
        branch = await self.generation.next_chapter(story, closing, on_slow=self._slow)
        story.pending_choice = None
        ch = await self.generation.air(story, branch)
        self.notice, self.generating = None, None
        self.machine.apply("closing_ready" if closing else "chapter_ready")
        self._bus.publish(ev.ChapterReady(ch.view()))
        metrics.dead_air_ended()
        self.publish_state()
        if self._settings().images.enabled and ch.image is None:   # none made in the vote
            self.generation.illustrate_soon(story, ch, story.seed + ch.number,
                                            self._is_current(story))

    def _slow(self) -> None:
        """NOTICE_AFTER seconds into waiting for a chapter: the overlay's calm card."""
        self.notice = WAITING_NOTICE
        if self.generating is not None:
            self.generating = msgspec.structs.replace(self.generating, waiting=True)
        self.publish_state()

    def _preview(self, text: str) -> None:
        """Streaming reveal: the winner's text so far, cut after its last complete sentence,
        goes out whenever a sentence is completed."""
        preview = complete_sentences(text)
        if self.generating is not None and len(preview) > len(self.generating.preview):
            self.generating = msgspec.structs.replace(self.generating, preview=preview)
            self.publish_state()

    async def _presenting(self, story: StoryState) -> bool:
        ch = story.current
        assert ch is not None
        await self._presenter.present(
            story, ch, still_presenting=lambda: (self.machine.state == "presenting"
                                                 and self.story is story),
            pause=self.pause)
        if ch.closing:
            await self._finish_story(story)
            return True
        if self.machine.state == "presenting":
            self.machine.apply("presented")   # the voting phase publishes, round open
        return False

    async def _voting(self, story: StoryState) -> None:
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
        self.generation.prefetch(story, closing=self._closing_next(story),
                                 leaders=v.leaders)
        if v.is_open():
            await v.wait_closed(self.current_wake)
        if self.machine.state == "voting":
            self.machine.apply("vote_closed")
        result = await v.record_result()
        story.pending_choice = result.winner
        assert self._play_nursery is not None   # generation starts at the close: the
        self.generation.take_at_close(self._play_nursery, story, result.winner,  # result card
                                      closing=self._closing_next(story))       # covers it
        self.publish_state()

    def _closing_next(self, story: StoryState) -> bool:
        limit = story.planned_chapters(self._settings().story.max_chapters)
        return self.machine.finish_requested or bool(limit and story.next_number >= limit)

    async def _result(self, story: StoryState) -> None:
        await self.pause(self._settings().story.result_seconds)
        if self.machine.state == "result":
            self.machine.apply("finish" if self._closing_next(story) else "result_shown")
        self.voting.clear()

    async def _finish_story(self, story: StoryState) -> None:
        self.machine.apply("end")
        await self._store.end_session(story.session_id, status="finished",
                                      ended_at=self.clock.now())
        log.info("story %d finished after %d chapters", story.session_id, len(story.chapters))
        self._bus.publish(ev.Ended(ev.EndedData(session_id=story.session_id,
                                                reason="finished")))
        self.publish_state()
        self._on_finished(story.session_id)

    # ---- resume after a restart -------------------------------------------------------------
    async def _resume(self) -> None:
        resumed = await resume_story(self._store, self.clock.now(), self._settings().voting)
        if resumed is None:
            return
        story, plan, vote = resumed
        self.story = story
        self.machine = StoryMachine(plan.state)
        if plan.state == "ended":
            self.publish_state()
            return
        story.pending_choice = plan.pending_choice
        if vote is not None and story.current is not None:
            self.voting.resume(vote, story.session_id, story.current.number,
                               story.current.choice_views())
        log.info("resumed story %d at chapter %d (%s)", story.session_id,
                 story.current.number if story.current else 0, plan.state)
        self.publish_state()
        self._spawn_play()
