"""storyctl's lines for the chat sources of a status snapshot (pure; `now_ms` passed in).

One line per source, every source listed: state (and why), room, last event age, message rate
(10 s window), messages, votes, reconnects (drops of a working connection), failed attempts,
dropped events, and when the next attempt is due. Lenient about the shape: a missing field is
left out, never an error.
"""

from __future__ import annotations

from typing import Any


def _age(ms: int) -> str:
    s = max(ms, 0) // 1000
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def chat_source_line(c: dict[str, Any], now_ms: int) -> str:
    state = str(c.get("state", "?")).replace("_", " ")
    detail = str(c.get("detail") or "")
    room = str(c.get("room") or "")
    head = state + (f": {detail}" if detail and detail not in (room, f"room {room}") else "")
    parts = [head]
    if room:
        parts.append(f"room {room}")
    retry = c.get("retry_at_ms")
    if isinstance(retry, int) and c.get("state") in ("backing_off", "waiting_for_live",
                                                      "failed"):
        parts.append(f"next try in {_age(retry - now_ms + 999)}")
    last = c.get("last_event_at_ms")
    parts.append(f"last event {_age(now_ms - last)} ago" if isinstance(last, int)
                 else "no events yet")
    rate = c.get("rate")
    if isinstance(rate, int | float):
        parts.append(f"{rate:.1f} msg/s")
    if c.get("messages") is not None:
        parts.append(_plural(int(c["messages"]), "msg"))
    if c.get("votes_accepted") is not None:
        parts.append(f"votes {c['votes_accepted']} ok / {c.get('votes_invalid', 0)} invalid")
    if c.get("gifts"):
        parts.append(_plural(int(c["gifts"]), "gift"))
    for key, word in (("reconnects", "reconnect"), ("failures", "failed attempt"),
                      ("dropped", "dropped")):
        value = c.get(key)
        if isinstance(value, int):
            parts.append(f"{value} dropped" if key == "dropped" else _plural(value, word))
    counters = c.get("counters")
    if isinstance(counters, dict) and counters:   # a source's own tallies (EventSub: duplicates …)
        parts.append(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counters.items())))
    return " · ".join(parts)


def format_chat(sources: list[dict[str, Any]], now_ms: int) -> list[str]:
    """`chat:` and one indented line per source."""
    if not sources:
        return []
    width = max(len(str(c.get("source", "?"))) for c in sources)
    return ["chat:"] + [f"  {str(c.get('source', '?')):<{width}}  {chat_source_line(c, now_ms)}"
                        for c in sources if isinstance(c, dict)]
