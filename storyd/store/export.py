"""Exporting a stored session: Markdown, standalone HTML, Twine's Twee 3 (storyd.store.twee),
JSON.

Every word the export itself writes ("Chapter 3", "← chosen", "voters", the recap's heading)
is in the story's language, from storyd/core/story_words.py.

Input is the dict `Store.get_session()` returns: the chapters with their votes, the branches
written for choices that lost (`branches`, from story_branches) and the session's IFID. Every
story or viewer string is escaped for the target format: HTML through `html.escape`, Markdown
by backslash-escaping what CommonMark/GFM would read as markup, Twee as storyd.store.twee
explains. The HTML and Twee exports carry every written branch, marked as not taken; the JSON
export is the session itself (branches included).
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

import msgspec

from storyd.core.langtag import html_lang
from storyd.core.recap import recap_from_json
from storyd.core.recap_view import known_ending, story_title
from storyd.core.replies import ExportReply
from storyd.core.story_words import StoryWords, story_words, tie_words
from storyd.store.twee import to_twee

CONTENT_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
                 "twee": "text/plain; charset=utf-8", "json": "application/json"}
EXTENSIONS = {"md": "md", "html": "html", "twee": "twee", "json": "json"}
KEYS = "ABCDEF"


def _date(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def title_of(s: dict[str, Any]) -> str:
    """The story's title (the export's and the recap's; see `story_title`)."""
    return story_title(s)


def _key(i: int) -> str:
    return KEYS[i] if 0 <= i < len(KEYS) else str(i + 1)


def _tally(counts: Any) -> str:
    """`A 10 · B 13 · C 7`, the letters the choices carry in the export."""
    return " · ".join(f"{_key(i)} {c}" for i, c in enumerate(counts or []))


def _words(s: dict[str, Any]) -> StoryWords:
    return story_words(str(s.get("language") or ""))


def _ending_kind(session: dict[str, Any]) -> str:
    """The kind of ending where it is known (a model's recap, an authored ending passage);
    "" where the chapters alone would only guess "open" (as on the recap card)."""
    recap = recap_from_json(session.get("recap"))
    return known_ending(session, recap) if recap is not None else ""


def _vote_line(vote: dict[str, Any], words: StoryWords) -> str:
    tie = f" · {tie_words(words, str(vote['tie_break']))}" if vote.get("tie_break") else ""
    return f"{words.voters(int(vote.get('voters') or 0))} · {_tally(vote.get('counts'))}{tie}"


