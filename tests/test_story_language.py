"""A story's own language outside the overlay: the Markdown, HTML and Twee exports, the public
story page, the recap picture's words and the chapter list speak it (English and German
complete, from the one table in storyd/core/story_words.py)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from storyd.core.chapter_times import chapter_list
from storyd.core.recap_view import recap_view
from storyd.core.replies import SessionDetail
from storyd.core.story_words import ENGLISH, GERMAN, TABLES, story_words
from storyd.services.recap_png import recap_lines
from storyd.store import export
from storyd.web.story_page import render_story_page

# words storyd writes in English; none may appear around a German story
ENGLISH_WORDS = re.compile(r"\b(Chapter|chapters?|voters?|votes?|chosen|road not taken|Recap|"
                           r"Ending|Session|started|Told live|audience|Read on|Back to|"
                           r"not taken|tie|With viewers|Untitled|Starring|Top voters)\b")


def german_session(**extra: Any) -> dict[str, Any]:
    return {
        "id": 5, "theme": "romance", "language": "Deutsch", "outline": "", "status": "finished",
        "started_at": 1_795_600_000.0, "ended_at": 1_795_600_900.0, "settings": {},
        "memory": {"version": 1, "characters": []}, "ifid": "0A1B2C3D-0000-4000-8000-00000000ABCD",
        "cameos": [{"name": "Zed", "status": "joined", "chapters": [1, 2]}],
        "recap": {"title": "Zwanzig vor acht", "logline": "Ines fand Tom am Ende doch.",
                  "moments": ["Sie nahm die Fähre.", "Die Glocke schlug."],
                  "ending": "bittersweet", "chapters": 2, "source": "siliconflow"},
        "chapters": [
            {"number": 1, "title": "Der Bus", "text": "Es regnete.", "summary": "",
             "choices": ["Einsteigen", "Warten"], "chosen": 0, "closing": False, "image": None,
             "created_at": 1.0, "aired_at": 1.0, "provider": "authored", "lines": [],
             "memory_update": {}, "audio": [], "chosen_text": "Einsteigen",
             "vote": {"winner": 0, "counts": [1, 1], "voters": 2, "tie_break": "random",
                      "early": False, "forced": False, "closed_at": 1.0}},
            {"number": 2, "title": "Die Fähre", "text": "Still.", "summary": "", "choices": [],
             "chosen": None, "closing": True, "image": None, "created_at": 2.0,
             "aired_at": 100.0, "provider": "authored", "lines": [], "memory_update": {},
             "audio": [], "chosen_text": None, "vote": None}],
        "branches": [{"after_chapter": 1, "choice": 1, "title": "Am Steg", "text": "Wind.",
                      "choices": ["Gehen"], "provider": "authored", "created_at": 1.0}],
        **extra}


def visible(page: str) -> str:
    """The words a reader sees in an HTML page (tags and entities dropped)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))


def test_every_table_has_every_word_and_german_is_picked_by_any_spelling() -> None:
    for table in TABLES.values():
        for value in vars(table).values():
            assert value != "" and value is not None
    for spelling in ("German", "Deutsch", "de", "de-AT", " deutsch "):
        assert story_words(spelling) is GERMAN
    for spelling in ("English", "", "French", "en-GB"):
        assert story_words(spelling) is ENGLISH
    assert GERMAN.tie_breaks.keys() == ENGLISH.tie_breaks.keys()
    assert GERMAN.endings.keys() == ENGLISH.endings.keys()


def test_the_markdown_export_of_a_german_story_is_german() -> None:
    md = export.render(german_session(), "md")
    assert "## Kapitel 1: Der Bus" in md and "**← gewählt**" in md
    assert "*2 Stimmen · A 1 · B 1 · Gleichstand: das Los entschied*" in md
    assert "> **Der nicht gewählte Weg (B): Am Steg**" in md
    assert "*Zuschauer in der Geschichte: Zed (Kapitel 1, 2)*" in md
    assert "## Rückblick" in md and "*Ausgang: bittersüß*" in md
    assert "*Sitzung 5 · Deutsch · begonnen " in md
    assert ENGLISH_WORDS.findall(md) == []


def test_the_html_export_of_a_german_story_is_german() -> None:
    page = export.render(german_session(), "html")
    assert page.startswith("<!doctype html><html lang=de>")
    assert "<h2>Kapitel 2: Die Fähre</h2>" in page
    assert "<summary>Der nicht gewählte Weg (B): Am Steg</summary>" in page
    assert "<h2>Rückblick</h2>" in page and "Ausgang: bittersüß" in page
    assert ENGLISH_WORDS.findall(visible(page)) == []


def test_the_twee_export_of_a_german_story_is_german() -> None:
    twee = export.render(german_session(), "twee")
    assert ":: Kapitel 1 [chapter]" in twee and '"start":"Kapitel 1"' in twee
    assert "[[Einsteigen->Kapitel 2]] ← gewählt, 1 von 2 Stimmen" in twee
    assert "[[Warten->Nach Kapitel 1: B, nicht gewählt]] ← nicht gewählt" in twee
    assert "[[Zurück zu Kapitel 1->Kapitel 1]]" in twee
    body = "\n".join(ln for ln in twee.splitlines() if not ln.startswith("::"))  # tags: ids
    assert ENGLISH_WORDS.findall(visible(body)) == []


def test_the_public_page_of_a_german_story_is_german() -> None:
    s = german_session()
    page = render_story_page(msgspec.convert(s, SessionDetail), recap_view(s, []))
    assert "<div class=kicker>Kapitel 1</div>" in page
    assert "<summary>Der nicht gewählte Weg (B): Am Steg</summary>" in page
    assert "Live im Stream erzählt" in page and 'aria-label="Der Weg, den das Publikum' in page
    assert ENGLISH_WORDS.findall(visible(page)) == []


def test_the_english_story_keeps_its_english_words() -> None:
    s = {**german_session(), "language": "English"}
    md = export.render(s, "md")
    assert "## Chapter 1: Der Bus" in md and "**← chosen**" in md
    assert "*2 voters · A 1 · B 1 · tie: random draw*" in md and "*Ending: bittersweet*" in md
    page = render_story_page(msgspec.convert(s, SessionDetail), recap_view(s, []))
    assert "<div class=kicker>Chapter 1</div>" in page and "Told live on stream" in page
    assert "[[Einsteigen->Chapter 2]] ← chosen, 1 of 2 votes" in export.render(s, "twee")


@pytest.mark.parametrize("language,intro", [("Deutsch", "Vor der Geschichte"),
                                            ("English", "Before the story")])
def test_the_chapter_list_and_the_picture_speak_the_story_language(language: str,
                                                                   intro: str) -> None:
    words = story_words(language)
    aired = [(1, "Der Bus", 1000.0), (2, "", 1100.0), (3, "Ende", 1200.0)]
    out = chapter_list(5, aired, since=900.0, words=words)
    assert out.text.splitlines()[0] == f"00:00 {intro}"
    assert out.text.splitlines()[2] == f"03:20 {words.chapter(2)}"   # an untitled chapter
    lines = recap_lines(recap_view({**german_session(), "language": language}, []))
    assert lines.kicker.startswith(words.recap_kicker.upper())
