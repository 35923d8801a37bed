"""A Twee story as storyd plays it: passages, their links, the story (pure data).

Made by the reader (core/twee.py), walked by core/twee_graph.py and the authored storyteller.
"""

from __future__ import annotations

import re

import msgspec

VARIANT = " ~ "                # `Name ~ variant`: the part after it is never shown
VARIANT_AT = re.compile(r"(?:^|\s)~(?:\s|$)")
ENDING_KINDS = ("good", "bittersweet", "bad")


class Link(msgspec.Struct, frozen=True, kw_only=True):
    text: str      # what viewers see and vote on
    target: str    # the passage it leads to
    line: int


class Passage(msgspec.Struct, frozen=True, kw_only=True):
    name: str                    # unique; may carry a hidden " ~ variant" suffix
    prose: str                   # the chapter text, whitespace collapsed
    links: tuple[Link, ...]
    tags: tuple[str, ...] = ()
    line: int = 0                # of its `::` header

    @property
    def title(self) -> str:
        """The chapter title viewers see: the name without its variant suffix."""
        return title_of(self.name)

    @property
    def ending(self) -> str | None:
        """"good", "bittersweet" or "bad" for a tagged ending, "" for an untagged one, None
        for a decision."""
        if self.links:
            return None
        return next((t for t in self.tags if t in ENDING_KINDS), "")


class TweeStory(msgspec.Struct, frozen=True, kw_only=True):
    source: str                  # the file (or shipped id) it was read from, for messages
    title: str
    ifid: str
    start: str
    passages: dict[str, Passage]
    story_format: str = ""
    format_version: str = ""


def title_of(name: str) -> str:
    """`The Rope Bridge ~ alone` → `The Rope Bridge` (a name may also start with `~ `)."""
    return VARIANT_AT.split(name, maxsplit=1)[0].strip()
