"""storyctl's human-readable output: pure functions from results (builtins) to text.

The status formatter is written against storyd.core.snapshot.Snapshot as builtins; the others
are lenient about the shape of what the daemon returns (dicts, lists, strings), so a new field
shows up rather than breaking the output. `now_ms` is passed in, so output is testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from storyd.ctl import formatting_tables as tables
from storyd.ctl import plan as ctl_plan
from storyd.ctl.formatting_audience import audience_line, format_cameos, format_removed
from storyd.ctl.formatting_chat import format_chat

BAR_WIDTH = 20
REHEARSAL = ("rehearsal: no live chat is connected — votes come only from storyctl, "
             "the chat ingest API or the simulated demo audience")


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    return msgspec.json.encode(value).decode()


def _compact(value: Any) -> str:
    """One short line for a provider or chat entry of unknown shape."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_scalar(v)}" for k, v in value.items()
                         if v not in (None, "", [], {}))
    return _scalar(value)


def _tree(value: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        lines: list[str] = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_tree(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            lines.append(f"{pad}- {_compact(item)}" if isinstance(item, dict)
                         else f"{pad}- {_scalar(item)}")
        return lines
    return [f"{pad}{_scalar(value)}"]


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for k, v in value.items():
            lines.extend(_flatten(v, f"{prefix}{k}."))
        return lines
    return [f"{prefix.rstrip('.')} = {_scalar(value)}"]


def _bar(count: int, total: int, unicode: bool) -> str:
    full, empty = ("█", "░") if unicode else ("#", ".")
    n = round(BAR_WIDTH * count / total) if total else 0
    return full * n + empty * (BAR_WIDTH - n)


def format_status(s: dict[str, Any], now_ms: int, unicode: bool = True) -> str:
    """The Snapshot (as builtins) for a terminal: state, chapter, vote bars, chat, providers."""
    head = f"state: {s.get('state', '?')}"
    if s.get("session_id") is not None:
        head += f"   session {s['session_id']}"
    theme = s.get("theme_name") or s.get("theme")
    if theme:
        head += f"   theme: {theme}" + (f" ({s['language']})" if s.get("language") else "")
    lines = [head]
    if s.get("authored"):
        lines.append(f"story: {s['authored'].get('title', '')} ({s['authored'].get('id', '')}, "
                     "authored)")
    if s.get("test_mode"):
        lines.append(REHEARSAL)
    if s.get("chapter_number"):
        of = f" of {s['max_chapters']}" if s.get("max_chapters") else ""
        lines.append(f"chapter {s['chapter_number']}{of}: {s.get('title') or '(untitled)'}")
    if s.get("notice"):
        lines.append(f"notice: {s['notice']}")
    if s.get("language_notice"):
        lines.append(f"language: {s['language_notice']}")
    if s.get("generating"):
        lines.append(f"generating: {_compact(s['generating'])}")
    voting = s.get("voting")
    choices = (voting or {}).get("choices") or s.get("choices") or []
    if voting:
        lines.extend(_voting_lines(voting, choices, now_ms, unicode))
    elif choices:
        lines.append("choices:")
        lines.extend(f"  {c.get('key', '?')}) {c.get('text', '')}" for c in choices)
    lines.extend(format_chat(list(s.get("chat") or []), now_ms))
    lines.extend(audience_line(s.get("audience"), list(s.get("cameos") or ())))
    costs = s.get("costs") or []
    if costs:   # the aired chapter's provider calls (prefetched branches included) and tokens
        c = costs[-1]
        lines.append(f"cost: chapter {c['chapter']}: {c['calls']} provider calls, "
                     f"{c['prompt_tokens'] + c['completion_tokens']} tokens")
    providers = s.get("providers") or {}
    if providers:
        lines.append("providers: " + "; ".join(
            f"{kind} " + ", ".join(_provider(name, h) for name, h in chain.items())
            for kind, chain in providers.items() if isinstance(chain, dict)))
    return "\n".join(lines) + "\n"


def _provider(name: str, h: Any) -> str:
    """`offline ok 6 ms`, `sf failing: HTTP 401 …`, `sf cooling down`, `offline ok, stepped in
    2 times (used because: …)`."""
    if not isinstance(h, dict):
        return f"{name} {h}"
    if h.get("cooling_down") or h.get("cooldown_until_ms"):
        state = "cooling down" + (f" ({h['cooldown_reason']})" if h.get("cooldown_reason")
                                  else "")
    elif h.get("ok") is False:
        state = f"failing: {h.get('last_error') or '?'}"
    elif h.get("ok"):
        state = "ok"
    else:
        state = "unused"
    ms = h.get("last_latency_ms")
    if ms is not None and h.get("ok"):
        state += f" {ms:.0f} ms"
    if h.get("stepped_in"):   # the last resort wrote: how often, and why (the last time)
        n = int(h["stepped_in"])
        state += (f", stepped in {n} time{'s' * (n != 1)}"
                  + (f" (used because: {h['used_because']})" if h.get("used_because") else ""))
    return f"{name} {state}"


def _voting_lines(v: dict[str, Any], choices: list[dict[str, Any]], now_ms: int,
                  unicode: bool) -> list[str]:
    counts = list(v.get("counts") or [])
    counts += [0] * (len(choices) - len(counts))
    total = sum(counts)
    if v.get("open"):
        ends_at, closes_at = v.get("ends_at"), v.get("closes_at")
        left = f", {max(0, (ends_at - now_ms) // 1000)} s left" if ends_at is not None else ""
        if ends_at is not None and closes_at is not None and closes_at > ends_at:
            left += (f", ballots until +{(closes_at - ends_at) // 1000} s (stream delay: "
                     f"{max(0, (closes_at - now_ms) // 1000)} s to the close)")
        state = f"open{left}" + (" (extended)" if v.get("extended") else "")
    else:
        state = "closed"
        winner = v.get("winner")
        if winner is not None and 0 <= winner < len(choices):
            state += f", winner {choices[winner].get('key', winner)}"
            if v.get("tie_break"):
                state += f" (tie-break: {v['tie_break']})"
            elif v.get("early"):
                state += " (decided early: clear lead)"
    moderated = f", {v['moderated']} taken back by moderators" if v.get("moderated") else ""
    lines = [f"vote: {state}; {tables.tally(counts)}; {v.get('voters', 0)} voters, "
             f"{v.get('invalid', 0)} invalid{moderated}"]
    width = max((len(c.get("text", "")) for c in choices), default=0)
    width = min(width, 40)
    for i, c in enumerate(choices):
        text = c.get("text", "")
        text = text if len(text) <= width else text[:width - 1] + "…"
        pct = round(100 * counts[i] / total) if total else 0
        mark = "  <- winner" if not v.get("open") and v.get("winner") == i else ""
        lines.append(f"  {c.get('key', '?')}) {text:<{width}}  {_bar(counts[i], total, unicode)}"
                     f"  {counts[i]:>5}  {pct:>3}%{mark}")
    return lines


# command -> (the result type it formats, formatter); other shapes fall back to a tree
_RECORDS: dict[str, tuple[type, Callable[[Any], str]]] = {
    "themes": (list, tables.format_themes),
    "stories": (list, tables.format_stories),
    "sessions": (list, tables.format_sessions),
    "session": (dict, tables.format_session),
    "top-voters": (list, tables.format_top_voters),
    "memory": (dict, tables.format_memory),
    "providers": (list, tables.format_providers),
    "plan": (dict, ctl_plan.format_plan),
    "extend": (dict, ctl_plan.format_plan),
}


def format_result(command: str, sub: str | None, result: Any, *, now_ms: int,
                  unicode: bool = True) -> str:
    """Human-readable text for the result of one storyctl command."""
    if isinstance(result, dict) and "state" in result and "revision" in result:
        return format_status(result, now_ms, unicode)   # status, and actions returning a snapshot
    records = _RECORDS.get(command)
    if records is not None and isinstance(result, records[0]):
        return records[1](result)
    if command == "vote" and isinstance(result, dict) and "counts" in result:
        voters = result.get("voters", 0)
        return (f"{'accepted' if result.get('accepted') else 'not counted'}: "
                f"{tables.tally(result['counts'])} ({voters} voter{'' if voters == 1 else 's'})\n")
    if command == "sessions" and isinstance(result, dict) and "deleted" in result:
        return f"deleted session {result['deleted']}\n"
    if command == "config" and isinstance(result, dict) and "origins" in result:
        return format_origins(result["origins"])
    if command == "config" and sub == "get" and isinstance(result, dict) and "key" in result:
        return _origin_line(result["key"], result) + "\n"
    if command == "cameo" and isinstance(result, list):
        return format_cameos(result)
    if command == "cameo" and isinstance(result, dict) and "removed" in result:
        return format_removed(result)
    if command == "admin-url" and isinstance(result, dict) and "url" in result:
        return f"{result['url']}\n"
    if command == "export" and isinstance(result, dict) and isinstance(result.get("content"), str):
        result = result["content"]
    if command == "config" and sub == "show" and isinstance(result, dict):
        return "\n".join(_flatten(result)) + "\n"
    if result is None:
        return "ok\n"
    if isinstance(result, str):
        return result if result.endswith("\n") else result + "\n"
    if not isinstance(result, dict | list):
        return _scalar(result) + "\n"
    return "\n".join(_tree(result)) + "\n" if result else "(none)\n"


def _origin_line(key: str, entry: dict[str, Any]) -> str:
    """`voting.duration = 20   (from --demo; the file says 60)`."""
    text = f"{key} = {_scalar(entry.get('value'))}"
    source = entry.get("source")
    if source == "default":
        text += "   (default)"
    elif source == "file":
        text += "   (from the file)"
    elif source:
        text += f"   (from {source}; the file says {_scalar(entry.get('file_value'))})"
    return text


def format_origins(origins: dict[str, dict[str, Any]]) -> str:
    """`config show`: every value in effect; overridden ones first, marked with their flag."""
    overridden = [k for k, e in origins.items() if e.get("source") not in ("file", "default")]
    lines = []
    if overridden:
        lines.append("values this run overrides (the file is unchanged):")
        lines.extend("  " + _origin_line(k, origins[k]) for k in overridden)
        lines.append("")
    lines.extend(_origin_line(k, e) for k, e in origins.items() if k not in overridden)
    return "\n".join(lines) + "\n"


def format_event(event: Any, now: float) -> str:
    """One line per watched event: local time, event name, a short summary of its data."""
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    if isinstance(event, dict) and "event" in event:
        name, data = event["event"], event.get("data")
    else:
        name, data = "event", event
    if isinstance(data, dict) and "state" in data and "revision" in data:
        summary = f"state={data['state']} chapter={data.get('chapter_number', 0)}"
        if data.get("voting"):
            summary += f" voters={data['voting'].get('voters', 0)}"
    else:
        summary = _compact(data) if data is not None else ""
    if len(summary) > 160:
        summary = summary[:159] + "…"
    return f"{stamp} {name} {summary}".rstrip() + "\n"