def _branches_by_chapter(s: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for b in s.get("branches") or ():
        out.setdefault(int(b["after_chapter"]), []).append(b)
    return out


# --- Markdown -----------------------------------------------------------------------------

_MD_ALWAYS = re.compile(r"([\\`*_\[\]{}|~#<>])")


def md_text(text: str) -> str:
    """One paragraph of story text for Markdown: every character CommonMark or GFM would
    read as markup (emphasis, code, links, HTML, tables, strike-through, headings, lists,
    rules, autolinks) is backslash-escaped; `&` is written as an entity."""
    line = _MD_ALWAYS.sub(r"\\\1", " ".join(str(text).split()).replace("&", "&amp;"))
    if line[:1] in ("+", "-", "=", "!", ":"):
        line = "\\" + line
    line = re.sub(r"^(\d+)([.)])", r"\1\\\2", line)
    return re.sub(r"(?i)\b(www)\.", r"\1\\.", line).replace("://", ":\\/\\/")


def _md_paragraphs(text: str) -> list[str]:
    return [md_text(p) for p in str(text).split("\n") if p.strip()]


def cameo_line(s: dict[str, Any]) -> str:
    """"With viewers in the story: Zed (chapter 2), …" for the cameos the story wrote in."""
    words = _words(s)
    names = [f"{c['name']} ({words.chapters_of([int(n) for n in c['chapters']])})"
             for c in s.get("cameos") or () if isinstance(c, dict) and c.get("chapters")]
    return words.viewers_in_story(", ".join(names)) if names else ""


def to_markdown(s: dict[str, Any]) -> str:
    words = _words(s)
    out = [f"# {md_text(title_of(s))}", "",
           "*" + md_text(words.session_line(int(s["id"]), str(s.get("language", "")),
                                            _date(s.get("started_at")))) + "*", ""]
    if s.get("outline"):
        out += [f"> {md_text(s['outline'])}", ""]
    if cameo_line(s):
        out += [f"*{md_text(cameo_line(s))}*", ""]
    branches = _branches_by_chapter(s)
    for ch in s.get("chapters") or []:
        out += [f"## {words.chapter(int(ch['number']))}: {md_text(ch['title'])}", ""]
        for para in _md_paragraphs(ch["text"]):
            out += [para, ""]
        for i, c in enumerate(ch.get("choices") or []):
            mark = f" **{words.chosen}**" if ch.get("chosen") == i else ""
            out.append(f"- **{_key(i)}**: {md_text(c)}{mark}")
        vote = ch.get("vote")
        if vote:
            out += ["", f"*{md_text(_vote_line(vote, words))}*"]
        for b in branches.get(int(ch["number"]), ()):
            out += ["", f"> **{words.road_not_taken} ({_key(int(b['choice']))}): "
                        f"{md_text(b['title'])}**"]
            for para in _md_paragraphs(b["text"]):
                out += [">", f"> {para}"]
        out.append("")
    recap = s.get("recap") or {}
    if recap.get("logline"):      # the story's recap (issue 17), written when it ended
        out += [f"## {words.recap}", "", md_text(recap["logline"]), ""]
        out += [f"- {md_text(m)}" for m in recap.get("moments") or []]
        if kind := _ending_kind(s):
            out += ["", f"*{md_text(words.ending_label(kind))}*", ""]
    return "\n".join(out).rstrip() + "\n"


# --- HTML ---------------------------------------------------------------------------------

_CSS = ("body{font:18px/1.6 Georgia,serif;max-width:42em;margin:2em auto;padding:0 1em}"
        ".chosen{font-weight:bold}details{margin:1em 0;padding:.5em 1em;border-left:3px solid "
        "#bbb;color:#444}summary{cursor:pointer;font-style:italic}.vote{color:#555}")


def _paragraphs(text: str) -> list[str]:
    return [f"<p>{html.escape(p)}</p>" for p in str(text).split("\n") if p.strip()]


def _html_branch(b: dict[str, Any], words: StoryWords) -> str:
    e = html.escape
    body = "".join(_paragraphs(b["text"]))
    choices = "".join(f"<li>{e(str(c))}</li>" for c in b.get("choices") or [])
    return (f"<details class=not-taken><summary>{e(words.road_not_taken)} "
            f"({_key(int(b['choice']))}): {e(str(b['title']))}</summary>{body}"
            + (f"<ol type=A>{choices}</ol>" if choices else "") + "</details>")


def to_html(s: dict[str, Any]) -> str:
    e = html.escape
    words = _words(s)
    title = title_of(s)
    parts = [f"<h1>{e(title)}</h1>"]
    if s.get("outline"):
        parts.append(f"<blockquote>{e(s['outline'])}</blockquote>")
    if cameo_line(s):
        parts.append(f"<p class=vote>{e(cameo_line(s))}</p>")
    branches = _branches_by_chapter(s)
    for ch in s.get("chapters") or []:
        parts.append(f"<section><h2>{e(words.chapter(int(ch['number'])))}: "
                     f"{e(ch['title'])}</h2>")
        parts += _paragraphs(ch["text"])
        if ch.get("choices"):
            items = "".join(
                f"<li{' class=chosen' if ch.get('chosen') == i else ''}>{e(c)}</li>"
                for i, c in enumerate(ch["choices"]))
            parts.append(f"<ol type=A>{items}</ol>")
        if ch.get("vote"):
            parts.append(f"<p class=vote>{e(_vote_line(ch['vote'], words))}</p>")
        parts += [_html_branch(b, words) for b in branches.get(int(ch["number"]), ())]
        parts.append("</section>")
    recap = s.get("recap") or {}
    if recap.get("logline"):
        moments = "".join(f"<li>{e(str(m))}</li>" for m in recap.get("moments") or [])
        kind = _ending_kind(s)
        ending = f"<p class=vote>{e(words.ending_label(kind))}</p>" if kind else ""
        parts.append(f"<section class=recap><h2>{e(words.recap)}</h2>"
                     f"<p>{e(recap['logline'])}</p><ul>{moments}</ul>{ending}</section>")
    body = "\n".join(parts)
    lang = e(html_lang(str(s.get("language") or "")))
    return (f"<!doctype html><html lang={lang}><head><meta charset=utf-8>"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n"
            "</body></html>\n")


def render(session: dict[str, Any], fmt: str) -> str:
    if fmt == "md":
        return to_markdown(session)
    if fmt == "html":
        return to_html(session)
    if fmt == "twee":
        return to_twee(session, title_of(session), _words(session))
    return msgspec.json.format(msgspec.json.encode(session), indent=2).decode() + "\n"


def export_reply(session: dict[str, Any], fmt: str) -> ExportReply:
    """A stored session (`Store.get_session`) as the `export` answer: the rendered file, its
    content type and a file name."""
    return ExportReply(format=fmt, content_type=CONTENT_TYPES[fmt],
                       filename=f"storyd-session-{session['id']}.{EXTENSIONS[fmt]}",
                       content=render(session, fmt))
