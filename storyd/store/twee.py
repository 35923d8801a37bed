"""The Twee 3 export: the aired path as linked passages, and every written branch beside it.

Input is the dict `Store.get_session()` returns (chapters with their votes, `branches` from
story_branches, `ifid`). One passage per chapter (tag `chapter`, the closing one `ending`);
the taken choice links to the next chapter, a choice whose branch was written during the vote
links to a passage tagged `not-taken` (which links back), and a choice never written is plain
text. StoryData carries the session's own random IFID (stored with it, made once).

Escaping: a passage must read exactly what was aired in Harlowe, SugarCube and Chapbook alike,
so no story or viewer character may become markup in any of them. Every character that is
markup somewhere (`$var`, `_temp`, `(macro:)`, `<<macro>>`, `[[link]]`, `[hook]`, `''bold''`,
`//italic//`, `~~`, `^^`, `@@`, `{{{`, backticks, `*`, `#`, HTML, entities, Markdown lists,
rules and headings, Chapbook's `--` vars separator, Twee's own `::` header) is written as a
numeric HTML entity: the formats pass entities through untouched and the browser shows the
character. Characters that are markup only in company (`''`, `""`, `--`, a `?` before a name,
`!`, `-` or `1.` at the start of a line, a `:` before anything but a space, `www.`) are
encoded only there, so ordinary prose stays readable in the Twee source.

Links: SugarCube and Chapbook show a link's text as it stands (entities and all), so a choice
is its own link text only when it holds no character that needs escaping; otherwise the
escaped choice is written as text followed by a plain "read on" link.

Passage names, link words and notes are in the story's language (storyd/core/story_words.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import msgspec

from storyd.core.story_words import ENGLISH, StoryWords

FORMAT, FORMAT_VERSION = "Harlowe", "3.3.9"     # Twine's default story format
_ALWAYS = frozenset("&<>[]{}()$_*~^`|@#=\\/+%")
_PAIRED = frozenset("'\"-")                      # markup when doubled: '' "" --
_LINE_START = frozenset("!:-")
_KEYS = "ABCDEF"


def _entity(ch: str) -> str:
    return f"&#{ord(ch)};"


def twee_line(line: str) -> str:
    """One line of story text with every character that could become markup encoded."""
    line = "".join(ch for ch in line.replace("\t", " ") if ch.isprintable()).strip()
    out: list[str] = []
    for i, ch in enumerate(line):
        prev = line[i - 1] if i else ""
        nxt = line[i + 1] if i + 1 < len(line) else ""
        if (ch in _ALWAYS
                or (ch in _PAIRED and ch in (prev, nxt))
                or (i == 0 and ch in _LINE_START)
                or (ch == "?" and (nxt.isalnum() or nxt == "_"))
                or (ch == ":" and nxt != "" and not nxt.isspace())   # url schemes, `::`
                or (ch == "." and (line[:i].isdigit() or line[max(0, i - 3):i].lower() == "www"))
                or (ch == "'" and i == 0)):
            out.append(_entity(ch))
        else:
            out.append(ch)
    return "".join(out)


def twee_text(text: str) -> str:
    """Story text as passage content: escaped lines, paragraphs apart by one empty line."""
    paras = [twee_line(p) for p in str(text).replace("\r\n", "\n").split("\n")]
    return "\n\n".join(p for p in paras if p)


def _name_safe(text: str) -> str:
    """A title for StoryTitle: one line of plain text, no Twee header syntax and no HTML (a
    compiler puts it into the page's <title> and attributes)."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    for ch in "[]{}":
        flat = flat.replace(ch, " ")
    flat = " ".join(flat.replace("<", "‹").replace(">", "›").split())
    return flat.lstrip(":").strip() or "Untitled"


def chapter_name(number: int, words: StoryWords = ENGLISH) -> str:
    return words.chapter(int(number))


def branch_name(after: int, choice: int, words: StoryWords = ENGLISH) -> str:
    key = _KEYS[choice] if 0 <= choice < len(_KEYS) else str(choice + 1)
    return words.branch_passage(int(after), key)


def _header(name: str, tags: str, x: int, y: int) -> str:
    return f":: {name} [{tags}] {{\"position\":\"{x},{y}\"}}"


def _votes(ch: dict[str, Any], index: int, words: StoryWords) -> str:
    vote = ch.get("vote") or {}
    counts = list(vote.get("counts") or [])
    if index >= len(counts):
        return ""
    total = sum(int(c) for c in counts)
    return words.votes_of(int(counts[index]), total)


def _link(label: str, target: str, plain_label: str, note: str) -> str:
    """`[[label->target]] note`, or the escaped label, the note and a plain link when the
    label needs escaping (a link's text is not entity-decoded by every format)."""
    flat = " ".join(label.split())
    if flat and twee_line(flat) == flat:
        return f"[[{flat}->{target}]]{note}"
    return f"{twee_line(flat)}{note} [[{plain_label}->{target}]]"


def _chapter(ch: dict[str, Any], branches: dict[tuple[int, int], dict[str, Any]],
             last: int, words: StoryWords) -> Iterator[str]:
    n = int(ch["number"])
    yield _header(chapter_name(n, words), "ending" if ch.get("closing") else "chapter", 100,
                  150 * n)
    yield f"<h2>{twee_line(str(ch.get('title') or ''))}</h2>"
    yield ""
    yield twee_text(ch.get("text") or "")
    for i, choice in enumerate(ch.get("choices") or []):
        label = str(choice) if str(choice).strip() else _KEYS[i % 6]
        yield ""
        if ch.get("chosen") == i and n < last:
            yield _link(label, chapter_name(n + 1, words), words.read_on,
                        f" {words.chosen}{_votes(ch, i, words)}")
        elif (n, i) in branches:
            yield _link(label, branch_name(n, i, words), words.read_not_taken,
                        f" {words.not_taken}{_votes(ch, i, words)}")
        else:
            yield f"• {twee_line(label)}" + (f" {words.chosen}" if ch.get("chosen") == i
                                              else "")
    yield ""


def _branch(b: dict[str, Any], words: StoryWords) -> Iterator[str]:
    after, choice = int(b["after_chapter"]), int(b["choice"])
    yield _header(branch_name(after, choice, words), "not-taken", 300 + 200 * choice,
                  150 * after + 75)
    yield f"<h2>{twee_line(str(b.get('title') or ''))}</h2>"
    yield ""
    yield f"<em>{twee_line(words.not_taken_note)}</em>"
    yield ""
    yield twee_text(b.get("text") or "")
    for choice_text in b.get("choices") or []:
        yield ""
        yield f"• {twee_line(str(choice_text))}"
    yield ""
    yield f"[[{words.back_to(after)}->{chapter_name(after, words)}]]"
    yield ""


def to_twee(s: dict[str, Any], title: str, words: StoryWords = ENGLISH) -> str:
    """Twine 3 Twee for the session `s` (see the module doc); `title` names the story and
    `words` are the story language's."""
    chapters = list(s.get("chapters") or [])
    numbers = {int(ch["number"]) for ch in chapters}
    branches = {(int(b["after_chapter"]), int(b["choice"])): b
                for b in s.get("branches") or () if int(b["after_chapter"]) in numbers}
    start = chapter_name(chapters[0]["number"], words) if chapters else "Start"
    ifid = str(s.get("ifid") or "").upper() or str(uuid.uuid4()).upper()
    data = {"ifid": ifid, "format": FORMAT, "format-version": FORMAT_VERSION, "start": start,
            "tag-colors": {"not-taken": "purple", "ending": "green"}}
    out = [":: StoryTitle", _name_safe(title), "",
           ":: StoryData", msgspec.json.encode(data).decode(), ""]
    if not chapters:
        out += [_header("Start", "chapter", 100, 100), twee_line(words.no_chapters), ""]
    last = max(numbers, default=0)
    for ch in chapters:
        out += list(_chapter(ch, branches, last, words))
    for key in sorted(branches):
        out += list(_branch(branches[key], words))
    return "\n".join(out)
