"""Exporting a stored session: Markdown, standalone HTML, Twine's Twee 3, JSON.

Input is the dict `Store.get_session()` returns. Every story or viewer string is escaped
for the target format (HTML through `html.escape`; Twee link syntax characters neutralised).
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

import msgspec

CONTENT_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
                 "twee": "text/plain; charset=utf-8", "json": "application/json"}
EXTENSIONS = {"md": "md", "html": "html", "twee": "twee", "json": "json"}


def _date(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def _chosen(ch: dict[str, Any]) -> str | None:
    idx = ch.get("chosen")
    choices = ch.get("choices") or []
    return choices[idx] if isinstance(idx, int) and 0 <= idx < len(choices) else None


def _theme(s: dict[str, Any]) -> str:
    """The theme's display name ("Cyberpunk"), not its id; the id when it is unknown."""
    from storyd.core.themes import THEMES

    theme = str(s.get("theme") or "")
    return THEMES[theme].name if theme in THEMES else (theme or "")


def _title(s: dict[str, Any]) -> str:
    chapters = s.get("chapters") or []
    first = chapters[0]["title"] if chapters else "Untitled"
    theme = _theme(s)
    return f"{first} — {theme} story" if theme else first


def _tally(counts: Any) -> str:
    """`A 10 · B 13 · C 7`, the letters the choices carry in the export."""
    return " · ".join(f"{'ABCDEF'[i] if i < 6 else i} {c}" for i, c in enumerate(counts or []))


def _md(text: str) -> str:
    """Story text for Markdown: no raw HTML survives a Markdown renderer."""
    return html.escape(text, quote=False)


def to_markdown(s: dict[str, Any]) -> str:
    out = [f"# {_md(_title(s))}", "",
           f"*Session {s['id']} · {s.get('language', '')} · "
           f"started {_date(s.get('started_at'))}*", ""]
    if s.get("outline"):
        out += [f"> {_md(s['outline'])}", ""]
    for ch in s.get("chapters") or []:
        out += [f"## Chapter {ch['number']}: {_md(ch['title'])}", "", _md(ch["text"]), ""]
        for i, c in enumerate(ch.get("choices") or []):
            mark = " **← chosen**" if ch.get("chosen") == i else ""
            out.append(f"- **{'ABCDEF'[i]}**: {_md(c)}{mark}")
        vote = ch.get("vote")
        if vote:
            out += ["", f"*{vote.get('voters', 0)} voters · {_tally(vote.get('counts'))}"
                        + (f" · tie-break: {vote['tie_break']}" if vote.get("tie_break") else "")
                        + "*"]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def to_html(s: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<h1>{e(_title(s))}</h1>"]
    if s.get("outline"):
        parts.append(f"<blockquote>{e(s['outline'])}</blockquote>")
    for ch in s.get("chapters") or []:
        parts.append(f"<section><h2>Chapter {int(ch['number'])}: {e(ch['title'])}</h2>")
        parts += [f"<p>{e(para)}</p>" for para in ch["text"].split("\n") if para.strip()]
        if ch.get("choices"):
            items = "".join(
                f"<li{' class=chosen' if ch.get('chosen') == i else ''}>{e(c)}</li>"
                for i, c in enumerate(ch["choices"]))
            parts.append(f"<ol type=A>{items}</ol>")
        parts.append("</section>")
    body = "\n".join(parts)
    return ("<!doctype html><html><head><meta charset=utf-8>"
            f"<title>{e(_title(s))}</title><style>body{{font:18px/1.6 Georgia,serif;"
            "max-width:42em;margin:2em auto;padding:0 1em}.chosen{font-weight:bold}"
            f"</style></head><body>\n{body}\n</body></html>\n")


_TWEE_UNSAFE = re.compile(r"[\[\]{}|<>]")


def _twee_text(text: str) -> str:
    return _TWEE_UNSAFE.sub(lambda m: {"[": "(", "]": ")", "{": "(", "}": ")", "|": "/",
                                        "<": "‹", ">": "›"}[m.group()], text)


def to_twee(s: dict[str, Any]) -> str:
    """Twine 3 Twee: one passage per chapter; the taken choice links to the next chapter."""
    chapters = s.get("chapters") or []
    start = "Chapter 1" if chapters else "Start"
    data = {"ifid": f"00000000-0000-4000-8000-{int(s['id']):012d}".upper(),
            "format": "Harlowe", "format-version": "3.3.8", "start": start}
    out = [":: StoryTitle", _twee_text(_title(s)), "",
           ":: StoryData", msgspec.json.encode(data).decode(), ""]
    for ch in chapters:
        out += [f":: Chapter {ch['number']}", f"''{_twee_text(ch['title'])}''", "",
                _twee_text(ch["text"]), ""]
        for i, c in enumerate(ch.get("choices") or []):
            label = _twee_text(c)
            if ch.get("chosen") == i:
                out.append(f"[[{label}->Chapter {ch['number'] + 1}]]")
            else:
                out.append(f"* {label}")
        out.append("")
    return "\n".join(out)


def render(session: dict[str, Any], fmt: str) -> str:
    if fmt == "md":
        return to_markdown(session)
    if fmt == "html":
        return to_html(session)
    if fmt == "twee":
        return to_twee(session)
    return msgspec.json.format(msgspec.json.encode(session), indent=2).decode() + "\n"
