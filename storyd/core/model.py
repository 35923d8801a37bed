"""Shared data types that cross the boundary between the core, the services and the adapters.

All are frozen msgspec Structs so they can go to the wire, the database and the tests
unchanged. Choice keys are the letters a–f; index 0 is "a".
"""

from __future__ import annotations

import msgspec

from storyd.core.plan import StoryPlan

CHOICE_KEYS = "abcdef"
MIN_CHOICES = 3
MAX_CHOICES = 6


class Theme(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the theme catalogue (see core/themes.py)."""

    id: str
    name: str
    style: str          # a style line used in prompts ("high fantasy, ancient magic ...")
    tone: str           # a tone line used in prompts ("wondrous, heroic ...")
    image_style: str    # suffix added to picture prompts ("oil painting, golden light ...")
    palette: tuple[str, ...] = ()  # CSS colours for the offline illustrator, darkest first


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """A remembered character, location or item with a short note that may change."""

    name: str
    note: str = ""
    role: str = ""      # characters only: narrator/hero/heroine/villain/sidekick/elder, or ""
    alive: bool = True  # characters only


class MemoryUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """What one chapter adds to the story memory."""

    characters: tuple[Entity, ...] = ()
    locations: tuple[Entity, ...] = ()
    items: tuple[Entity, ...] = ()
    event: str = ""     # one line: what happened in this chapter


class ChapterRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a storyteller needs to write the next chapter (built by the director)."""

    theme: Theme
    language: str
    chapter_number: int          # 1-based
    words: int                   # target length of the chapter text
    n_choices: int               # 0 for a closing chapter
    closing: bool = False
    outline: str = ""
    context: str = ""            # the budgeted memory block (core/memory.py)
    path: tuple[str, ...] = ()   # texts of the choices taken so far, oldest first
    winning_choice: str = ""     # text of the choice that drives this chapter ("" for chapter 1)
    previous_text: str = ""      # the previous chapter's text
    avoid_choices: tuple[str, ...] = ()  # choices of the last rounds, not to be repeated
    memory: StoryMemoryView | None = None
    seed: int = 0                # for the offline storyteller; stable per session+chapter
    max_chapters: int = 0        # [story] max_chapters (0 = no limit): the length of the arc
    previous_titles: tuple[str, ...] = ()  # titles of the chapters so far, oldest first
    plan: StoryPlan | None = None            # the story bible, pinned to every prompt
    open_threads: tuple[str, ...] = ()       # what the story has left open (core/memory.py)
    recent_openings: tuple[str, ...] = ()    # sentence openings not to use again (core/craft)
    cameos: tuple[str, ...] = ()  # joined viewers offered as minor characters (core/cameos.py)


class StoryMemoryView(msgspec.Struct, frozen=True, kw_only=True):
    """A read-only copy of the story memory, handed to storytellers."""

    characters: tuple[Entity, ...] = ()
    locations: tuple[Entity, ...] = ()
    items: tuple[Entity, ...] = ()
    events: tuple[str, ...] = ()
    summaries: tuple[str, ...] = ()


class DialogueLine(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the chapter with who speaks it ("" = the narrator)."""

    text: str
    speaker: str = ""


class ChapterDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A chapter as a storyteller wrote it, validated."""

    title: str
    text: str
    choices: tuple[str, ...]
    memory: MemoryUpdate = MemoryUpdate()
    summary: str = ""
    lines: tuple[DialogueLine, ...] = ()   # optional speaker attribution for voices
    provider: str = ""                      # filled in by the provider chain
    attempt: int = 1
    notes: tuple[str, ...] = ()             # what was repaired ("2 of 3 choices repeated …")


class ImageRequest(msgspec.Struct, frozen=True, kw_only=True):
    prompt: str
    title: str
    theme: Theme
    width: int = 1024
    height: int = 576
    seed: int = 0


class ImageResult(msgspec.Struct, frozen=True, kw_only=True):
    data: bytes
    content_type: str   # "image/png", "image/jpeg", "image/webp", "image/svg+xml"
    provider: str = ""


class SpeechRequest(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    role: str = "narrator"
    language: str = "English"


class SpeechResult(msgspec.Struct, frozen=True, kw_only=True):
    data: bytes
    content_type: str   # "audio/mpeg", "audio/wav", "audio/ogg"
    provider: str = ""
    duration: float | None = None  # seconds, when known


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=False):
    """One chat comment from any platform. `user_id` is the stable viewer identity."""

    platform: str
    user_id: str
    name: str
    text: str
    msg_id: str = ""


class GiftMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A finished gift streak: counted once, `diamonds` already multiplied by the repeat count."""

    platform: str
    user_id: str
    name: str
    diamonds: int
    msg_id: str = ""
