"""The incremental chapter reader: fed in any pieces, it ends where json.loads ends (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storyd.core.chapter_stream import ChapterStream


def feed_all(pieces: list[str]) -> tuple[ChapterStream, list[str]]:
    stream = ChapterStream()
    seen = []
    for piece in pieces:
        stream.feed(piece)
        seen.append(stream.text)
    return stream, seen


def chars(text: str) -> list[str]:
    return list(text)


DOC = json.dumps({"title": "Die \u00dcberfahrt", "text": "Er sagt: \"Halt!\"\n\tDann \\ 😀.",
                  "choices": ["a", "b"], "memory": {"text": "not this one"}})


@pytest.mark.parametrize("answer, title, text, complete", [
    (DOC, "Die \u00dcberfahrt", "Er sagt: \"Halt!\"\n\tDann \\ 😀.", True),
    (json.dumps({"text": "caf\u00e9 😀"}, ensure_ascii=True), "", "caf\u00e9 😀", True),
    ("Sure! Here it is:\n```json\n" + DOC + "\n```\nEnjoy", "Die \u00dcberfahrt",
     "Er sagt: \"Halt!\"\n\tDann \\ 😀.", True),
    ("<think>maybe {\"text\": \"no\"}</think>" + DOC, "Die \u00dcberfahrt",
     "Er sagt: \"Halt!\"\n\tDann \\ 😀.", True),
    ('{"title": "T", "content": "old layout"}', "T", "old layout", True),
    ('{"title": "T", "text": "half a sent', "T", "half a sent", False),
    ('{"title": "T", "text": "cut \\u00', "T", "cut ", False),
    ('{"title": "T", "text": "cut \\ud83d', "T", "cut ", False),
    ('{"title": "T", "text": "cut \\', "T", "cut ", False),
    ('{"choices": {"text": "nested"}, "text": "top"}', "", "top", True),
    ("no JSON here at all", "", "", False),
    ('{"text": "raw\nnewline"}', "", "raw\nnewline", True),      # sloppy but readable
])
def test_table(answer: str, title: str, text: str, complete: bool) -> None:
    for pieces in ([answer], chars(answer), [answer[i:i + 3] for i in range(0, len(answer), 3)]):
        stream, _ = feed_all(pieces)
        assert (stream.title, stream.text, stream.complete) == (title, text, complete)


def test_text_grows_while_streaming_and_escapes_never_show_half() -> None:
    answer = json.dumps({"title": "T", "text": "a\u00e9\\\"b😀c"}, ensure_ascii=True)
    _, seen = feed_all(chars(answer))
    shown = [t for t in seen if t]
    assert all(b.startswith(a) for a, b in zip(shown, shown[1:], strict=False))
    assert "\\" not in "".join(t for t in shown if not t.endswith("\\"))[:2]
    assert shown[-1] == "a\u00e9\\\"b😀c"
    assert not any("\\u" in t for t in shown)


def test_prose_without_json_stays_bounded() -> None:
    stream = ChapterStream()
    for _ in range(2000):
        stream.feed("blah " * 20)
    assert len(stream._prefix) <= 4096 and stream.text == ""


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=300, deadline=None)
@given(title=texts, text=texts, other=texts, ascii_only=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
       prose=st.sampled_from(["", "Here you go:\n```json\n", "<think>{x}</think> "]))
def test_any_split_gives_what_json_loads_gives(title: str, text: str, other: str,
                                               ascii_only: bool, cuts: list[int],
                                               prose: str) -> None:
    doc = json.dumps({"title": title, "choices": [other], "text": text,
                      "memory": {"text": other, "title": other}}, ensure_ascii=ascii_only)
    answer = prose + doc + ("\n```" if prose.startswith("Here") else "")
    points = sorted({min(c, len(answer)) for c in cuts} | {0, len(answer)})
    pieces = [answer[a:b] for a, b in zip(points, points[1:], strict=False)]
    stream, seen = feed_all(pieces)
    expected = json.loads(doc)
    assert stream.complete
    assert stream.title == expected["title"] and stream.text == expected["text"]
    grown = [t for t in seen if t]
    assert all(expected["text"].startswith(t) for t in grown)
