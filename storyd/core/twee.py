"""The Twee 3 reader: the small, documented subset of Twine's text format that storyd plays (pure).

Theory of operation: `read_twee(bytes, source)` checks the file as a whole (size, UTF-8, not a
published HTML story), `parse_twee(text, source)` cuts it into passages at the `::` header
lines (Twee 3: `:: Name [tags] {metadata}`, the Twine specification), and each passage into
its prose and its links. A link is a line of its own after the prose, in one of Twine's
forms: `[[Text->Target]]`, `[[Target<-Text]]`, `[[Text|Target]]` or `[[Target]]`. Then
core/twee_graph.py checks the story as a graph.

Invariant: a TweeStory that comes back can be played to an ending from every passage —
every link resolves, every passage is reachable and can reach an ending, every decision has
2–6 distinct choices, and nothing in it belongs to a story format's code (core/twee_markup.py).
Anything else raises StoryFileError listing every problem with its line: refused at load,
never half-played.

A passage is a chapter: its title is its name without a hidden variant suffix after " ~ "
(`The Rope Bridge ~ alone` airs as "The Rope Bridge"), its prose the chapter text, its links
the choices; a passage without links ends the story (tag it `[ending good|bittersweet|bad]`).
"""

from __future__ import annotations

import json
import re

from storyd.core.twee_graph import graph_problems
from storyd.core.twee_markup import CONTROL, markup_problems
from storyd.core.twee_model import VARIANT, Link, Passage, TweeStory, title_of
from storyd.errors import StoryFileError

# The documented limits (README "Write your own story").
MAX_BYTES = 1024 * 1024        # a 34-passage story is about 25 KB
MAX_PASSAGES = 300             # passages besides StoryTitle and StoryData
MIN_LINKS, MAX_LINKS = 2, 6    # choices per decision; no links at all = an ending
MAX_LINK_TEXT = 140            # characters of a choice (as for a model's choices)
MAX_NAME = 120                 # characters of a passage name (the chapter title)
MAX_TITLE = 200                # characters of the StoryTitle
MAX_PROSE = 4000               # characters of a passage's text (about 650 words)

# Special passages and tags whose content a story format runs as code or page furniture.
CODE_PASSAGES = frozenset({
    "StoryInit", "StoryCaption", "StoryMenu", "StoryBanner", "StoryShare", "StoryInterface",
    "StorySettings", "StoryIncludes", "StoryAuthor", "StorySubtitle", "PassageReady",
    "PassageDone", "PassageHeader", "PassageFooter"})
CODE_TAGS = frozenset({
    "script", "stylesheet", "widget", "init", "header", "footer", "startup", "debug-header",
    "debug-footer", "debug-startup", "Twine.image", "Twine.audio", "Twine.video"})
IFID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
LINK = re.compile(r"\[\[(.*?)\]\]")
LINK_LINE = re.compile(r"\s*(\[\[.*?\]\]\s*)+")
NAME_FORBIDDEN = "[]{}<>|"

Problems = list[tuple[int, str]]


# ---- the file ------------------------------------------------------------------------------

