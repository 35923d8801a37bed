"""The recap and the chapter list as pure functions, and the recap PNG (Pillow), including the
bad input: an empty story, 40 chapters of 6 choices, every markup character."""

from __future__ import annotations

import io
from typing import Any

import msgspec
import pytest
from PIL import Image

from storyd.core.chapter_times import chapter_list, stamp
from storyd.core.recap_view import recap_view
from storyd.core.replies import SessionDetail
from storyd.services.recap_png import render_png
from storyd.web.story_page import render_story_page

EVIL = "<script>alert(1)</script> [[x]] $y ''z'' 名前 🐉"


def session(chapters: int, choices: int, **extra: Any) -> dict[str, Any]:
    return {"id": 9, "theme": "horror", "language": "English", "outline": "", "status": "finished",
            "started_at": 1.0, "ended_at": 2.0, "settings": {}, "memory": {
                "version": 1, "characters": [{"name": "Mira", "role": "hero"}]},
            "chapters": [{"number": i, "title": f"Part {i} {EVIL}", "text": f"Text {i}.",
                          "summary": f"Summary {i}." if i == 1 else "", "image": None,
                          "choices": [] if i == chapters else [f"c{j}" for j in range(choices)],
                          "chosen": None if i == chapters else i % choices,
                          "closing": i == chapters, "created_at": 100.0 + 60 * i,
                          "aired_at": 100.0 + 60 * i,
                          "provider": "x", "lines": [], "memory_update": {},
                          "audio": [], "chosen_text": None,
                          "vote": None if i == chapters else {
                              "winner": i % choices, "counts": [j + 1 for j in range(choices)],
                              "voters": 9, "tie_break": None, "early": False, "forced": False,
                              "closed_at": 1.0}}
                         for i in range(1, chapters + 1)],
            "branches": [{"after_chapter": 1, "choice": (1 + 1) % choices, "title": "t",
                          "text": "u", "choices": [], "provider": "", "created_at": 1.0}],
            **extra}


def test_a_recap_of_forty_chapters_of_six_choices() -> None:
    view = recap_view(session(40, 6), [{"name": "Amy", "ballots": 39, "wins": 20}],
                      cameos=("xX_fan_Xx",))
    assert len(view.nodes) == 40 and view.nodes[0].choices == 6 and view.nodes[-1].closing
    assert view.nodes[0].chosen == 1 and view.nodes[0].share == pytest.approx(2 / 21)
    assert view.nodes[0].written == (2,)
    assert view.logline == "Summary 1."              # no stored recap: the first summary
    assert [c.name for c in view.cast] == ["Mira", "xX_fan_Xx"] and view.cast[-1].cameo
    for size in ("1080x1920", "1920x1080"):
        png = render_png(view, size)
        with Image.open(io.BytesIO(png)) as img:
            assert f"{img.width}x{img.height}" == size


def test_a_stored_recap_gives_the_logline() -> None:
    stored = {"title": "T", "logline": "Mira crossed the lake.", "moments": ["a", "b", "c"],
              "ending": "bittersweet", "chapters": 3, "source": "x"}
    view = recap_view(session(3, 3, recap=stored), [])
    assert view.logline == "Mira crossed the lake." and view.ending == "bittersweet"


def test_an_empty_story_has_an_empty_recap_and_list() -> None:
    view = recap_view(session(0, 3), [])
    assert view.nodes == () and view.title.startswith("Untitled")
    assert render_png(view)[:8] == b"\x89PNG\r\n\x1a\n"
    assert chapter_list(9, []).text == "" and chapter_list(9, []).notes


def test_the_chapter_list_youtube_wants() -> None:
    aired = [(1, "The Gate", 1000.0), (2, "The Chapel\nof Bells", 1192.0), (3, "x" * 200, 4800.0),
             (4, "Never aired", None)]
    out = chapter_list(1, aired)
    assert out.text.splitlines() == ["00:00 The Gate", "03:12 The Chapel of Bells",
                                     "1:03:20 " + "x" * 99 + "…"]
    later = chapter_list(1, aired, since=900.0)
    assert later.text.splitlines()[:2] == ["00:00 Before the story", "01:40 The Gate"]
    after = chapter_list(1, aired, since=1100.0)
    assert after.text.splitlines()[1].startswith("01:32 The Chapel") and any(
        "before the stream start" in n for n in after.notes)
    short = chapter_list(1, [(1, "a", 0.0), (2, "b", 5.0)])
    assert any("at least 3" in n or "from 3" in n for n in short.notes)
    assert any("10 s" in n for n in short.notes)
    assert stamp(59.9) == "00:59" and stamp(3600) == "1:00:00"


