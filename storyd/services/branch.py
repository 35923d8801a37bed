"""A branch: one possible next chapter, written (or being written) for one choice.

While a vote runs the next chapter (services/next_chapter.py) keeps a branch per choice it
writes ahead; the winner's airs, the others are cancelled (and kept as unchosen branches when
finished).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from storyd.core.authored import AuthoredStoryteller
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, ChapterRequest


@dataclass
class Branch:
    choice: int | None          # None: chapter 1, or a chapter with no choice to follow
    closing: bool
    request: ChapterRequest
    memory: StoryMemory         # the story memory with this choice taken (applied if it airs)
    done: trio.Event = field(default_factory=trio.Event)
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    draft: ChapterDraft | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback: str = ""          # why the offline storyteller wrote it, "" when it did not
    preview: str = ""           # streamed text so far
    image: str | None = None    # a picture made before the close (the leading branch)
    chosen: bool = False        # the winner (or the operator's choice): it airs when written
    authored: AuthoredStoryteller | None = None   # an authored story: its passage, no model
