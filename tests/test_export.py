"""Exports escape what models and viewers wrote, for each target format, and carry every
written branch (tests/test_export_twine.py reads the Twee in Extwee and real story formats)."""

import html
import json
import re
import time

import pytest

from storyd.store import export
from storyd.store.export import md_text
from storyd.store.twee import twee_line

EVIL = '<img src=x onerror="alert(1)"> [[Evil->Chapter 9]] {x}|y'
# every markup character of Twee, Harlowe, SugarCube, Chapbook/Markdown and HTML
MARKUP = ("(aside: a) $gold _temp ''bold'' //it// ~~s~~ ^^sup^^ `code` <<set $x to 1>> "
          "@@.c;x@@ {{{raw}}} [Note: the door is locked] and {set: x} <b>html</b> &amp; "
          "**md** __u__ [[Link->X]] [x](http://e.com) www.example.com ?hook |name>[h] "
          "<script>alert(1)</script> /* c */ /% c %/ <!-- c --> == \\ # ! %% 1. one")
LINE_STARTS = ("# Heading", "- item", "* item", "1. numbered", "> quote", "--", "----",
               ":: Fake passage", "!Sugar heading", "    code", "=== setext", "+ plus", "''")
SESSION = {
    "id": 7, "theme": "horror", "language": "English", "outline": EVIL, "status": "finished",
    "started_at": 1_795_600_000.0, "ended_at": None, "ifid": "0A1B2C3D-0000-4000-8000-00000000ABCD",
    "chapters": [
        {"number": 1, "title": EVIL, "text": f"It began. {EVIL}", "choices": ["Run", EVIL, "Hide"],
         "chosen": 1, "closing": False,
         "vote": {"counts": [1, 2, 0], "voters": 3, "tie_break": None}},
        {"number": 2, "title": "The End", "text": "Quiet again.", "choices": [],
         "chosen": None, "closing": True, "vote": None},
    ],
    "branches": [{"after_chapter": 1, "choice": 0, "title": "The Run", "text": "Feet on stone.",
                  "choices": ["On", "Back"], "provider": "offline", "created_at": 1.0}],
}


def test_html_escapes_everything_and_says_its_language():
    out = export.render(SESSION, "html")
    assert "<img" not in out and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in out
    assert out.startswith("<!doctype html><html lang=en>") and "class=chosen" in out
    german = export.render({**SESSION, "language": "Deutsch"}, "html")
    assert german.startswith("<!doctype html><html lang=de>")
    odd = export.render({**SESSION, "language": '"><script>'}, "html")
    assert "<script>" not in odd and odd.startswith("<!doctype html><html lang=en>")


def test_html_folds_the_road_not_taken():
    out = export.render(SESSION, "html")
    assert out.count("<details class=not-taken>") == 1
    assert "<summary>The road not taken (A): The Run</summary><p>Feet on stone.</p>" in out
    assert "3 voters · A 1 · B 2 · C 0" in out