def read_twee(data: bytes, source: str) -> TweeStory:
    """A story from a file's bytes; StoryFileError when storyd cannot play it."""
    if len(data) > MAX_BYTES:
        raise StoryFileError(source, [(0, f"the file is {len(data) / 1e6:.1f} MB; a story may "
                                          f"be {MAX_BYTES // 1024} KB at most")])
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype", b"<html", b"<tw-storydata", b"<?xml", b"<head", b"<body")
                       ) or b"<tw-storydata" in data[:1 << 16].lower():
        raise StoryFileError(source, [(1, "this is HTML (a published Twine story), not Twee "
                                          "source: in Twine open the story, then Build → "
                                          "Export as Twee, and use that .twee file")])
    if b"\0" in data:
        at = data.index(b"\0")
        raise StoryFileError(source, [(data[:at].count(b"\n") + 1,
                                       "a NUL byte: this is a binary file, not Twee text")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StoryFileError(source, [(line, f"not UTF-8 (byte 0x{data[exc.start]:02x}): save "
                                             "the file as UTF-8")]) from None
    return parse_twee(text.removeprefix("\ufeff"), source)


def parse_twee(text: str, source: str) -> TweeStory:
    """A story from Twee 3 text; StoryFileError (every problem, with its line) otherwise."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: Problems = []
    chunks: list[tuple[int, str, list[str]]] = []    # (header line, header, content lines)
    for number, line in enumerate(lines, 1):
        if line.startswith("::"):
            chunks.append((number, line[2:], []))
        elif chunks:
            chunks[-1][2].append(line)
        elif line.strip():
            problems.append((number, "text before the first passage header (`:: Name`): this "
                                     "is not a Twee 3 file"))
            break
    if not chunks:
        raise StoryFileError(source, problems or [(0, "no passages (`:: Name` lines): this is "
                                                      "not a Twee 3 file")])
    title, data = "", None
    passages: dict[str, Passage] = {}
    for number, header, content in chunks:
        parsed = _header(header, number, problems)
        if parsed is None:
            continue
        name, tags = parsed
        body = "\n".join(content).strip()
        if name == "StoryTitle":
            title = " ".join(body.split())
            problems.extend((number + 1, f"in the title: {why}") for why in markup_problems(title))
        elif name == "StoryData":
            data = _story_data(body, number, problems)
        elif name in CODE_PASSAGES or CODE_TAGS & set(tags):
            what = name if name in CODE_PASSAGES else f"[{' '.join(sorted(CODE_TAGS & set(tags)))}]"
            problems.append((number, f"{what}: a story format's code or page passage; storyd "
                                     "plays plain passages only"))
        elif name in passages:
            problems.append((number, f"a second passage named '{name}' (the first is at line "
                                     f"{passages[name].line}): names must be unique"))
        else:
            passages[name] = _passage(name, tags, content, number, problems)
    if len(passages) > MAX_PASSAGES:
        problems.append((0, f"{len(passages)} passages; a story may have {MAX_PASSAGES} at most"))
    if len(title) > MAX_TITLE:
        problems.append((0, f"the StoryTitle is {len(title)} characters; {MAX_TITLE} at most"))
    start = ""
    if data is None:
        problems.append((0, "no StoryData passage: add one with the story's ifid and start "
                            "passage (see the README)"))
    else:
        start = str(data.get("start") or ("Start" if "Start" in passages else ""))
        if not start:
            problems.append((0, "StoryData names no start passage and there is no passage "
                                "named Start"))
        elif start not in passages:
            problems.append((0, f"the start passage '{start}' does not exist"))
    for p in passages.values():
        for link in p.links:
            if link.target not in passages:
                problems.append((link.line, f"link '{link.text}' leads to a missing passage "
                                            f"'{link.target}'"))
    story = TweeStory(
        source=source, title=title or source.rsplit("/", 1)[-1].rsplit(".", 1)[0],
        ifid=str((data or {}).get("ifid", "")).upper(), start=start, passages=passages,
        story_format=str((data or {}).get("format", "")),
        format_version=str((data or {}).get("format-version", "")))
    if not problems:
        problems = graph_problems(story)
    if problems:
        raise StoryFileError(source, sorted(problems))
    return story


# ---- one passage ---------------------------------------------------------------------------

def _header(header: str, number: int, problems: Problems) -> tuple[str, tuple[str, ...]] | None:
    """(name, tags) of `:: Name [tags] {metadata}`; None (and a problem) when malformed."""
    metadata = ""
    rest = header.rstrip()
    masked = re.sub(r"\\.", "..", rest)   # escaped \[ \] \{ \} are name characters
    if masked.endswith("}") and "{" in masked:
        at = masked.index("{")
        rest, metadata, masked = rest[:at].rstrip(), rest[at:], masked[:at].rstrip()
    tags: tuple[str, ...] = ()
    if masked.endswith("]") and "[" in masked:
        at = masked.rindex("[")
        rest, tags = rest[:at].rstrip(), tuple(rest[at + 1:-1].split())
    name = rest.strip()
    if metadata:
        try:
            ok = isinstance(json.loads(metadata), dict)
        except ValueError:
            ok = False
        if not ok:
            problems.append((number, "the passage metadata {…} is not a JSON object"))
    why = name_problem(name)
    if why:
        problems.append((number, why))
        return None
    return name, tags


def name_problem(name: str) -> str | None:
    """Why a passage name cannot be used, or None."""
    if not name:
        return "a passage header without a name"
    if re.search(r"\\[][{}\\]", name):
        return (f"the passage name '{name[:80]}' escapes a character (\\[ \\] \\{{ \\}}): "
                "storyd reads names without [ ] { } \\")
    if "/" in name or "\\" in name:
        return f"the passage name '{name[:80]}' looks like a path: no / or \\ in names"
    if len(name) > MAX_NAME:
        return f"a passage name of {len(name)} characters; {MAX_NAME} at most"
    bad = sorted({c for c in name if c in NAME_FORBIDDEN})
    if bad or "->" in name or "<-" in name or CONTROL.search(name):
        shown = "".join(bad) or "-> <- or a control character"
        return f"the passage name '{name}' has characters a link cannot name ({shown})"
    if not title_of(name):
        return f"the passage name '{name}' has no title before its '{VARIANT.strip()}' suffix"
    return None


def _story_data(body: str, number: int, problems: Problems) -> dict[str, object] | None:
    try:
        data = json.loads(body)
    except ValueError as exc:
        problems.append((number, f"StoryData is not JSON: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append((number, "StoryData must be a JSON object"))
        return None
    ifid = data.get("ifid")
    if not isinstance(ifid, str) or not IFID.fullmatch(ifid):
        problems.append((number, "StoryData needs an \"ifid\": a UUID such as "
                                 "python3 -c 'import uuid; print(str(uuid.uuid4()).upper())' "
                                 "prints"))
    if "start" in data and not isinstance(data["start"], str):
        problems.append((number, "StoryData \"start\" must be a passage name"))
        data = {**data, "start": ""}
    return data


def _passage(name: str, tags: tuple[str, ...], content: list[str], header_line: int,
             problems: Problems) -> Passage:
    prose: list[str] = []
    links: list[Link] = []
    for offset, line in enumerate(content, 1):
        number = header_line + offset
        if LINK_LINE.fullmatch(line):
            for m in LINK.finditer(line):
                link = _link(m.group(1), number, problems)
                if link is not None:
                    links.append(link)
            continue
        if not line.strip():
            continue
        if links:
            problems.append((number, "text after the links: put the prose first, then each "
                                     "link on a line of its own"))
            continue
        if "[[" in line:
            problems.append((number, "a link inside the prose: storyd shows the text and the "
                                     "choices apart; put each link on a line of its own after "
                                     "the prose"))
            continue
        problems.extend((number, why) for why in markup_problems(line))
        prose.append(line)
    text = " ".join(" ".join(prose).split())
    if not text:
        problems.append((header_line, f"passage '{name}' has no text"))
    elif len(text) > MAX_PROSE:
        problems.append((header_line, f"passage '{name}' has {len(text)} characters of text; "
                                      f"{MAX_PROSE} at most (a chapter is read aloud)"))
    if len(links) == 1 or len(links) > MAX_LINKS:
        problems.append((header_line, f"passage '{name}' has {len(links)} links: a decision "
                                      f"needs {MIN_LINKS}–{MAX_LINKS}, an ending none"))
    seen: set[str] = set()
    for link in links:
        key = link.text.casefold()
        if key in seen:
            problems.append((link.line, f"two links in '{name}' read '{link.text}': viewers "
                                        "could not tell them apart"))
        seen.add(key)
    if links and "ending" in tags:
        problems.append((header_line, f"passage '{name}' is tagged ending but has links"))
    return Passage(name=name, prose=text, links=tuple(links), tags=tags, line=header_line)


def _link(body: str, number: int, problems: Problems) -> Link | None:
    """One `[[…]]`: Text->Target, Target<-Text, Text|Target or Target."""
    seps = [s for s in ("->", "<-", "|") if s in body]
    if "][" in body:
        problems.append((number, f"[[{body}]]: a link with a setter (SugarCube) runs code"))
        return None
    if len(seps) > 1 or any(body.count(s) > 1 for s in seps):
        problems.append((number, f"[[{body[:80]}]]: more than one of -> <- | in a link; use "
                                 "one [[Text->Target]]"))
        return None
    if seps == ["->"]:
        text, target = body.split("->")
    elif seps == ["<-"]:
        target, text = body.split("<-")
    elif seps == ["|"]:
        text, target = body.split("|")
    else:
        text = target = body
    text, target = " ".join(text.split()), target.strip()
    if not text or not target:
        problems.append((number, f"[[{body[:80]}]]: a link needs a text and a target"))
        return None
    if len(text) > MAX_LINK_TEXT:
        problems.append((number, f"a link text of {len(text)} characters; a choice may be "
                                 f"{MAX_LINK_TEXT} at most"))
        return None
    why = [*markup_problems(text), *markup_problems(target)]
    if why:
        problems.extend((number, f"in a link: {w}") for w in why)
        return None
    return Link(text=text, target=target, line=number)
