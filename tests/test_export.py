"""Exports escape what models and viewers wrote, for each target format."""

import json

from storyd.store import export

EVIL = '<img src=x onerror="alert(1)"> [[Evil->Chapter 9]] {x}|y'
SESSION = {
    "id": 7, "theme": "horror", "language": "English", "outline": EVIL, "status": "finished",
    "started_at": 1_795_600_000.0, "ended_at": None,
    "chapters": [
        {"number": 1, "title": EVIL, "text": f"It began. {EVIL}", "choices": ["Run", EVIL],
         "chosen": 1, "closing": False,
         "vote": {"counts": [1, 2], "voters": 3, "tie_break": None}},
        {"number": 2, "title": "The End", "text": "Quiet again.", "choices": [],
         "chosen": None, "closing": True, "vote": None},
    ],
}


def test_html_escapes_everything():
    out = export.render(SESSION, "html")
    assert "<img" not in out and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in out
    assert out.startswith("<!doctype html>") and "class=chosen" in out


def test_twee_links_only_the_taken_path_and_neutralises_link_syntax():
    out = export.render(SESSION, "twee")
    assert ":: StoryTitle" in out and ":: Chapter 1" in out and ":: Chapter 2" in out
    links = [line for line in out.splitlines() if line.startswith("[[")]
    assert len(links) == 1 and links[0].endswith("->Chapter 2]]")
    assert "[[Evil" not in out and "<img" not in out


def test_markdown_marks_the_chosen_choice_and_the_vote():
    out = export.render(SESSION, "md")
    assert "## Chapter 1:" in out and "**← chosen**" in out and "*3 voters" in out
    assert "<img" not in out and "&lt;img" in out


def test_json_round_trips():
    assert json.loads(export.render(SESSION, "json")) == SESSION


def test_exports_name_the_theme_and_label_counts_with_letters():
    md = export.render(SESSION, "md")
    assert "— Horror story" in md and "a horror story" not in md
    assert "*3 voters · A 1 · B 2*" in md and "counts [" not in md
    assert "<title>" in export.render(SESSION, "html") and "Horror story</title>" in (
        export.render(SESSION, "html"))
    unknown = {**SESSION, "theme": "home-made"}
    assert "— home-made story" in export.render(unknown, "md")
