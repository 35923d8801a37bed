"""The texts of an answer the chain checks, and what of a chapter's streamed text may reach
the overlay while it is written.

`chapter_texts` / `plan_texts` are what the safety blocklist reads; `airable` says whether a
defective chapter may still air as a provider's best answer (a real chapter with two or more
choices, never a one-word text). Issue 17.4: a regenerated attempt's streamed text never
reaches the overlay — the chain gives a streaming provider `StreamGate.feed` instead of the
director's listener, and the gate passes text on only when it may air as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from storyd.core.chapter_parse import is_a_chapter
from storyd.core.chapter_repair import MIN_REAL_CHOICES
from storyd.core.model import ChapterDraft
from storyd.core.plan import StoryPlan
from storyd.core.safety import Blocklist

log = logging.getLogger(__name__)


def chapter_texts(draft: ChapterDraft) -> list[str]:
    return [draft.title, draft.text, draft.summary, *draft.choices,
            *(ln.text for ln in draft.lines), draft.memory.event,
            *(e.name for e in (*draft.memory.characters, *draft.memory.locations,
                               *draft.memory.items))]


def airable(draft: ChapterDraft) -> bool:
    return is_a_chapter(draft.text) and len(draft.choices) >= MIN_REAL_CHOICES


def masked(words: list[str]) -> str:
    return ", ".join(w[0] + "*" * (len(w) - 1) for w in words)


def plan_texts(plan: StoryPlan) -> list[str]:
    return [plan.title, plan.premise, plan.central_question, *plan.endings,
            plan.protagonist.name, plan.protagonist.want, *(b.summary for b in plan.beats),
            *(f"{c.name} {c.trait} {c.want}" for c in plan.cast)]


class StreamGate:
    """The overlay's streamed text of a chapter, gated so that text which may not air never
    reaches it: nothing before the text is a chapter (a few sentences), nothing with a
    blocked word, and nothing more once an attempt that was shown is given up (a
    regeneration, a retry or the next provider writes different text: the overlay waits
    for the chapter that airs instead of swapping one text for another)."""

    def __init__(self, on_text: Callable[[str], None], blocklist: Blocklist) -> None:
        self.on_text, self.blocklist = on_text, blocklist
        self.shown = False      # text of the current attempt reached the listener
        self.closed = False     # an attempt that was shown was given up

    def attempt(self) -> None:
        if self.shown:
            self.closed = True

    def feed(self, text: str) -> None:
        if self.closed:
            return
        if not text:            # the provider restarts its answer (a retry)
            if self.shown:
                self.closed = True
            return
        if not is_a_chapter(text) or self.blocklist.check([text]):
            return
        self.shown = True
        try:
            self.on_text(text)
        except Exception:   # a broken listener must not break generation
            log.exception("on_text callback failed")