def test_the_public_page_escapes_and_leaves_out_viewers_and_admin_data() -> None:
    s = session(4, 3)
    view = recap_view(s, [{"name": "SecretFan", "ballots": 3, "wins": 1}])
    page = render_story_page(msgspec.convert(s, SessionDetail), view)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "SecretFan" not in page and "Mira" not in page.split("<main>")[0]
    assert page.count("<section>") == 4 and "<details>" in page and "<svg" in page


def test_the_title_is_the_storys_own_then_its_plans() -> None:
    # The demo's recap card, admin page, PNG and exports said "Pockets — Comedy story" for
    # "The Best Man's Trousers", and "Die Zuckerdose — Romance story" on a German story.
    authored = session(3, 3, settings={"story": {"title": "The Best Man's Trousers",
                                                 "id": "en/comedy", "ifid": "X"}})
    assert recap_view(authored, []).title == "The Best Man's Trousers"
    plan = {"title": "Dex Kuroda and the black-ice chip", "premise": "p",
            "protagonist": {"name": "Dex Kuroda", "want": "w"}}
    assert recap_view(session(3, 3, plan=plan), []).title == "Dex Kuroda and the black-ice chip"
    assert recap_view(session(3, 3), []).title == f"Part 1 {EVIL} — Horror story"
    german = session(3, 3, language="Deutsch")
    assert recap_view(german, []).title == f"Part 1 {EVIL}"       # no English on a German card


def test_a_stored_storys_recap_lists_the_cameos_who_stayed_and_only_once() -> None:
    stored = session(3, 3, cameos=[{"name": "Zed", "status": "joined", "chapters": [2]},
                                   {"name": "Amy", "status": "left", "chapters": [1]},
                                   {"name": "Bo", "status": "joined", "chapters": []}])
    stored["memory"]["characters"] += [{"name": "Zed", "role": ""},
                                       {"name": "Amy", "role": "cameo"}]
    view = recap_view(stored, [])
    assert [(c.name, c.cameo) for c in view.cast] == [("Mira", False), ("Zed", True)]


def test_the_recap_picture_speaks_the_storys_language() -> None:
    # A German story's shareable picture said "STORY RECAP", "Top voters" and "8 chapters ·
    # up to 14 voters a round".
    from storyd.services.recap_png import recap_lines

    voters = [{"name": "Amy", "ballots": 5, "wins": 3}]
    german = recap_lines(recap_view(session(3, 3, language="Deutsch"), voters, cameos=("zed",)))
    assert german.kicker == "EURE GESCHICHTE · HORROR"
    assert german.cast == "Mit: Mira, zed (Gastauftritt)"
    assert german.voters == "Am fleißigsten abgestimmt: Amy 5"
    assert german.foot == "3 Kapitel · bis zu 9 Stimmen pro Runde · storyd"
    english = recap_lines(recap_view(session(1, 3), voters))
    assert english.kicker == "STORY RECAP · HORROR" and english.voters == "Top voters: Amy 5"
    assert english.cast == "Starring: Mira" and english.foot == "1 chapter · storyd"


def test_the_pictures_map_sits_in_the_middle_of_its_box() -> None:
    from storyd.services.recap_png import map_points

    points, r, _dx = map_points(8, (72, 500, 1008, 1580))      # a portrait picture's map box
    ys = [y for _x, y in points]
    assert abs(sum(ys) / len(ys) - 1040) < 60 and min(ys) - 2 * r >= 500 and max(ys) + r <= 1580


def test_the_kind_of_ending_is_shown_only_where_it_is_known() -> None:
    # An authored story's recap card had no cast and said nothing of how it ended; the
    # chapters alone call every ending "open", which the card must not repeat as a fact.
    from storyd.services.recap_png import recap_lines

    guessed = {"title": "T", "logline": "L.", "moments": [], "ending": "open", "source": "offline"}
    told = {**guessed, "ending": "tragedy", "source": "siliconflow"}
    authored = {"story": {"title": "Zwanzig vor acht", "id": "de/romance"}}
    assert recap_view(session(3, 3), []).ending == ""                      # nothing stored
    assert recap_view(session(3, 3, recap=guessed), []).ending == ""
    assert recap_view(session(3, 3, recap=told), []).ending == "tragedy"
    view = recap_view(session(3, 3, recap={**guessed, "ending": "bittersweet"},
                              settings=authored, language="Deutsch",
                              memory={"version": 1, "characters": []}), [])
    assert view.ending == "bittersweet" and view.cast == ()                # the passage's tag
    assert recap_lines(view).foot == "Ein bittersüßes Ende · 3 Kapitel · bis zu 9 Stimmen pro " \
        "Runde · storyd"
    assert recap_lines(recap_view(session(3, 3, recap=told), [])).foot.startswith(
        "A tragic ending · 3 chapters")
    assert render_png(view, "1920x1080")[:8] == b"\x89PNG\r\n\x1a\n"