def test_markdown_escapes_story_text():
    """Each paragraph, rendered by a CommonMark renderer with GFM's tables and strike-through,
    is one plain paragraph reading exactly the aired text."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for para in (MARKUP, *LINE_STARTS, EVIL, "a | b\n--- | ---", "1) x", "  - nested"):
        for line in para.split("\n"):
            got = md.render(md_text(line))
            assert got.startswith("<p>") and got.endswith("</p>\n"), (line, got)
            assert "<" not in got[3:-5], (line, got)               # no element inside
            assert html.unescape(got[3:-5]) == " ".join(line.split()), (line, got)
    s = {**SESSION, "chapters": [{**SESSION["chapters"][0], "text": "\n".join(
        (MARKUP, *LINE_STARTS))}]}
    body = export.render(s, "md").split("## Chapter 1:", 1)[1]
    assert "\\*\\*md\\*\\*" in body and "&amp;amp;" in body and "\\# Heading" in body


def test_markdown_marks_the_chosen_choice_the_vote_and_the_branch():
    out = export.render(SESSION, "md")
    assert "## Chapter 1:" in out and "**← chosen**" in out and "*3 voters" in out
    assert "\\<img" in out and re.search(r"(?<!\\)<img", out) is None
    assert "> **The road not taken (A): The Run**" in out and "> Feet on stone." in out


def test_one_voter_is_one_voter():
    one = {**SESSION, "chapters": [{**SESSION["chapters"][0],
                                    "vote": {"counts": [0, 1, 0], "voters": 1}}]}
    assert "*1 voter · A 0 · B 1 · C 0*" in export.render(one, "md")
    assert "1 voter · A 0" in export.render(one, "html") and "1 voters" not in (
        export.render(one, "html") + export.render(one, "md"))


def test_json_round_trips():
    assert json.loads(export.render(SESSION, "json")) == SESSION


def test_exports_name_the_theme_and_label_counts_with_letters():
    md = export.render(SESSION, "md")
    assert "— Horror story" in md and "a horror story" not in md
    assert "*3 voters · A 1 · B 2 · C 0*" in md and "counts [" not in md
    assert "<title>" in export.render(SESSION, "html") and "Horror story</title>" in (
        export.render(SESSION, "html"))
    unknown = {**SESSION, "theme": "home-made"}
    assert "— home-made story" in export.render(unknown, "md")


# --- Twee ---------------------------------------------------------------------------------

def passages(twee: str) -> dict[str, str]:
    """name -> header line (the Twee 3 header of each passage)."""
    return {m[1]: m[0] for m in re.finditer(r"^:: ([^\[{\n]+?)(?: \[[^\]]*\])?(?: \{.*\})?$",
                                             twee, re.M)}


def test_twee_links_the_taken_path_and_every_written_branch():
    out = export.render(SESSION, "twee")
    names = passages(out)
    assert set(names) == {"StoryTitle", "StoryData", "Chapter 1", "Chapter 2",
                          "After chapter 1: A, not taken"}
    assert "[not-taken]" in names["After chapter 1: A, not taken"]
    assert "[ending]" in names["Chapter 2"] and "[chapter]" in names["Chapter 1"]
    assert "[[Run->After chapter 1: A, not taken]] ← not taken, 1 of 3 votes" in out
    # the chosen choice needs escaping: escaped text, then a plain link
    assert re.search(r"^&#60;img .* ← chosen, 2 of 3 votes \[\[Read on->Chapter 2\]\]$", out,
                     re.M)
    assert "• Hide" in out                               # never written: plain text
    assert "[[Back to chapter 1->Chapter 1]]" in out
    assert "[[Evil" not in out and "<img" not in out


def test_twee_carries_the_sessions_ifid_and_a_start_passage_when_empty():
    data = json.loads(export.render(SESSION, "twee").split(":: StoryData\n", 1)[1].split("\n")[0])
    assert data["ifid"] == SESSION["ifid"] and data["start"] == "Chapter 1"
    assert data["format"] == "Harlowe"
    empty = export.render({**SESSION, "chapters": [], "branches": []}, "twee")
    assert set(passages(empty)) == {"StoryTitle", "StoryData", "Start"}
    assert '"start":"Start"' in empty


def test_twee_line_leaves_no_markup_character_bare():
    out = twee_line(MARKUP)
    bare = re.sub(r"&#\d+;", "", out)
    assert not set(bare) & set("&<>[]{}()$_*~^`|@#=\\/+%"), bare
    assert "''" not in bare and "--" not in bare and "?h" not in bare and "www." not in bare
    assert re.sub(r"&#(\d+);", lambda m: chr(int(m[1])), out) == MARKUP   # nothing lost
    for line in LINE_STARTS:
        escaped = twee_line(line)
        assert not escaped.startswith((":", "#", "-", "*", "!", ">", "=", "+", "'")), escaped
        assert not re.match(r"^\d+\.", escaped)


@pytest.mark.parametrize("n", [1000])
def test_a_thousand_chapters_export_in_every_format(n: int):
    chapters = [{"number": i, "title": f"Part {i}", "text": f"Step {i}. {MARKUP}",
                 "choices": ["Left", "Right", "Up"], "chosen": i % 3, "closing": i == n,
                 "vote": {"counts": [1, 2, 3], "voters": 6}} for i in range(1, n + 1)]
    big = {**SESSION, "chapters": chapters,
           "branches": [{"after_chapter": i, "choice": (i + 1) % 3, "title": "x", "text": "y",
                         "choices": [], "provider": "", "created_at": 0.0}
                        for i in range(1, n)]}
    t0 = time.perf_counter()
    for fmt in ("md", "html", "twee", "json"):
        assert export.render(big, fmt)
    assert time.perf_counter() - t0 < 20
    twee = export.render(big, "twee")
    assert len(passages(twee)) == 2 + n + (n - 1)
    assert twee.count("[[Read on->") + twee.count("[[Left->") + twee.count("[[Right->") + (
        twee.count("[[Up->")) == 2 * (n - 1)


def test_the_recap_ends_the_markdown_and_html_exports():
    recap = {"title": "Salt", "logline": "Ines found <Tom> at last.",
             "moments": ["She took the *ferry*.", "The bell rang."], "ending": "triumph",
             "source": "siliconflow"}
    s = {**SESSION, "recap": recap}
    md = export.to_markdown(s)
    assert md.rstrip().endswith("*Ending: triumph*")
    assert "## Recap" in md and "She took the \\*ferry\\*." in md
    page = export.to_html(s)
    assert "<h2>Recap</h2><p>Ines found &lt;Tom&gt; at last.</p>" in page
    assert "<li>The bell rang.</li>" in page and "Ending: triumph" in page
    assert "Recap" not in export.to_markdown(SESSION)      # none stored: none shown


def test_exports_name_the_viewers_written_in_as_text():
    cast = [{"name": "Zed", "status": "left", "chapters": [1]},
            {"name": "<b>Bo</b>", "status": "joined", "chapters": [1, 2]},
            {"name": "Cy", "status": "joined", "chapters": []}]
    session = {**SESSION, "cameos": cast}
    md = export.render(session, "md")
    assert "*With viewers in the story: Zed (chapter 1), \\<b\\>Bo\\</b\\> (chapters 1, 2)*" in md
    page = export.render(session, "html")
    assert "With viewers in the story: Zed (chapter 1), &lt;b&gt;Bo&lt;/b&gt; (chapters 1, 2)" \
        in page and "<b>Bo" not in page
    assert json.loads(export.render(session, "json"))["cameos"] == cast
    assert "With viewers" not in export.render(SESSION, "md")


def test_a_recap_from_the_chapters_alone_claims_no_kind_of_ending():
    # the chapters alone say "open" of every story: the exports said "Ending: open" under a
    # story whose hero had plainly won (the recap card already left it out)
    recap = {"title": "Salt", "logline": "Ines set out to find Tom.", "moments": ["Bell."],
             "ending": "open", "chapters": 1, "source": "offline"}
    s = {**SESSION, "recap": recap}
    md, page = export.to_markdown(s), export.to_html(s)
    assert "## Recap" in md and "Ines set out to find Tom." in page
    assert "Ending:" not in md and "Ending:" not in page
    authored = {**s, "settings": {"story": {"id": "en/fantasy"}},
                "recap": {**recap, "ending": "bittersweet"}}   # its ending passage's tag
    assert export.to_markdown(authored).rstrip().endswith("*Ending: bittersweet*")
