"""The story's plan, its chapter requests and its recap (issue 17): the craft around a chapter.

Theory of operation:
- `ensure_plan` writes the plan before chapter 1: one request to the text chain, inside
  chapter 1's `[llm] chapter_deadline` (past it, or when every provider failed, the offline
  storyteller plans from the outline and the theme: `plan_offline` — never a failed start).
  The plan is stored with the session at once, so the operator can read it (`storyctl plan`,
  `storyctl session ID`, the admin page) before chapter 1 airs. Its calls and tokens are
  added to chapter 1's cost.
- `chapter_request` builds each ChapterRequest: the plan pinned, the memory with the choice
  taken, the choices of the last three rounds and the recent sentence openings to avoid, the
  open threads.
- `extend` lengthens a running story: the aired beats stay, the rest follow the new arc at
  once (pure), then `replan` asks the model to re-plan the remaining beats (kept only if the
  story has not moved on meanwhile).
- `recap` writes the finished story's recap (one last request; built from the chapters when no
  model answers) and stores it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec
import trio

from storyd.config.structs import Config
from storyd.core.authored import recap_ending
from storyd.core.craft import overused, sentence_openings
from storyd.core.memory import StoryMemory, name_key
from storyd.core.model import ChapterRequest
from storyd.core.plan import DEFAULT_CHAPTERS, StoryPlan, extend_plan, plan_to_json
from storyd.core.plan_prompts import PlanRequest, open_threads
from storyd.core.ports import ChapterWriter, ProviderChains, StoryStore
from storyd.core.recap import RecapChapter, RecapRequest, StoryRecap, offline_recap, recap_to_json
from storyd.errors import ProviderError, RefusedError, StorydError
from storyd.services.story_state import StoryState

log = logging.getLogger(__name__)

AVOID_ROUNDS = 3      # the choices of this many last rounds are not offered again


class Planner:
    def __init__(self, store: StoryStore, settings: Callable[[], Config],
                 chains: Callable[[], ProviderChains], offline: ChapterWriter,
                 on_error: Callable[[str], None]) -> None:
        self._store, self._settings, self._chains = store, settings, chains
        self._offline = offline   # the offline storyteller: names, the fallback plan
        self.on_error = on_error
        self.pending_cost = (0, 0, 0)    # calls, prompt and completion tokens not yet aired
        self.on_recap: Callable[[int, StoryRecap], None] = lambda _session, _recap: None
        # the audience's say in the plan: joined viewers offered (services/cameos.py)
        self.adjust_request: Callable[[PlanRequest], PlanRequest] = lambda r: r

    # ---- the plan ---------------------------------------------------------------------------
    def plan_request(self, story: StoryState, chapters: int) -> PlanRequest:
        base = PlanRequest(theme=story.theme, language=story.language, chapters=chapters,
                           outline=story.outline, seed=story.seed,
                           offered_names=self._offline.offer_names(
                               story.theme.id, story.language, story.seed),
                           avoid=overused(story.language)[0])
        return self.adjust_request(msgspec.structs.replace(
            base, fallback=self._offline.plan_fallback(base)))

    async def ensure_plan(self, story: StoryState) -> None:
        """The story's plan, written now when it has none (see the module docstring)."""
        if story.plan is not None or story.chapters:
            return
        cfg = self._settings()
        request = self.plan_request(story, self._length(story))
        await self._planned(story, await self._ask(request, cfg.llm.chapter_deadline))

    def _length(self, story: StoryState) -> int:
        return story.extend_to or self._settings().story.max_chapters or DEFAULT_CHAPTERS

    async def plan_offline(self, story: StoryState) -> None:
        """No plan in time: the offline storyteller's, from the outline and the theme."""
        if story.plan is None and not story.chapters:
            request = self.plan_request(story, self._length(story))
            await self._planned(story, await self._offline.write_plan(request))

    async def _planned(self, story: StoryState, plan: StoryPlan) -> None:
        if story.extend_to:                                          # extended meanwhile
            plan = (extend_plan(plan, story.extend_to, 0) if plan.chapters != story.extend_to
                    else msgspec.structs.replace(plan, extended=True))
        story.plan = plan
        log.info("story %d planned by %s: %s (%d chapters)%s", story.session_id, plan.source,
                 plan.title, plan.chapters,
                 f"; repaired: {'; '.join(plan.repairs)}" if plan.repairs else "")
        await self._store.set_plan(story.session_id, plan_to_json(plan))

    async def _ask(self, request: PlanRequest, deadline: float) -> StoryPlan:
        with trio.move_on_after(deadline):
            try:
                outcome = await self._chains().text.write_plan(request)
            except ProviderError as exc:
                self.on_error(f"story plan: {exc}; the offline storyteller plans the story")
            else:
                calls, prompt, completion = self.pending_cost
                self.pending_cost = (calls + outcome.calls, prompt + outcome.prompt_tokens,
                                     completion + outcome.completion_tokens)
                plan: StoryPlan = outcome.draft
                return plan
            return await self._offline.write_plan(request)
        self.on_error(f"story plan: no plan from the providers within {deadline:g} s; the "
                      "offline storyteller plans the story")
        return await self._offline.write_plan(request)

    def take_cost(self) -> tuple[int, int, int]:
        cost, self.pending_cost = self.pending_cost, (0, 0, 0)
        return cost

    # ---- extending --------------------------------------------------------------------------
    async def extend(self, story: StoryState | None, chapters: int, *, state: str,
                     finishing: bool) -> StoryPlan | None:
        """The story lengthened (or shortened) to `chapters`; aired beats stay. Refused
        (RefusedError) with no story running, while it finishes, for an authored story, or
        below what aired. While its plan is still being written (chapter 1), the plan is
        made this long when it comes (None now): one plan, not a second request racing the
        first — chapter 1 would follow one plan and the rest of the story another."""
        if story is None or state in ("idle", "ended", "finishing") or finishing:
            raise RefusedError(f"no story to extend (state: {state}"
                               + (", finishing" if finishing and state != "finishing" else "")
                               + ")")
        if story.authored is not None:    # its passages are its plan; no model writes one
            raise RefusedError(f"“{story.authored.story.title}” is an authored story: it plays "
                               "its own passages to one of its endings and cannot be extended "
                               "(storyctl finish ends it at the ending nearest to where it is)")
        aired = len(story.chapters)
        if chapters <= aired:
            raise RefusedError(f"the story already has {aired} chapter(s): extend it to more "
                               f"than {aired}")
        story.extended = True
        if story.plan is None and not story.chapters:
            story.extend_to = chapters
            log.info("story %d will be planned for %d chapters", story.session_id, chapters)
            return None
        if story.plan is None:   # a story from before plans: the offline storyteller's plan
            story.plan = await self._offline.write_plan(self.plan_request(story, chapters))
        story.plan = extend_plan(story.plan, chapters, aired)
        await self._store.set_plan(story.session_id, plan_to_json(story.plan))
        log.info("story %d extended to %d chapters", story.session_id, chapters)
        return story.plan

    async def replan(self, story: StoryState) -> None:
        """Ask the model to re-plan the beats that have not aired (after `extend`)."""
        plan = story.plan
        if plan is None:
            return
        aired = len(story.chapters)
        base = self.plan_request(story, plan.chapters)
        request = msgspec.structs.replace(base, fallback=plan,
                                          keep_beats=plan.beats[:aired])
        try:
            with trio.move_on_after(self._settings().llm.chapter_deadline):
                outcome = await self._chains().text.write_plan(request)
                new: StoryPlan = outcome.draft
                if story.plan is plan and len(story.chapters) == aired and new.source != "offline":
                    story.plan = msgspec.structs.replace(
                        plan, beats=new.beats, repairs=(*plan.repairs,
                                                       f"beats re-planned by {new.source}"))
                    await self._store.set_plan(story.session_id, plan_to_json(story.plan))
        except (ProviderError, StorydError) as exc:
            log.warning("re-planning after extend failed (the extended plan stays): %s", exc)

    # ---- chapter requests -------------------------------------------------------------------
    def chapter_request(self, story: StoryState, choice: int | None,
                        closing: bool) -> tuple[ChapterRequest, StoryMemory]:
        """The request for the next chapter, with `choice` taken, and the memory it needs."""
        cfg = self._settings()
        prev = story.current
        memory = StoryMemory.from_json(story.memory.to_json())
        winner = prev.draft.choices[choice] if prev is not None and choice is not None else ""
        memory.take_choice(winner)
        number = story.next_number
        recent = story.chapters[-AVOID_ROUNDS:]
        avoid = tuple(dict.fromkeys(c for ch in recent for c in ch.draft.choices
                                    if name_key(c) != name_key(winner)))
        view = memory.view()
        request = ChapterRequest(
            theme=story.theme, language=story.language, chapter_number=number,
            words=cfg.story.closing_words if closing else cfg.story.words_per_chapter,
            n_choices=0 if closing else cfg.story.choices, closing=closing,
            outline=story.outline,
            context=memory.context(cfg.llm.context_tokens, include_outline=False),
            path=story.taken_path() + ((winner,) if winner else ()), winning_choice=winner,
            previous_text=prev.draft.text if prev else "", avoid_choices=avoid,
            memory=view, seed=story.seed * 1000 + number,
            max_chapters=story.planned_chapters(cfg.story.max_chapters),
            previous_titles=tuple(c.draft.title for c in story.chapters), plan=story.plan,
            open_threads=open_threads(story.plan, view, number,
                                      tuple(c.draft.text for c in story.chapters))
            if story.plan else (),
            recent_openings=sentence_openings([c.draft.text for c in recent]))
        return request, memory

    # ---- the recap --------------------------------------------------------------------------
    async def recap(self, story: StoryState) -> StoryRecap:
        """The finished story's recap, stored with the session (never fails for want of a
        model: the chapters themselves make one)."""
        chapters = tuple(RecapChapter(
            number=c.number, title=c.draft.title, summary=c.draft.summary, text=c.draft.text,
            chosen=(c.draft.choices[c.chosen] if c.chosen is not None
                    and c.chosen < len(c.draft.choices) else "")) for c in story.chapters)
        plan = story.plan
        title = (story.authored.story.title if story.authored is not None
                 else plan.title if plan else (story.chapters[0].draft.title if story.chapters
                                               else story.theme.name))
        fallback = offline_recap(
            title, chapters, protagonist=plan.protagonist.name if plan else "",
            want=plan.protagonist.want if plan else "",
            german=story.language.strip().casefold() in ("german", "deutsch", "de"))
        if story.authored is not None and story.chapters:   # the ending passage's tag
            fallback = msgspec.structs.replace(
                fallback, ending=recap_ending(story.chapters[-1].draft))
        request = RecapRequest(theme=story.theme, language=story.language, title=title,
                               chapters=chapters, fallback=fallback,
                               protagonist=plan.protagonist.name if plan else "")
        recap = fallback
        with trio.move_on_after(self._settings().llm.chapter_deadline):
            try:
                recap = (await self._chains().text.write_recap(request)).draft
            except ProviderError as exc:
                log.warning("recap from the chapters alone: %s", exc)
        try:
            await self._store.set_recap(story.session_id, recap_to_json(recap))
        except StorydError as exc:
            log.warning("recap not saved: %s", exc)
        self.on_recap(story.session_id, recap)
        return recap
