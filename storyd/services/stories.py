"""Authored stories: the shipped catalogue and story files, read and checked before they play.

Shipped stories are package data, `storyd/stories/<lang>/<theme>.twee` (found with
importlib.resources through `paths.asset`), each known by its id `<lang>/<theme>` — "en" is
English and "de" Deutsch; the file's stem is its theme. Any other story is a file the
operator names: an absolute path to a `.twee` (or `.tw`) file the daemon can read.

`load_story` reads and checks a story (core/twee.py), refusing it whole with file:line
reasons; what it returns can be played to an ending. The `StoryRef` it carries goes into the
session's settings, so a restarted daemon can find the same story again (`reload_story`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import msgspec
import trio

from storyd.core.authored import AuthoredStoryteller
from storyd.core.languages import offline_language, offline_language_notice
from storyd.core.replies import StoryInfo
from storyd.core.snapshot import AuthoredRef
from storyd.core.themes import THEMES
from storyd.core.twee import MAX_BYTES, read_twee
from storyd.core.twee_graph import path_lengths
from storyd.core.twee_model import TweeStory
from storyd.errors import NotFoundError, StoryFileError
from storyd.system import paths

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "de": "Deutsch"}
SUFFIXES = (".twee", ".tw", ".twee3", ".tw3")
SHIPPED_ID = re.compile(r"(?P<lang>[a-z]{2})/(?P<theme>[a-z0-9_]+)")


class StoryRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where a session's story came from (kept in its settings, for resuming)."""

    title: str
    ifid: str
    sha256: str
    id: str | None = None      # a shipped story's id, "en/fantasy"
    file: str | None = None    # else the absolute path of the file


@dataclass(frozen=True)
class AuthoredStory:
    """A story ready to play: the checked graph, its storyteller, where it came from."""

    story: TweeStory
    ref: StoryRef
    writer: AuthoredStoryteller
    theme: str | None = None      # a shipped story's theme
    language: str | None = None   # a shipped story's language, "English" / "Deutsch"
    longest: int | None = None    # passages on its longest path to an ending; None: it loops

    def settings(self) -> dict[str, object]:
        """The session settings entry that finds this story again after a restart."""
        return {"story": msgspec.to_builtins(self.ref)}

    def view(self) -> AuthoredRef:
        """What the snapshot shows (never the file's path: the overlay reads it unauthenticated)."""
        shown = self.ref.id or Path(self.ref.file or "").name
        return AuthoredRef(title=self.story.title, id=shown, ifid=self.ref.ifid)


def shipped_dir() -> Path:
    return paths.asset("stories")


def language_code(language: str) -> str | None:
    """"en" or "de" for a language shipped stories are written in, else None."""
    return None if offline_language_notice(language) else offline_language(language)


def _shipped_files() -> list[Path]:
    root = shipped_dir()
    return sorted(p for p in root.glob("*/*.twee") if p.parent.name in LANGUAGES) \
        if root.is_dir() else []


def shipped_stories() -> list[StoryInfo]:
    """Every shipped story that loads (a broken one is logged and left out)."""
    out = []
    for path in _shipped_files():
        sid = f"{path.parent.name}/{path.stem}"
        try:
            story = read_twee(path.read_bytes(), sid)
        except (OSError, StoryFileError) as exc:
            log.error("shipped story %s cannot be played: %s", sid, exc)
            continue
        lengths = path_lengths(story)
        out.append(StoryInfo(
            id=sid, title=story.title, language=LANGUAGES[path.parent.name],
            theme=path.stem, theme_name=THEMES[path.stem].name if path.stem in THEMES else "",
            passages=len(story.passages),
            endings=sum(1 for p in story.passages.values() if not p.links),
            shortest=lengths[0] if lengths else None, longest=lengths[1] if lengths else None,
            ifid=story.ifid))
    return out


def shipped_for(language: str, theme: str) -> str | None:
    """The id of the shipped story for this theme in this language, if there is one."""
    code = language_code(language)
    if code is None or not (shipped_dir() / code / f"{theme}.twee").is_file():
        return None
    return f"{code}/{theme}"


async def load_story(name: str) -> AuthoredStory:
    """A shipped story by id ("en/fantasy"), or a story file by absolute path, read and
    checked. NotFoundError when there is none; StoryFileError (file:line reasons) when
    storyd cannot play it — refused whole, never half-played."""
    m = SHIPPED_ID.fullmatch(name)
    if m is not None and m["lang"] in LANGUAGES:
        path = shipped_dir() / m["lang"] / f"{m['theme']}.twee"
        if not await trio.Path(path).is_file():
            raise NotFoundError(f"no shipped story '{name}' (see `storyctl stories`)")
        data = await trio.Path(path).read_bytes()
        story = await trio.to_thread.run_sync(read_twee, data, name)
        return _ready(story, StoryRef(title=story.title, ifid=story.ifid, id=name,
                                            sha256=_digest(data)),
                      theme=m["theme"], language=LANGUAGES[m["lang"]])
    path = Path(name)
    if not path.is_absolute():
        raise NotFoundError(f"'{name}' is neither a shipped story (`storyctl stories`) nor an "
                            "absolute path to a .twee file")
    if path.suffix.lower() in (".html", ".htm"):
        raise StoryFileError(name, [(0, "this is a published Twine story (HTML): in Twine "
                                        "open the story, then Build → Export as Twee, and "
                                        "start that .twee file")])
    if path.suffix.lower() not in SUFFIXES:
        raise StoryFileError(name, [(0, f"a story file ends in {' or '.join(SUFFIXES[:2])} "
                                        "(Twee 3 source)")])
    try:
        st = await trio.Path(path).stat()
        if not stat.S_ISREG(st.st_mode):
            raise NotFoundError(f"{name}: not a file")
        size = st.st_size
        if size > MAX_BYTES:   # refused before it is read
            raise StoryFileError(name, [(0, f"the file is {size / 1e6:.1f} MB; a story may be "
                                            f"{MAX_BYTES // 1024} KB at most")])
        data = await trio.Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{name}: no such file") from None
    except OSError as exc:
        raise NotFoundError(f"{name}: cannot read it: {exc.strerror or exc}") from None
    story = await trio.to_thread.run_sync(read_twee, data, name)   # ~0.3 s at 1 MB: off the loop
    return _ready(story, StoryRef(title=story.title, ifid=story.ifid, file=name,
                                        sha256=_digest(data)))


async def reload_story(ref: StoryRef) -> AuthoredStory:
    """The story of a resumed session, by the reference kept in its settings. A file that
    changed meanwhile is played as it is now (logged); a path that no longer fits it ends
    the story with the reason when the next chapter is asked for."""
    loaded = await load_story(ref.id or ref.file or "")
    if loaded.ref.sha256 != ref.sha256:
        log.warning("story %s changed since the session started; resuming with the file as "
                    "it is now", ref.id or ref.file)
    return loaded


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ready(story: TweeStory, ref: StoryRef, *, theme: str | None = None,
           language: str | None = None) -> AuthoredStory:
    lengths = path_lengths(story)
    return AuthoredStory(story=story, ref=ref, writer=AuthoredStoryteller(story),
                         theme=theme, language=language,
                         longest=lengths[1] if lengths else None)
