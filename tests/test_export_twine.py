"""The Twee export read by real tools: Extwee (npm `extwee`, a real Twee 3 parser and Twine 2
compiler) parses every export, and the story compiled with a real story format plays in
Chromium with zero error boxes and reads exactly what was aired.

The story lives in a real SQLite store: chapters whose text holds every markup character of
Twee, Harlowe, SugarCube, Chapbook and HTML, votes, and unchosen branches in story_branches.

Tools: `npm ci --prefix tests/twine` installs Extwee (.ci/run does it). The story formats
(Harlowe, SugarCube, Chapbook) ship with Twine and are not on the npm registry: point
STORYD_TWINE_FORMATS at a folder holding `harlowe-*/format.js` (and `sugarcube-*`,
`chapbook-*`), e.g. Twine's own `story-formats` folder. Each part skips, saying why, when its
tool is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from storyd.core.model import ChapterDraft, ChapterRecord
from storyd.store import export
from storyd.store.db import Store

TWINE = Path(__file__).parent / "twine"
NODE = shutil.which("node")
EXTWEE = TWINE / "node_modules" / "extwee"
CHROMIUM = Path("/usr/bin/chromium")

MARKUP = ("(aside: a) $gold _temp ''bold'' //it// ~~s~~ ^^sup^^ `code` <<set $x to 1>> "
          "@@.c;x@@ {{{raw}}} [Note: the door is locked] and {set: x} <b>html</b> &amp; "
          "**md** __u__ [[Link->X]] [x](http://e.com) www.example.com ?hook |name>[h] "
          "<script>alert(1)</script> /* c */ /% c %/ <!-- c --> == \\ # ! %% 1. one")
LINES = ("# Heading", "- item", "* item", "1. numbered", "> quote", "--", "----",
         ":: Fake passage", "!Sugar heading", "=== setext", "+ plus", "a: b", "''''")
TEXTS = (f"The gate opened. {MARKUP}", "\n".join(LINES),
         "“Run!” she said — and the lanterns went out… (or did they?)", "Quiet again.")
CHOICES = (["Open the gate", "Climb [the] wall $now", "Wait -> see | <i>"],
           ["Follow the ''light''", "Stay", "Call out"],
           ["Left", "Right (set: $x)", "Back"])


needs_extwee = pytest.mark.skipif(
    NODE is None or not EXTWEE.is_dir(),
    reason="node is not installed (apt-get install nodejs)" if NODE is None else
    "Extwee is not installed: run `npm ci --prefix tests/twine` (.ci/run does)")


def extwee(*args: str) -> dict[str, Any]:
    assert NODE is not None
    run = subprocess.run([NODE, "twee_tool.mjs", *args], cwd=TWINE, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    out: dict[str, Any] = json.loads(run.stdout)
    return out


async def played_story(path: Path) -> int:
    """A finished story of four chapters with votes and two unchosen branches per vote."""
    store = await Store.open(path)
    try:
        sid = await store.create_session(theme="horror", language="English", outline="",
                                         started_at=1000.0, settings={})
        for n, text in enumerate(TEXTS, start=1):
            closing = n == len(TEXTS)
            choices = [] if closing else CHOICES[n - 1]
            await store.add_chapter(ChapterRecord(
                session_id=sid, number=n, closing=closing, created_at=1000.0 + 60 * n,
                draft=ChapterDraft(title=f"Part {n}: {MARKUP[:30]}", text=text,
                                   choices=tuple(choices), provider="x")))
            if closing:
                break
            chosen = n % 3
            await store.open_round(sid, n, round_id=n, choices=choices, opens_at=1.0,
                                   ends_at=2.0)
            await store.record_vote_result(sid, n, winner=chosen, counts=[3, 2, 1], voters=6,
                                           tie_break=None, early=False, forced=False,
                                           closed_at=3.0)
            await store.set_chapter_choice(sid, n, chosen, choices[chosen])
            for loser in (i for i in range(3) if i != chosen):
                await store.add_branch(sid, after_chapter=n, choice=loser,
                                       title=f"Road {n}{loser} {MARKUP[:20]}",
                                       text=f"Unaired {n}/{loser}. {MARKUP}",
                                       choices=["x", "y"], provider="x", created_at=5.0)
        return sid
    finally:
        await store.aclose()


async def session_of(path: Path, sid: int) -> dict[str, Any]:
    store = await Store.open(path)
    try:
        return await store.get_session(sid)
    finally:
        await store.aclose()


@needs_extwee
async def test_extwee_parses_every_export_with_every_branch(tmp_path: Path) -> None:
    db = tmp_path / "storyd.sqlite3"
    sid = await played_story(db)
    other = await played_story(db)
    s = await session_of(db, sid)
    twee = tmp_path / "story.twee"
    twee.write_text(export.render(s, "twee"), encoding="utf-8")
    story = extwee("parse", str(twee))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM story_branches WHERE session_id = ?",
                            (sid,)).fetchone()[0]
        ifid = conn.execute("SELECT ifid FROM story_sessions WHERE id = ?", (sid,)).fetchone()[0]
    tags = [p["tags"] for p in story["passages"]]
    assert rows == 6 and tags.count(["not-taken"]) == rows          # every written branch
    assert tags.count(["chapter"]) == 3 and tags.count(["ending"]) == 1
    assert story["ifid"] == ifid and len(ifid) == 36 and ifid == ifid.upper()
    assert ifid[14] == "4"                                           # a v4 (random) UUID
    again = await session_of(db, sid)                                # made once, kept
    assert again["ifid"] == ifid
    assert (await session_of(db, other))["ifid"] != ifid             # each session its own
    assert story["start"] == "Chapter 1" and story["format"] == "Harlowe"
    names = {p["name"] for p in story["passages"]}
    for p in story["passages"]:                                      # every link resolves
        for link in (part.split("]]")[0] for part in p["text"].split("[[")[1:]):
            assert link.split("->")[-1] in names, link
    empty = {**s, "chapters": [], "branches": []}
    twee.write_text(export.render(empty, "twee"), encoding="utf-8")
    assert [p["name"] for p in extwee("parse", str(twee))["passages"]] == ["Start"]
    german = {**s, "language": "Deutsch"}         # German names and links resolve too
    twee.write_text(export.render(german, "twee"), encoding="utf-8")
    story = extwee("parse", str(twee))
    assert story["start"] == "Kapitel 1"
    names = {p["name"] for p in story["passages"]}
    assert "Nach Kapitel 1: A, nicht gewählt" in names and len(names) == 4 + rows
    for p in story["passages"]:
        for link in (part.split("]]")[0] for part in p["text"].split("[[")[1:]):
            assert link.split("->")[-1] in names, link


def story_formats() -> dict[str, Path]:
    root = os.environ.get("STORYD_TWINE_FORMATS")
    found: dict[str, Path] = {}
    if root:
        for name in ("harlowe", "sugarcube", "chapbook"):
            hits = sorted(Path(root).glob(f"{name}-*/format.js"))
            if hits:
                found[name] = hits[-1]
    return found


FORMATS = story_formats()


def with_format(name: str) -> Any:
    return pytest.param(name, marks=pytest.mark.skipif(
        name not in FORMATS or not CHROMIUM.exists(),
        reason=f"no {name} story format: the Twine story formats are not published on the npm "
        f"registry; set STORYD_TWINE_FORMATS to a folder holding {name}-<version>/format.js "
        "(Twine ships them in story-formats/)" if name not in FORMATS
        else "no Chromium at /usr/bin/chromium"))


# where each format puts the passage, and the boxes it draws for an error
PASSAGE = {"harlowe": "tw-passage", "sugarcube": "#passages", "chapbook": "article"}
ERRORS = "tw-error, .error, .error-view, .error-message"


@pytest.mark.browser
@needs_extwee
@pytest.mark.parametrize("fmt", [with_format(f) for f in ("harlowe", "sugarcube", "chapbook")])
def test_the_story_plays_in_a_real_story_format(tmp_path: Path, fmt: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "storyd.sqlite3"
    s = trio.run(session_of, db, trio.run(played_story, db))
    twee, page_file = tmp_path / "story.twee", tmp_path / f"{fmt}.html"
    twee.write_text(export.render(s, "twee"), encoding="utf-8")
    compiled = extwee("compile", str(twee), str(FORMATS[fmt]), str(page_file))
    assert len(compiled["passages"]) == len(extwee("parse", str(twee))["passages"])
    aired = [(ch["text"], ch["choices"], ch["chosen"]) for ch in s["chapters"]]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            for n, (text, choices, chosen) in enumerate(aired, start=1):
                page.wait_for_function(
                    f"() => document.querySelector({PASSAGE[fmt]!r}) && document.querySelector("
                    f"{PASSAGE[fmt]!r}).innerText.includes('Part {n}:')", timeout=10_000)
                shown = " ".join(page.inner_text(PASSAGE[fmt]).split())
                for para in text.split("\n"):                # the passage reads as aired
                    assert " ".join(para.split()) in shown, (fmt, n, para, shown[:400])
                for c in choices:
                    assert " ".join(c.split()) in shown, (fmt, n, c)
                assert page.locator(ERRORS).count() == 0, (fmt, n)
                # story text made no element: no <b>, <i> or <script> from "<b>html</b>"
                assert page.evaluate(f"() => document.querySelector({PASSAGE[fmt]!r})"
                                     ".querySelectorAll('b, i, script, strong, code').length"
                                     ) == 0, fmt
                if chosen is None:
                    break
                label = choices[chosen]
                link = page.get_by_text(label, exact=True)
                if link.count() == 0 or link.first.evaluate("e => e.closest('a, tw-link, [role=link], "
                                                            "tw-expression') === null"):
                    link = page.get_by_text("Read on", exact=True)
                link.first.click()
            assert errors == []
        finally:
            browser.close()
