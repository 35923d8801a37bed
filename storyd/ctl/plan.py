"""storyctl and the story plan: `plan` (the running story's plan, readable before chapter 1
airs), `extend N` (lengthen the running story), and the plan and recap as `session ID` shows
them."""

from __future__ import annotations

import argparse
from typing import Any

from storyd.control import protocol


def add_commands(sub: Any) -> None:
    sub.add_parser("plan", help="the running story's plan: protagonist, cast, places, central "
                                "question, one beat per chapter, endings")
    s = sub.add_parser("extend", help="lengthen the running story to N chapters (the beats "
                                      "not aired yet are re-planned)")
    s.add_argument("chapters", type=int, metavar="N")


def to_request(args: argparse.Namespace) -> protocol.Request | None:
    if args.command == "plan":
        return protocol.Plan()
    if args.command == "extend":
        return protocol.Extend(chapters=args.chapters)
    return None


def plan_lines(plan: dict[str, Any], aired: int = 0) -> list[str]:
    """The plan as lines of text (beats that aired are marked)."""
    hero = plan.get("protagonist") or {}
    lines = [f"plan: {plan.get('title', '?')}" + (f" (by {plan['source']})"
                                                  if plan.get("source") else ""),
             f"  premise: {plan.get('premise', '')}",
             f"  protagonist: {hero.get('name', '?')}"
             + (f" — wants {hero['want']}" if hero.get("want") else "")
             + (f"; flaw: {hero['flaw']}" if hero.get("flaw") else "")]
    for c in plan.get("cast") or []:
        details = ", ".join(d for d in (c.get("role"), c.get("trait"),
                                        f"wants {c['want']}" if c.get("want") else "") if d)
        lines.append(f"  cast: {c.get('name', '?')}" + (f" ({details})" if details else ""))
    places = "; ".join(p.get("name", "?") + (f" ({p['note']})" if p.get("note") else "")
                       for p in plan.get("places") or [])
    lines.append(f"  places: {places}")
    lines.append(f"  central question: {plan.get('central_question', '')}")
    for b in plan.get("beats") or []:
        mark = "*" if b.get("chapter", 0) <= aired else " "
        lines.append(f"  {mark}{b.get('chapter', '?'):>3} {b.get('kind', ''):<12} "
                     f"{b.get('summary', '')}")
    for e in plan.get("endings") or []:
        lines.append(f"  ending: {e}")
    if plan.get("repairs"):
        lines.append("  completed: " + "; ".join(plan["repairs"]))
    return lines


def recap_lines(recap: dict[str, Any]) -> list[str]:
    lines = [f"recap ({recap.get('ending', '?')} ending): {recap.get('logline', '')}"]
    lines += [f"  - {m}" for m in recap.get("moments") or []]
    return lines


def format_plan(reply: dict[str, Any]) -> str:
    """GET plan / extend: the plan, or why there is none."""
    plan = reply.get("plan")
    if reply.get("session_id") is None:
        return "no story is running\n"
    if not plan and reply.get("authored"):
        return (f"session {reply['session_id']}: “{reply['authored']}” is an authored story: "
                f"its passages are its plan ({reply.get('aired', 0)} chapter(s) aired)\n")
    if not plan:
        return f"session {reply['session_id']}: no plan yet (it is written before chapter 1)\n"
    planned = reply.get("planned_chapters") or 0
    head = (f"session {reply['session_id']}: {reply.get('aired', 0)} of "
            + (f"{planned} chapters aired" if planned else "an open-ended story aired")
            + " (* = aired)")
    return "\n".join([head, *plan_lines(plan, int(reply.get("aired") or 0))]) + "\n"
