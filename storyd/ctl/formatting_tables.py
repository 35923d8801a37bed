"""storyctl's tables and records: history, one session, voters, memory, themes, providers.

Pure functions from the daemon's results (builtins, shapes as the store and dispatch return
them) to text; lenient about missing fields so an older or newer daemon still prints. Times
are epoch seconds shown in local time as `YYYY-MM-DD HH:MM`.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence
from typing import Any

from storyd.ctl.plan import plan_lines, recap_lines

KEYS = "abcdef"


def when(ts: Any) -> str:
    """Epoch seconds as local `YYYY-MM-DD HH:MM`; "-" when absent."""
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()
          ) -> str:
    """Columns padded to their widest cell; indices in `right` are right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for r in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(parts).rstrip())
    return "\n".join(out) + "\n"


def format_sessions(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no stories yet\n"
    return table(("ID", "STARTED", "STATUS", "THEME", "LANGUAGE", "CHAPTERS"),
                 [(r.get("id", "?"), when(r.get("started_at")), r.get("status", "?"),
                   r.get("theme", "?"), r.get("language") or "-", r.get("chapters", 0))
                  for r in rows], right=(0, 5))


def tally(counts: Sequence[Any], n: int | None = None) -> str:
    """Counts with their choice letters: `a 4 · b 3 · c 0`."""
    values = list(counts) + [0] * max(0, (n or 0) - len(counts))
    return " · ".join(f"{KEYS[i] if i < len(KEYS) else i} {c}" for i, c in enumerate(values))


def theme_name(theme: Any) -> str:
    """The theme's display name ("Furry sci-fi") for its id; the id itself when unknown."""
    from storyd.core.themes import THEMES  # pure and small

    t = THEMES.get(str(theme))
    return t.name if t is not None else str(theme)


def _vote_line(vote: dict[str, Any], n: int) -> str:
    voters = vote.get("voters", 0)
    text = f"{tally(vote.get('counts') or [], n)}; {voters} voter{'' if voters == 1 else 's'}"
    winner = vote.get("winner")
    if isinstance(winner, int) and 0 <= winner < len(KEYS):
        text += f", {KEYS[winner]} won"
    if vote.get("forced"):
        text += " (forced by the operator)"
    elif vote.get("tie_break"):
        text += f" (tie-break: {vote['tie_break']})"
    elif vote.get("early"):
        text += " (closed early, clear lead)"
    if vote.get("closed_at"):
        text += f", closed {when(vote['closed_at'])}"
    return text


def _paragraphs(text: str, indent: str = "  ", width: int = 78) -> list[str]:
    lines: list[str] = []
    for para in str(text).split("\n"):
        if para.strip():
            lines.extend(textwrap.wrap(para.strip(), width, initial_indent=indent,
                                       subsequent_indent=indent) or [indent])
    return lines


def format_session(s: dict[str, Any]) -> str:
    """A session as a story: heading, outline, then each chapter's text, its choices with
    letters and counts, the winner and the vote; the closing chapter ends it."""
    ended = f", ended {when(s['ended_at'])}" if s.get("ended_at") else ""
    lines = [f"session {s.get('id', '?')}: {theme_name(s.get('theme', '?'))} "
             f"({s.get('language', '?')}), {s.get('status', '?')}, "
             f"started {when(s.get('started_at'))}{ended}"]
    if s.get("outline"):
        lines.append(f"outline: {s['outline']}")
    chapters = s.get("chapters") or []
    if s.get("plan"):
        lines.extend(plan_lines(s["plan"], len(chapters)))
    if s.get("recap"):
        lines.extend(recap_lines(s["recap"]))
    running = s.get("status") == "active"
    for pos, ch in enumerate(chapters):
        last = pos == len(chapters) - 1
        lines.append("")
        lines.append(f"chapter {ch.get('number', '?')}: {ch.get('title') or '(untitled)'}")
        lines.extend(_paragraphs(ch.get("text") or ""))
        choices = list(ch.get("choices") or [])
        vote = ch.get("vote") or None
        counts = list((vote or {}).get("counts") or [])
        chosen = ch.get("chosen")
        width = min(max((len(c) for c in choices), default=0), 50)
        for i, text in enumerate(choices):
            text = text if len(text) <= width else text[:width - 1] + "…"
            count = f"{counts[i]:>5}" if vote and i < len(counts) else ""
            mark = "  <- chosen" if chosen == i else ""
            key = KEYS[i] if i < len(KEYS) else str(i)
            lines.append(f"  {key}) {text:<{width}}  {count}{mark}".rstrip())
        if ch.get("closing"):
            lines.append("  — the end —")
        elif vote:
            lines.append(f"  vote: {_vote_line(vote, len(choices))}")
        elif chosen is not None:
            lines.append("  chosen by the operator (no vote recorded)")
        elif last and not running:
            lines.append("  — the story was ended here —")
        elif choices:
            lines.append("  vote: not decided yet")
    if not chapters:
        lines.append("no chapters yet")
    return "\n".join(lines) + "\n"


def platform_of(row: dict[str, Any]) -> str:
    """The chat platform of a viewer: the row's own, else read from the id's form
    (`twitch:42` and ingest ids carry it, `demo-7` is the demo audience, bare digits TikTok)."""
    if row.get("platform"):
        return str(row["platform"])
    vid = str(row.get("viewer_id", ""))
    if ":" in vid:
        return vid.split(":", 1)[0]
    if vid.startswith("demo-"):
        return "demo"
    return "tiktok" if vid.isdigit() else "local"


def format_top_voters(rows: list[dict[str, Any]]) -> str:
    """One row per viewer id (two viewers may share a display name)."""
    if not rows:
        return "no voters yet\n"
    return table(("#", "VIEWER", "PLATFORM", "NAME", "BALLOTS", "WINS", "LIKES", "JOINS",
                  "LAST SEEN"),
                 [(rank, r.get("viewer_id", "?"), platform_of(r), r.get("name") or "-",
                   r.get("ballots", 0), r.get("wins", 0), r.get("likes", 0), r.get("joins", 0),
                   when(r.get("last_seen")))
                  for rank, r in enumerate(rows, 1)], right=(0, 4, 5, 6, 7))


def _entity(e: dict[str, Any]) -> str:
    text = str(e.get("name", "?"))
    if e.get("role"):
        text += f" ({e['role']})"
    if e.get("note"):
        text += f" — {e['note']}"
    if e.get("alive") is False:
        text += " [gone]"
    return text


def format_memory(m: dict[str, Any]) -> str:
    """The story memory: lore with notes, events, the path taken, and the model's context."""
    mem = m.get("memory")
    if m.get("session_id") is None or not isinstance(mem, dict):
        return "no story is running\n"
    lines = [f"memory of session {m['session_id']}"]
    for title, key in (("characters", "characters"), ("places", "locations"),
                       ("items", "items")):
        entries = mem.get(key) or []
        lines.append(f"{title}:" + ("" if entries else " (none)"))
        lines.extend(f"  {_entity(e)}" for e in entries if isinstance(e, dict))
    if mem.get("earlier"):
        lines.append(f"earlier: {mem['earlier']}")
    events = mem.get("events") or []
    lines.append("events:" + ("" if events else " (none)"))
    for ev in events:
        if isinstance(ev, list | tuple) and len(ev) == 2:
            lines.append(f"  ch{ev[0]}: {ev[1]}")
        else:
            lines.append(f"  {ev}")
    path = m.get("path") or mem.get("path") or []
    lines.append("path: " + (" → ".join(str(p) for p in path) if path else "(start)"))
    context = m.get("context") or ""
    if context:
        lines.append("context (what the storyteller sees):")
        lines.extend(f"  {ln}" for ln in str(context).splitlines())
    prompt = m.get("last_prompt")
    if prompt:
        lines.append(f"last prompt: {len(prompt)} message(s) (see `storyctl --json memory`)")
    return "\n".join(lines) + "\n"


def format_themes(themes: list[Any]) -> str:
    """One theme per line: `id — name: style`."""
    return "".join(f"{t.get('id', '?')} — {t.get('name', '')}"
                   + (f": {t['style']}" if t.get("style") else "") + "\n"
                   for t in themes if isinstance(t, dict))


def format_stories(stories: list[Any]) -> str:
    """The shipped authored stories: id, language, theme, title, size."""
    rows = [(t.get("id", "?"), t.get("language", ""), t.get("theme_name") or t.get("theme", ""),
             t.get("title", ""), f"{t.get('passages', 0)} passages, {t.get('endings', 0)} endings")
            for t in stories if isinstance(t, dict)]
    if not rows:
        return "no authored stories are installed\n"
    return table(("ID", "LANGUAGE", "THEME", "TITLE", "SIZE"), rows)


def format_providers(rows: list[dict[str, Any]]) -> str:
    """One line per provider: name, ok or the diagnosis, latency, the JSON mode in use
    (with why it stepped down), message."""
    if not rows:
        return "no providers\n"
    out = []
    for r in rows:
        state = "ok" if r.get("ok") else str(r.get("diagnosis") or "failing")
        latency = r.get("latency")
        ms = f"{latency * 1000:.0f} ms" if isinstance(latency, int | float) else "-"
        message = " ".join(str(r.get("message") or "").split())   # one line per provider
        if r.get("base_url"):
            message = f"{r['base_url']}" + (f": {message}" if message else "")
        if r.get("json_mode_note"):
            message += f" [{r['json_mode_note']}]"
        out.append((r.get("provider", "?"), state, ms, str(r.get("json_mode") or "-"),
                    message))
    return table(("PROVIDER", "STATE", "LATENCY", "JSON", "MESSAGE"), out, right=(2,))


def format_import(t: dict[str, Any]) -> str:
    """The totals of a chat import (bad lines are listed on stderr by storyctl)."""
    text = (f"sent {t['sent']} message{'' if t['sent'] == 1 else 's'} in {t['requests']} "
            f"request{'' if t['requests'] == 1 else 's'}: {t['accepted']} accepted, "
            f"{t['invalid']} invalid, {t['ignored']} ignored")
    if t.get("seconds") is not None:
        text += f" (replayed over {t['seconds']:.1f} s)"
    text += "\n"
    if t.get("refused"):
        text += f"{t['refused']} message(s) refused by storyd\n"
    if t.get("bad_lines"):
        n = len(t["bad_lines"])
        text += f"{n} bad line{'' if n == 1 else 's'} skipped (listed on stderr)\n"
    return text
