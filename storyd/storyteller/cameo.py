"""Audience cameos in the offline storyteller: one walk-on a chapter (core/cameos.py).

The viewers a chapter request offers (`ChapterRequest.cameos`, most active voters first) take
turns, one a chapter: a line of the language's CAMEO pool names them, its words on top of the
wanted length, and the memory update records them as a character of role "cameo" (which the
plot never casts as the hero, the friend or the foe).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from storyd.core.cameos import clean_name
from storyd.core.model import ChapterRequest, Entity, MemoryUpdate


def cameo_of(req: ChapterRequest) -> str:
    """This chapter's walk-on: the offered cameos in turn (names cleaned once more here)."""
    names = [n for n in (clean_name(c) for c in req.cameos) if n]
    return names[(req.chapter_number - 1) % len(names)] if names else ""


def walk_on(req: ChapterRequest, slots: dict[str, str],
            line: Callable[[], str]) -> tuple[str, str]:
    """(the cameo's name, the sentence that names them), or ("", "") when none is offered.
    `line()` picks the sentence once the name is in `slots`."""
    cameo = cameo_of(req)
    if not cameo:
        return "", ""
    slots["cameo"] = cameo
    return cameo, line()


def with_guest(update: MemoryUpdate, cameo: str, text: str, note: str) -> MemoryUpdate:
    """The memory update with the walk-on as a character, when the text kept their line."""
    if not cameo or cameo not in text:
        return update
    guest = Entity(name=cameo, role="cameo", note=note)
    return msgspec.structs.replace(update, characters=(*update.characters, guest))
