"""Reading a stored session back after a restart; what to do with it is core/resume.py's call.

`resume_story` loads the newest active session (marking any other as crashed), rebuilds the
StoryState from its chapters and memory (an authored story's Twee file is read again), asks
the pure planner where to pick up, and for a reopened vote restores the round with its
ballots in the voting service. A story whose closing chapter aired is marked finished.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from storyd.core import themes
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, DialogueLine, MemoryUpdate
from storyd.core.plan import plan_from_json
from storyd.core.ports import StoryStore, VotingSettings
from storyd.core.resume import ResumePlan, plan_resume
from storyd.core.voting import RoundRules, VoteRound
from storyd.errors import StorydError
from storyd.services.stories import StoryRef, reload_story
from storyd.services.story_state import ChapterState, StoryState
from storyd.services.voting import VotingService

log = logging.getLogger(__name__)


async def resume_story(store: StoryStore, now: float, voting: VotingService,
                       rules: VotingSettings) -> tuple[StoryState, ResumePlan] | None:
    """The stored story and where it picks up, or None when none was running."""
    state = await store.active_session()
    if state is None:
        return None
    await store.mark_stale_sessions(except_id=state.session["id"], ended_at=now)
    row = state.session
    try:
        th = themes.get_theme(row["theme"])
    except KeyError:
        th = themes.THEMES["fantasy"]
    memory = (StoryMemory.from_json(state.memory) if state.memory
              else StoryMemory(row.get("outline") or ""))
    story = StoryState(session_id=row["id"], theme=th, language=row["language"],
                       outline=row.get("outline") or "", seed=int(row["id"]) * 7919,
                       memory=memory, plan=plan_from_json(row.get("plan")))
    story.extended = story.plan is not None and story.plan.extended   # its end stays
    ref = (row.get("settings") or {}).get("story")
    if ref:   # an authored story: the same Twee file plays on
        try:
            story.authored = await reload_story(msgspec.convert(ref, StoryRef))
        except (StorydError, msgspec.ValidationError) as exc:
            log.error("story %d cannot resume: %s", story.session_id, exc)
            await store.end_session(story.session_id, status="crashed", ended_at=now)
            return None
    for c in state.chapters:
        story.chapters.append(ChapterState(
            number=c["number"], draft=draft_from_row(c), closing=bool(c["closing"]),
            image=c.get("image"), audio=list(c.get("audio") or []), chosen=c.get("chosen")))
    ch = story.current
    plan = plan_resume(chapter_number=ch.number if ch else None,
                       closing=bool(ch and ch.closing), chosen=ch.chosen if ch else None,
                       round_row=state.round, now=now)
    story.pending_choice = plan.pending_choice
    if plan.state == "ended":
        await store.end_session(story.session_id, status="finished", ended_at=now)
    elif plan.state == "voting" and ch is not None:
        vote = VoteRound(round_id=plan.round_id, n_choices=len(ch.draft.choices),
                         rules=RoundRules.from_config(rules), opens_at=plan.opens_at,
                         ends_at=plan.ends_at, seed=story.seed + ch.number)
        await store.update_round(story.session_id, ch.number, ends_at=plan.ends_at,
                                 heartbeat_at=now)
        for viewer, _name, choice, _weight in vote.restore(state.ballots):
            log.warning("round %d: skipping the stored ballot of %r for missing choice %d",
                        vote.round_id, viewer, choice)
        voting.resume(vote, story.session_id, ch.number, ch.choice_views())
        log.info("vote of chapter %d resumed with %.0f s left", ch.number, plan.ends_at - now)
    if plan.state != "ended":
        log.info("resumed story %d at chapter %d (%s)", story.session_id,
                 ch.number if ch else 0, plan.state)
    return story, plan


def draft_from_row(row: dict[str, Any]) -> ChapterDraft:
    """A stored chapter row back into the draft it was saved from."""
    return ChapterDraft(
        title=row["title"], text=row["text"], choices=tuple(row.get("choices") or ()),
        memory=msgspec.convert(row.get("memory_update") or {}, MemoryUpdate),
        summary=row.get("summary") or "", provider=row.get("provider") or "",
        lines=tuple(msgspec.convert(row.get("lines") or [], list[DialogueLine])))
