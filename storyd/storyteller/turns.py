"""The one event of a middle chapter that changes the situation and follows from before.

A middle chapter used to be the choice, its result and stock lines about the stage of the
arc ("Lena began to see that nothing about this would be easy."). Now each middle chapter
gets one event a reader can retell, by the stage it is in:

* **cost**: what the choice this chapter shows cost them (a confrontation costs their
  cover, a search costs the day that the antagonist used, a shelter costs the night);
* **find**: a discovery tied to the goal and the next place ("… the first real sign that
  she could still find the missing watchmaker, and it pointed to the Archive Cellar");
* **friend**: the companion acting on their own (goes ahead alone, brings news);
* **move**: the antagonist's visible move (takes the road ahead, strikes in the night).

Complication: cost, then friend; turn: find, then friend; climax: move, then cost;
endgame: friend, then cost. A stage of two chapters takes them in turn; a pool used up in
a story falls through to the next kind, so no event is told twice.
"""

from __future__ import annotations

from collections.abc import Callable

from storyd.storyteller import de_turns, en_turns
from storyd.storyteller.plot import Plot, stage

ORDER = {"complication": ("cost", "friend"), "turn": ("find", "friend"),
         "climax": ("move", "cost"), "endgame": ("friend", "cost")}
# the choice a chapter shows → whose cost it tells
GROUP = {"confront": "fight", "talk": "talk", "bargain": "talk", "search": "search",
         "follow": "road", "go": "road", "ask": "still", "ask_item": "still", "rest": "still",
         "spy": "spy", "avoid": "hide", "face": "through", "use": "through",
         "action": "deed", "deed": "deed", "generic": "deed", "free": "deed"}


def _order(st: str, step: int) -> tuple[str, ...]:
    kinds = ORDER.get(st, ())
    if not kinds:
        return ()
    i = step % len(kinds)
    return kinds[i:] + kinds[:i]


def _first_of(p: Plot, n: int) -> int:
    """The first chapter of chapter n's stage."""
    st = stage(n, p.arc, False)
    return next(m for m in range(1, n + 1) if stage(m, p.arc, False) == st)


def used_before(p: Plot, what: str) -> int:
    """How many earlier middle chapters led with `what` (a cost counts per group)."""
    count = 0
    for m in range(2, p.n):
        kinds = _order(stage(m, p.arc, False), m - _first_of(p, m))
        if not kinds:
            continue
        if what.startswith("cost:"):
            shown = p.past[m - 2] if 0 <= m - 2 < len(p.past) else ""
            count += kinds[0] == "cost" and "cost:" + GROUP.get(shown, "deed") == what
        else:
            count += kinds[0] == what
    return count


def turn_event(p: Plot, kind: str, fill: Callable[[str], str], named: str) -> str:
    """This chapter's event, or "" (a setup chapter, or every pool used up)."""
    M = de_turns if p.lang == "de" else en_turns
    foe_seen = p.foe.known or bool(p.foe.short) and p.foe.short in named
    for what in _order(p.stage, p.stage_step):
        key = what
        if what == "cost":
            key = "cost:" + GROUP.get(kind, "deed")
            pool = M.COST.get(GROUP.get(kind, "deed"), ())
        elif what == "move":
            pool = M.EVENTS["move_gentle" if p.bank.gentle else "move"]
        else:
            pool = M.EVENTS[what]
        pool = tuple(t for t in pool if foe_seen or "{foe" not in t.casefold())
        line = p.pick_k("turn:" + key, pool, used_before(p, key), once=True)
        if line:
            return fill(line)
    return ""
