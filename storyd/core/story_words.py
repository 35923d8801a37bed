"""The words storyd itself writes around a stored story, in the story's language: the
exports (Markdown, HTML, Twee), the public story page, the recap picture and the chapter list.

One table per language, here and nowhere else; `story_words(language)` picks the table for a
story's `language` ("German", "Deutsch", "de-AT" → German; anything else → English, as the
offline storyteller and the overlay's i18n.js decide). The overlay's own strings live in
storyd/overlay/i18n.js (the browser cannot read this module); keep the two in step. To add a
language: add a table with every field and its spellings to storyd/core/languages.py.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from storyd.core.languages import offline_language


@dataclass(frozen=True)
class StoryWords:
    code: str                                   # "en", "de"
    chapter: Callable[[int], str]               # "Chapter 3"
    final_chapter: str                          # the closing chapter's kicker
    untitled: str
    voters: Callable[[int], str]                # "1 voter", "12 voters"
    chosen: str                                 # "← chosen"
    not_taken: str                              # "← not taken"
    road_not_taken: str                         # "The road not taken"
    tie_breaks: Mapping[str, str]               # a round's tie_break → words
    session_line: Callable[[int, str, str], str]   # (id, language, date)
    viewers_in_story: Callable[[str], str]      # the cameos line
    chapters_of: Callable[[list[int]], str]     # "chapter 2", "chapters 1, 2"
    recap: str                                  # the exports' recap heading
    ending_label: Callable[[str], str]          # "Ending: triumph"
    endings: Mapping[str, str]                  # ending kind → "A triumphant ending"
    told_live: str                              # the public page's foot line
    map_label: str                              # the branch map's accessible name
    recap_kicker: str                           # the recap picture's kicker
    starring: Callable[[str], str]
    cameo: str
    top_voters: Callable[[str], str]
    chapter_count: Callable[[int], str]         # "8 chapters"
    up_to_voters: Callable[[int], str]          # "up to 14 voters a round"
    before_the_story: str                       # the chapter list's first line
    read_on: str                                # Twee: the link to the next chapter
    read_not_taken: str                         # Twee: the link to a written branch
    not_taken_note: str                         # Twee: a branch passage's first line
    back_to: Callable[[int], str]               # Twee: "Back to chapter 3"
    votes_of: Callable[[int, int], str]         # Twee: ", 2 of 3 votes"
    branch_passage: Callable[[int, str], str]   # Twee: the passage name of a branch
    no_chapters: str                            # Twee: the empty story's only passage


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


ENGLISH = StoryWords(
    code="en",
    chapter=lambda n: f"Chapter {n}",
    final_chapter="Final chapter",
    untitled="Untitled",
    voters=lambda n: f"{n} {_plural(n, 'voter', 'voters')}",
    chosen="← chosen",
    not_taken="← not taken",
    road_not_taken="The road not taken",
    tie_breaks={"random": "tie: random draw", "first": "tie: the first choice won",
                "forced": "picked by the host", "no_votes_random": "no votes: random draw",
                "no_votes_first": "no votes: the first choice won"},
    session_line=lambda sid, language, date: f"Session {sid} · {language} · started {date}",
    viewers_in_story=lambda names: f"With viewers in the story: {names}",
    chapters_of=lambda ns: (f"{_plural(len(ns), 'chapter', 'chapters')} "
                            f"{', '.join(str(n) for n in ns)}"),
    recap="Recap",
    ending_label=lambda kind: f"Ending: {kind}",
    endings={"triumph": "A triumphant ending", "bittersweet": "A bittersweet ending",
             "tragedy": "A tragic ending", "open": "An open ending"},
    told_live="Told live on stream; the audience chose every turn. Made with storyd.",
    map_label="The path the audience chose",
    recap_kicker="Story recap",
    starring=lambda names: f"Starring: {names}",
    cameo="cameo",
    top_voters=lambda names: f"Top voters: {names}",
    chapter_count=lambda n: f"{n} {_plural(n, 'chapter', 'chapters')}",
    up_to_voters=lambda n: f"up to {n} {_plural(n, 'voter', 'voters')} a round",
    before_the_story="Before the story",
    read_on="Read on",
    read_not_taken="Read the road not taken",
    not_taken_note="The road not taken: written while the audience voted, never aired.",
    back_to=lambda n: f"Back to chapter {n}",
    votes_of=lambda n, total: f", {n} of {total} {_plural(total, 'vote', 'votes')}",
    branch_passage=lambda after, key: f"After chapter {after}: {key}, not taken",
    no_chapters="This story has no chapters.",
)

_DE_KINDS = {"triumph": "Triumph", "bittersweet": "bittersüß", "tragedy": "Tragödie",
             "open": "offen"}

GERMAN = StoryWords(
    code="de",
    chapter=lambda n: f"Kapitel {n}",
    final_chapter="Letztes Kapitel",
    untitled="Ohne Titel",
    voters=lambda n: f"{n} {_plural(n, 'Stimme', 'Stimmen')}",
    chosen="← gewählt",
    not_taken="← nicht gewählt",
    road_not_taken="Der nicht gewählte Weg",
    tie_breaks={"random": "Gleichstand: das Los entschied",
                "first": "Gleichstand: die erste Wahl gewann", "forced": "vom Host gewählt",
                "no_votes_random": "keine Stimmen: das Los entschied",
                "no_votes_first": "keine Stimmen: die erste Wahl gewann"},
    session_line=lambda sid, language, date: f"Sitzung {sid} · {language} · begonnen {date}",
    viewers_in_story=lambda names: f"Zuschauer in der Geschichte: {names}",
    chapters_of=lambda ns: f"Kapitel {', '.join(str(n) for n in ns)}",
    recap="Rückblick",
    ending_label=lambda kind: f"Ausgang: {_DE_KINDS.get(kind, kind)}",
    endings={"triumph": "Ein triumphales Ende", "bittersweet": "Ein bittersüßes Ende",
             "tragedy": "Ein tragisches Ende", "open": "Ein offenes Ende"},
    told_live=("Live im Stream erzählt; jede Wendung hat das Publikum gewählt. "
               "Gemacht mit storyd."),
    map_label="Der Weg, den das Publikum gewählt hat",
    recap_kicker="Eure Geschichte",
    starring=lambda names: f"Mit: {names}",
    cameo="Gastauftritt",
    top_voters=lambda names: f"Am fleißigsten abgestimmt: {names}",
    chapter_count=lambda n: f"{n} Kapitel",
    up_to_voters=lambda n: f"bis zu {n} {_plural(n, 'Stimme', 'Stimmen')} pro Runde",
    before_the_story="Vor der Geschichte",
    read_on="Weiterlesen",
    read_not_taken="Den nicht gewählten Weg lesen",
    not_taken_note=("Der nicht gewählte Weg: geschrieben, während das Publikum abstimmte, "
                    "nie gesendet."),
    back_to=lambda n: f"Zurück zu Kapitel {n}",
    votes_of=lambda n, total: f", {n} von {total} {_plural(total, 'Stimme', 'Stimmen')}",
    branch_passage=lambda after, key: f"Nach Kapitel {after}: {key}, nicht gewählt",
    no_chapters="Diese Geschichte hat keine Kapitel.",
)

TABLES = {"en": ENGLISH, "de": GERMAN}


def story_words(language: str) -> StoryWords:
    """The table for a story told in `language` (any spelling storyd reads; English for a
    language without a table)."""
    return TABLES.get(offline_language(str(language or "")), ENGLISH)


def ending_words(words: StoryWords, kind: str) -> str:
    """The ending kind as words ("" for an unknown or missing kind)."""
    return words.endings.get(kind, "")


def tie_words(words: StoryWords, tie_break: str) -> str:
    """A round's tie-break as words (an unknown one as it was stored)."""
    return words.tie_breaks.get(tie_break, tie_break)
