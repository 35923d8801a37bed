"""Shared data types that cross the boundary between the core, the services and the adapters.

All are frozen msgspec Structs so they can go to the wire, the database and the tests
unchanged. Choice keys are the letters a–f; index 0 is "a".
"""

from __future__ import annotations

from typing import Literal

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


class ChapterRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A chapter as it is stored when it airs (StoryStore.add_chapter): what the storyteller
    wrote and where it stands in its session."""

    session_id: int
    number: int                  # 1-based, unique in the session
    draft: ChapterDraft
    closing: bool
    created_at: float            # epoch seconds
    chosen: int | None = None    # the choice taken, when it is known already


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


ViewerKey = int | str


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=False, gc=False):
    """One chat comment from any platform. `user_id` is the stable viewer identity
    (`platform:user_id`); `key`, when set, is the same identity as `viewer_key` makes it
    (an int for TikTok and Twitch numeric ids, so the vote core hashes no string per
    message); 0 means "use `user_id`". Only strings and ints: never in a reference cycle, so
    not tracked by the garbage collector (`gc=False`: 16 bytes and the tracking less per
    message on the chat path, issue 23)."""

    platform: str
    user_id: str
    name: str
    text: str
    msg_id: str = ""
    key: ViewerKey = 0


def viewer_key(platform: str, raw_id: str | int) -> ViewerKey:
    """The vote core's key of a viewer: TikTok's numeric id as a positive int, Twitch's as a
    negative one (the two never meet), any other viewer as its `platform:user_id` string.
    One viewer always gets one key, whichever path their message took."""
    if isinstance(raw_id, int):
        raw_id = str(raw_id)
    if raw_id.isascii() and raw_id.isdigit() and 0 < len(raw_id) <= 20:
        if platform == "tiktok":
            return int(raw_id) or f"tiktok:{raw_id}"
        if platform == "twitch":
            return -int(raw_id) - 1
    return f"{platform}:{raw_id}"


def key_of_viewer_id(viewer_id: str) -> ViewerKey:
    """`viewer_key` of a stored `platform:user_id` viewer id."""
    platform, sep, raw = viewer_id.partition(":")
    return viewer_key(platform, raw) if sep else viewer_id


def viewer_id_of_key(key: ViewerKey) -> str:
    """The stored `platform:user_id` of a key (the inverse of model.viewer_key)."""
    if isinstance(key, str):
        return key
    return f"tiktok:{key}" if key > 0 else f"twitch:{-key - 1}"


class Moderation(msgspec.Struct, frozen=True, kw_only=True):
    """A moderator's action that takes ballots back (Twitch CLEARMSG/CLEARCHAT, TikTok's
    deleted comments). `kind` "message": the message `msg_id` was deleted; "viewer": the
    viewer `user_id` was banned or timed out (or had all their comments deleted);
    "chat": the whole chat was cleared (ballots stay: see README "Votes as chat types them")."""

    platform: str
    kind: Literal["message", "viewer", "chat"]
    msg_id: str = ""
    user_id: str = ""
    key: ViewerKey = 0


class GiftMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A finished gift streak: counted once, `diamonds` already multiplied by the repeat count."""

    platform: str
    user_id: str
    name: str
    diamonds: int
    msg_id: str = ""
