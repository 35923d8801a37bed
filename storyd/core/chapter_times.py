"""A YouTube chapter list from the chapters' on-air times ("00:00 The Gate", "03:12 …").

The list is relative to a start the operator picks: the story's start (the first chapter's
on-air time, so the list begins at 00:00) or a stream's start (`since`, epoch seconds), when
chapters aired before it are left out and a first "00:00" line is added, as YouTube wants one.
YouTube shows chapters only when the first starts at 00:00, there are at least three and each
is at least ten seconds long; `notes` says when a list falls short of that (notes are for
the operator, in English; the list's own words are in the story's language).

Pure: no I/O, no clocks.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from storyd.core.story_words import ENGLISH, StoryWords

MIN_CHAPTERS, MIN_SECONDS = 3, 10
MAX_TITLE = 100


class ChapterMark(msgspec.Struct, frozen=True, kw_only=True):
    number: int                # the story's chapter number (0: the added "00:00" line)
    title: str
    aired_at: float            # epoch seconds
    offset: float              # seconds after the start
    stamp: str                 # "03:12" or "1:03:12"


class ChapterList(msgspec.Struct, frozen=True, kw_only=True):
    session_id: int
    start_at: float | None     # epoch seconds the list counts from (None: nothing aired)
    since: float | None        # the stream start given, or None (the story's start)
    chapters: tuple[ChapterMark, ...]
    text: str                  # the list, one "stamp title" per line, ready to paste
    notes: tuple[str, ...] = ()


def stamp(seconds: float) -> str:
    s = max(0, int(seconds))
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def _title(number: int, title: str, words: StoryWords) -> str:
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in title).split())
    flat = flat if len(flat) <= MAX_TITLE else flat[:MAX_TITLE - 1].rstrip() + "…"
    return flat or words.chapter(number)


def chapter_list(session_id: int, aired: Iterable[tuple[int, str, float | None]], *,
                 since: float | None = None, words: StoryWords = ENGLISH) -> ChapterList:
    """`aired`: (number, title, aired_at) of each chapter; a chapter never aired (None) is
    left out. `words`: the story language's (an untitled chapter, the line before it)."""
    rows = sorted((n, t, float(a)) for n, t, a in aired if a is not None)
    notes: list[str] = []
    if since is not None:
        before = [r for r in rows if r[2] < since]
        if before:
            notes.append(f"{len(before)} chapter(s) aired before the stream start and are "
                         "left out")
        rows = [r for r in rows if r[2] >= since]
    if not rows:
        return ChapterList(session_id=session_id, start_at=since, since=since, chapters=(),
                           text="", notes=(*notes, "no chapter has aired"))
    start = since if since is not None else rows[0][2]
    marks = [ChapterMark(number=n, title=_title(n, t, words), aired_at=a, offset=a - start,
                         stamp=stamp(a - start)) for n, t, a in rows]
    if marks[0].stamp != stamp(0):
        marks.insert(0, ChapterMark(number=0, title=words.before_the_story, aired_at=start,
                                    offset=0.0, stamp=stamp(0)))
    if len(marks) < MIN_CHAPTERS:
        notes.append(f"YouTube shows chapters only from {MIN_CHAPTERS} on")
    short = [m.title for m, nxt in zip(marks, marks[1:], strict=False)
             if nxt.offset - m.offset < MIN_SECONDS]
    if short:
        notes.append(f"YouTube wants every chapter at least {MIN_SECONDS} s long; shorter: "
                     + ", ".join(short[:5]))
    return ChapterList(session_id=session_id, start_at=start, since=since,
                       chapters=tuple(marks),
                       text="\n".join(f"{m.stamp} {m.title}" for m in marks) + "\n",
                       notes=tuple(notes))
