"""Terminal text for the audience: cameos (storyctl cameo list|remove, the status line)."""

from __future__ import annotations

from typing import Any


def format_cameos(rows: list[dict[str, Any]]) -> str:
    """`storyctl cameo list`: one viewer a line, status and the chapters that name them."""
    if not rows:
        return "no cameos in the story on air\n"
    width = max(len(str(r.get("name", ""))) for r in rows)
    lines = []
    for r in rows:
        chapters = ", ".join(str(n) for n in r.get("chapters") or ()) or "-"
        lines.append(f"{str(r.get('name', '')):<{width}}  {r.get('status', '?'):<7}  "
                     f"chapters {chapters:<10}  ballots {r.get('ballots', 0):<4}  "
                     f"{r.get('viewer_id', '')}")
    return "\n".join(lines) + "\n"


def format_removed(result: dict[str, Any]) -> str:
    names = ", ".join(result.get("removed") or ())
    return f"removed from every later chapter: {names}\n"


def audience_line(a: dict[str, Any] | None, cast: list[str]) -> list[str]:
    """The status lines of the cameos (none while cameos are off and nobody joined)."""
    if not a or not (a.get("cameos") or a.get("joined") or a.get("waiting")):
        return []
    line = (f"cameos: {a.get('joined', 0)} joined ({a.get('join_command', '!join')}); "
            f"offered: {', '.join(a.get('offered') or ()) or '-'}")
    if a.get("waiting"):
        line += f"; {a['waiting']} waiting for the next story"
    if cast:
        line += f"; in this story: {', '.join(cast)}"
    extra = [f"{k} {a[k]}" for k in ("leaves", "removed", "refused", "dropped") if a.get(k)]
    return [line + (f" ({', '.join(extra)})" if extra else "")]
