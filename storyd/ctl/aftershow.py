"""storyctl after the show: `session ID --chapters [--since T]` (a YouTube chapter list) and
`recap ID [--png FILE] [--size WxH]` (the recap, or the recap as a picture to post).

`--since` takes the stream's start as epoch seconds, an ISO date and time
("2026-12-07T19:00", local time unless it names a zone) or a time of today ("19:00",
"19:00:30", local time).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any, TextIO

from storyd.control import protocol
from storyd.errors import ControlError


def parse_since(text: str, now: dt.datetime | None = None) -> float:
    """Epoch seconds for `--since` (ValueError with a hint when it is none of the forms)."""
    s = text.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", s):
        return float(s)
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", s):
        today = (now or dt.datetime.now()).astimezone()
        t = dt.time.fromisoformat(s if s.count(":") == 2 or len(s) > 4 else "0" + s)
        return dt.datetime.combine(today.date(), t, tzinfo=today.tzinfo).timestamp()
    try:
        when = dt.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"--since {text!r}: give the stream's start as epoch seconds, "
                         "2026-12-07T19:00 or 19:00 (today, local time)") from None
    return (when if when.tzinfo else when.astimezone()).timestamp()


def _since(text: str) -> float:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_options(session: argparse.ArgumentParser, sub: Any) -> None:
    """`--chapters`/`--since` on `session`, and the `recap` command."""
    session.add_argument("--chapters", action="store_true",
                         help="a YouTube chapter list from the chapters' on-air times")
    session.add_argument("--since", type=_since, metavar="T",
                         help="with --chapters: count from the stream's start (epoch seconds, "
                              "2026-12-07T19:00 or 19:00), not the story's")
    r = sub.add_parser("recap", help="a story's recap (branch map, logline, cast, top voters)")
    r.add_argument("id", type=int, metavar="ID")
    r.add_argument("--png", type=Path, metavar="FILE", help="write the recap as a PNG to post")
    r.add_argument("--size", choices=("1080x1920", "1920x1080"), default="1080x1920",
                   help="with --png: portrait 1080x1920 (default) or landscape 1920x1080")


def to_request(args: argparse.Namespace) -> protocol.Request | None:
    if args.command == "session" and (args.chapters or args.since is not None):
        return protocol.Chapters(id=args.id, since=args.since)
    if args.command == "recap":
        if args.png is not None:
            return protocol.RecapPng(id=args.id, size=args.size)
        return protocol.Recap(id=args.id)
    return None


def write_result(args: argparse.Namespace, result: Any, out: TextIO, err: TextIO) -> bool:
    """Print or write what these commands answer; False when it is not one of theirs."""
    if args.command == "session" and isinstance(result, dict) and "text" in result:
        for note in result.get("notes") or ():
            err.write(f"storyctl: note: {note}\n")
        out.write(result["text"] or "")
        return True
    if args.command == "recap" and args.png is not None and isinstance(result, dict):
        data = base64.b64decode(result["png"])
        try:
            args.png.write_bytes(data)
        except OSError as exc:
            raise ControlError(f"cannot write {args.png}: {exc.strerror}") from None
        out.write(f"wrote {args.png} ({result['width']}x{result['height']}, "
                  f"{len(data)} bytes)\n")
        return True
    if args.command == "recap" and isinstance(result, dict):
        out.write(format_recap(result))
        return True
    return False


def format_recap(v: dict[str, Any]) -> str:
    keys = "ABCDEF"
    lines = [f"{v.get('title', '')}", f"  {v.get('logline', '')}", ""]
    for n in v.get("nodes") or ():
        chosen = n.get("chosen")
        share = n.get("share")
        took = "" if chosen is None else (
            f"  → {keys[chosen] if chosen < 6 else chosen + 1}"
            + ("" if share is None else f" ({round(share * 100)}%)"))
        lines.append(f"  {n['number']:>3}  {n.get('title', '')}{took}")
    cast = ", ".join(c["name"] + (" (cameo)" if c.get("cameo") else "")
                     for c in v.get("cast") or ())
    if cast:
        lines += ["", f"Starring: {cast}"]
    voters = " · ".join(f"{x['name']} {x['ballots']}" for x in v.get("voters") or ())
    if voters:
        lines.append(f"Top voters: {voters}")
    return "\n".join(lines) + "\n"
