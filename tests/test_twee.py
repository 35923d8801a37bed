"""The Twee 3 reader (core/twee.py): what storyd reads of Twine's format, and what it refuses
at load with file:line and a reason (issue 18) — never half-played."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from storyd.core.authored import AuthoredStoryteller
from storyd.core.model import ChapterRequest
from storyd.core.themes import THEMES
from storyd.core.twee import MAX_BYTES, MAX_PASSAGES, parse_twee, read_twee
from storyd.core.twee_graph import has_cycle, nearest_ending, path_lengths, walk
from storyd.errors import RefusedError, StoryFileError

FERRY = Path(__file__).parent / "fixtures" / "twee" / "last_ferry.twee"
IFID = "0F4C2D38-5B7E-4A1D-9C3E-2B8A6D1F7E40"


def story(*passages: str, start: str = "Start", title: str = "Test") -> str:
    head = (f":: StoryTitle\n{title}\n\n:: StoryData\n"
            f'{{"ifid": "{IFID}", "format": "Harlowe", "start": "{start}"}}\n\n')
    return head + "\n\n".join(passages) + "\n"


def refusal(text: str | bytes) -> list[tuple[int, str]]:
    with pytest.raises(StoryFileError) as info:
        if isinstance(text, bytes):
            read_twee(text, "bad.twee")
        else:
            parse_twee(text, "bad.twee")
    assert str(info.value).startswith("bad.twee")
    return info.value.problems


def why(text: str | bytes) -> str:
    return "\n".join(f"{line}: {reason}" for line, reason in refusal(text))


SMALL = story(
    ":: Start\nThe door creaks.\n\n[[Open it->Hall]]\n[[Cellar ~ dark<-Go down]]\n[[Walk away|Road]]",
    ":: Hall [ending good]\nWarm light.",
    ":: Cellar ~ dark\nIt is dark.\n[[Road]]\n[[Light a match->Hall]]",
    ":: Road [ending bad] {\"position\": \"100,200\"}\nRain.",
)


def test_reads_passages_links_tags_and_story_data() -> None:
    s = parse_twee(SMALL, "small.twee")
    assert (s.title, s.ifid, s.start, s.story_format) == ("Test", IFID, "Start", "Harlowe")
    start = s.passages["Start"]
    assert start.prose == "The door creaks."
    # every link form Twine knows: Text->Target, Target<-Text, Text|Target, Target
    assert [(lk.text, lk.target, lk.line) for lk in start.links] == [
        ("Open it", "Hall", 10), ("Go down", "Cellar ~ dark", 11), ("Walk away", "Road", 12)]
    assert [(lk.text, lk.target) for lk in s.passages["Cellar ~ dark"].links] == [
        ("Road", "Road"), ("Light a match", "Hall")]
    assert s.passages["Cellar ~ dark"].title == "Cellar"      # the variant is hidden
    assert s.passages["Hall"].ending == "good" and s.passages["Road"].ending == "bad"
    assert s.passages["Start"].ending is None


def test_the_ten_passage_example_reads_and_walks() -> None:
    s = read_twee(FERRY.read_bytes(), "last_ferry.twee")
    assert s.title == "The Last Ferry" and len(s.passages) == 10
    assert path_lengths(s) == (4, 7) and not has_cycle(s)
    path = ("Beg the clerk for a ticket", "Carry the chart aboard", "Steer by the old chart")
    assert walk(s, path).name == "Home Before the Storm"
    with pytest.raises(RefusedError, match="is not a link"):
        walk(s, ("Sing a song",))


def test_the_authored_storyteller_walks_the_path_and_finishes_at_the_nearest_ending() -> None:
    s = read_twee(FERRY.read_bytes(), "last_ferry.twee")
    teller = AuthoredStoryteller(s)

    def request(number: int, path: tuple[str, ...], closing: bool = False) -> ChapterRequest:
        return ChapterRequest(theme=THEMES["adventure"], language="English",
                              chapter_number=number, words=40, n_choices=3, closing=closing,
                              path=path)

    first = teller.passage_for(request(1, ()))
    assert first.name == "Pier Nine"
    second = teller.passage_for(request(2, ("Help the deckhand with the rope",)))
    assert second.name == "The Gangway"
    crossing = teller.passage_for(request(3, ("Help the deckhand with the rope",
                                              "Stay on deck with the crew")))
    assert crossing.name == "The Crossing ~ without the chart" and crossing.title == "The Crossing"
    # finish after a vote: the ending nearest to where the vote led
    closing = teller.passage_for(request(3, ("Help the deckhand with the rope",
                                             "Stay on deck with the crew"), closing=True))
    assert closing.name == "The Long Way Round"
    # finish with no vote (from the chapter on air): the nearest ending from there
    assert teller.passage_for(request(3, ("Help the deckhand with the rope",), closing=True)
                              ).name == "The Long Way Round"
    assert nearest_ending(s, "On the Teeth").name == "On the Teeth"


def test_bom_crlf_escapes_and_plain_punctuation_are_read() -> None:
    text = story(":: Start\nShe paid $5 for it, and 3 < 4 \u2014 \u201eNein\u201c, sagte sie\u2026 "
                 "'Why?' (Twice.) 50% off! A & B, e.g. x-y; 2:30.\n[[A->End one]]\n[[B->End two]]",
                 ":: End one\nDone.", ":: End two\nAlso done.")
    s = read_twee(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "ok.twee")
    assert s.passages["Start"].prose.startswith("She paid $5 for it, and 3 < 4 \u2014 \u201eNein")


@pytest.mark.parametrize(("prose", "expected"), [
    ("(set: $gold to 5)Gold.", "a Harlowe macro"),
    ("You have (print: $gold) gold.", "a Harlowe macro"),
    ("<<set $gold to 5>>Gold.", "a SugarCube macro"),
    ("You carry $gold coins.", "a story variable $name"),
    ("Hold _item tight.", "a temporary variable"),
    ("A <b>bold</b> move.", "an HTML tag"),
    ("A <script>alert(1)</script>.", "an HTML tag"),
    ("Fish &amp; chips.", "an HTML entity"),
    ("|door>[It opens.]", "a hook"),
    ("''Loud'' and //soft//.", "bold markup"),
    ("{Whitespace collapsed}", "a code block"),
    ("# Chapter one", "a heading"),
    ("A *starred* word.", "emphasis markup"),
    ("Line joined \\", "a backslash"),
    ("Bell\x07 rings.", "a control character U+0007"),
])
def test_story_format_code_and_markup_are_refused_with_the_line(prose: str, expected: str
                                                                ) -> None:
    text = story(f":: Start\nPlain first line.\n{prose}\n[[A->X]]\n[[B->X]]", ":: X\nEnd.")
    problems = refusal(text)
    assert any(line == 9 and expected in reason for line, reason in problems), problems


def test_every_problem_is_listed_at_once_with_its_line() -> None:
    text = story(
        ":: Start\nGo.\n[[North->Nowhere]]\n[[South->End]]",        # missing target
        ":: Lonely\nNobody links here.",                            # unreachable
        ":: End\nThe end.")
    message = why(text)
    assert "9: link 'North' leads to a missing passage 'Nowhere'" in message
    problems = refusal(text)
    assert len(problems) == 1      # the graph is checked once the links resolve
    fixed = text.replace("Nowhere", "End")
    assert refusal(fixed) == [(12, "passage 'Lonely' cannot be reached from the start "
                                   "passage 'Start'")]


def test_more_than_six_links_or_a_single_link_is_refused() -> None:
    links = "\n".join(f"[[Way {i}->End]]" for i in range(7))
    assert "has 7 links: a decision needs 2–6" in why(story(f":: Start\nGo.\n{links}",
                                                            ":: End\nDone."))
    assert "has 1 links" in why(story(":: Start\nGo.\n[[On->End]]", ":: End\nDone."))
    six = "\n".join(f"[[Way {i}->End]]" for i in range(6))
    assert len(parse_twee(story(f":: Start\nGo.\n{six}", ":: End\nDone."), "x").passages[
        "Start"].links) == 6


@pytest.mark.parametrize(("passage", "expected"), [
    (":: Start\nGo.\n[[A->End]]\n[[a->End]]", "two links in 'Start' read 'a'"),
    (":: Start\nGo.\n[[A->End]]\n[[B->End]]\nMore prose.", "text after the links"),
    (":: Start\nGo [[A->End]] now.\n[[B->End]]\n[[C->End]]", "a link inside the prose"),
    (":: Start\nGo.\n[[A|End][$x to 1]]\n[[B->End]]", "a setter"),
    (":: Start\nGo.\n[[A->B->End]]\n[[B->End]]", "more than one of -> <- |"),
    (":: Start\nGo.\n[[->End]]\n[[B->End]]", "a link needs a text and a target"),
    (":: Start [ending]\nGo.\n[[A->End]]\n[[B->End]]", "tagged ending but has links"),
    (":: Start\n\n[[A->End]]\n[[B->End]]", "has no text"),
    (":: Start\nGo.\n[[A->End]]\n[[B->End]]\n\n:: Setup [script]\nwindow.x = 1;",
     "a story format's code"),
    (":: Start\nGo.\n[[A->End]]\n[[B->End]]\n\n:: StoryInit\n(set: $x to 1)",
     "StoryInit: a story format's code"),
    (":: Start\nGo.\n[[A->End]]\n[[B->End]]\n\n:: Start\nAgain.", "a second passage named"),
])
def test_passages_storyd_cannot_play_are_refused(passage: str, expected: str) -> None:
    assert expected in why(story(passage, ":: End\nDone."))


def test_story_data_must_name_an_ifid_and_an_existing_start() -> None:
    body = ":: Start\nGo.\n[[A->End]]\n[[B->End]]\n\n:: End\nDone.\n"
    assert "no StoryData passage" in why(body)
    assert "needs an \"ifid\"" in why(':: StoryData\n{"start": "Start"}\n\n' + body)
    assert "StoryData is not JSON" in why(":: StoryData\n{start: Start}\n\n" + body)
    assert "the start passage 'Begin' does not exist" in why(story(body, start="Begin"))
    # no start in StoryData: a passage named Start is the start (as Twine and Extwee do)
    s = parse_twee(f':: StoryData\n{{"ifid": "{IFID}"}}\n\n' + body, "x.twee")
    assert s.start == "Start" and s.title == "x"     # no StoryTitle: the file's name


def test_a_published_html_story_is_refused_with_what_to_do() -> None:
    html = (b'<!DOCTYPE html>\n<html><head><title>Tale</title></head><body><tw-storydata '
            b'name="Tale" startnode="1"><tw-passagedata pid="1" name="Start">Hi'
            b'</tw-passagedata></tw-storydata></body></html>')
    assert "Export as Twee" in why(html)
    assert "Export as Twee" in why(b"\n\n  <tw-storydata name='x'></tw-storydata>")


def test_not_utf8_binary_and_oversized_files_are_refused() -> None:
    latin1 = story(":: Start\nK\u00e4se.\n[[A->End]]\n[[B->End]]", ":: End\nDone.")
    assert refusal(latin1.encode("latin-1")) == [
        (8, "not UTF-8 (byte 0xe4): save the file as UTF-8")]
    assert "a NUL byte" in why(b":: Start\nx\0y\n")
    assert "a story may be 1024 KB at most" in why(b" " * (MAX_BYTES + 1))
    assert "not a Twee 3 file" in why("Once upon a time.\n:: Start\nGo.")
    assert "not a Twee 3 file" in why("")


def test_a_cycle_is_allowed_only_with_a_way_out() -> None:
    loop = story(":: Start\nA hall.\n[[Left->Room]]\n[[Right->Room]]",
                 ":: Room\nA room.\n[[Back->Start]]\n[[On->Garden]]", ":: Garden\nOut.")
    s = parse_twee(loop, "loop.twee")
    assert has_cycle(s) and path_lengths(s) is None
    assert nearest_ending(s, "Start").name == "Garden"
    trap = story(":: Start\nA hall.\n[[Left->Room]]\n[[Right->End]]",
                 ":: Room\nA room.\n[[Back->Room2]]\n[[On->Room2]]",
                 ":: Room2\nAnother.\n[[Back->Room]]\n[[Out->Room]]", ":: End\nOut.")
    problems = why(trap)
    assert "from passage 'Room' no path reaches an ending" in problems
    assert "from passage 'Room2' no path reaches an ending" in problems
    assert "no ending" in why(story(":: Start\nA.\n[[L->B]]\n[[R->B]]",
                                    ":: B\nB.\n[[L->Start]]\n[[R->Start]]"))


def test_200_passages_read_fast_and_more_than_the_limit_is_refused() -> None:
    def chain(n: int) -> str:
        parts = [f":: P{i}\nRoom {i}.\n[[On->P{i + 1}]]\n[[Stay->P{i + 1}]]"
                 for i in range(n - 1)]
        return story(*parts, f":: P{n - 1}\nThe end.", start="P0")

    t0 = time.perf_counter()
    s = parse_twee(chain(200), "big.twee")
    took = time.perf_counter() - t0
    assert len(s.passages) == 200 and path_lengths(s) == (200, 200)
    assert took < 1.0, f"reading 200 passages took {took:.2f} s"
    assert f"{MAX_PASSAGES + 1} passages; a story may have {MAX_PASSAGES} at most" in why(
        chain(MAX_PASSAGES + 1))


def test_a_link_text_of_2000_characters_is_refused() -> None:
    long = "Run " * 500
    assert "a link text of 1999 characters; a choice may be 140 at most" in why(
        story(f":: Start\nGo.\n[[{long}->End]]\n[[B->End]]", ":: End\nDone."))


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "looks like a path"),
    ("C:\\Users\\story", "looks like a path"),
    ("rooms/hall", "looks like a path"),
    ("Hall \\[east\\]", "escapes a character"),
    ("Hall <b>", "has characters a link cannot name"),
    ("Hall|East", "has characters a link cannot name"),
    (" ~ only a variant", "has no title before"),
    ("x" * 121, "a passage name of 121 characters"),
])
def test_a_passage_named_like_a_path_or_unlinkable_is_refused(name: str, expected: str) -> None:
    assert expected in why(story(":: Start\nGo.\n[[A->End]]\n[[B->End]]",
                                 f":: {name}\nHidden.", ":: End\nDone."))


def test_the_readme_example_is_the_story_the_tests_play() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```twee\n(.*?)```", readme, re.S)
    assert block is not None, "README: the ```twee example under 'Write your own story'"
    assert block.group(1) == FERRY.read_text(encoding="utf-8")
