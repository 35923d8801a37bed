"""Choices of the offline storyteller: what it offers, and recognising what was chosen.

Our own choices start with fixed words per kind ("Follow …", "Search …" / "Folge …",
"Durchsuche …"), so the next chapter can tell what was chosen and name what it involved (the
place, the friend, the item). A model's choice is quoted instead (kind "generic"/"free").
"""

from __future__ import annotations

import re

from storyd.core.memory import name_key
from storyd.storyteller.plot import Plot, Where

# which kinds a stage offers first
_PREFER = {
    "setup": ("follow", "search", "ask", "action", "go", "spy", "hide", "rest"),
    "complication": ("search", "follow", "spy", "ask_item", "ask", "go", "action", "hide", "rest",
                     "confront", "talk"),
    "turn": ("spy", "confront", "talk", "ask_item", "use", "follow", "action", "go", "hide",
             "search", "rest"),
    "climax": ("confront", "talk", "use", "go", "follow", "action", "hide", "spy", "rest",
               "search"),
    "endgame": ("confront", "talk", "use", "go", "follow", "action", "rest", "spy", "search"),
}


def _core(name: str) -> str:
    key = name_key(name)
    first, _, rest = key.partition(" ")
    return rest if first in ("der", "die", "das", "the") and rest else key


def recognise(p: Plot, win: str) -> tuple[str, str, Where | None]:
    """(kind, past-tense phrase for a theme action, the place it leads to or None)."""
    low = " ".join(win.casefold().split()) + " "
    key = f" {name_key(win)} "
    for action in p.bank.actions:
        if name_key(action.de if p.lang == "de" else action.en) == name_key(win):
            return "action", action.de_past if p.lang == "de" else action.en_past, None
    kind = next((k for k, words in p.L.KIND_WORDS if low.startswith(words)), "")
    if kind == "ask_item" and f" {_core(p.item_name)} " not in key:
        kind = "ask"
    if kind in ("follow", "go"):
        for w in (*p.route, p.here):
            if f" {_core(w.name)} " in key or f" {name_key(w.forms['to'])} " in key:
                return kind, "", w
        kind = ""
    if kind in ("use",) and not p.item_found:
        kind = ""
    if kind:
        return kind, "", None
    words = win.split()
    if p.lang == "en" and words and words[0].casefold() in _verbs():
        return "generic", "", None
    return ("generic" if p.lang == "de" else "free"), "", None


def _verbs() -> frozenset[str]:
    from storyd.storyteller.story import _EN_VERBS
    return _EN_VERBS


def choices_for(p: Plot, s: dict[str, str], n: int, win: str) -> tuple[str, ...]:
    """Exactly n distinct choices, none already offered or taken, kinds fitting the stage."""
    req = p.req
    avoid = {name_key(c) for c in (*req.avoid_choices, *req.path, win)}
    gentle = p.bank.gentle
    cands: list[str] = []
    for kind in _PREFER[p.stage]:
        if kind == "action":
            acts = list(p.bank.actions)
            p.crng.shuffle(acts)
            cands += [a.de if p.lang == "de" else a.en for a in acts[:2]]
            continue
        if (kind == "confront" and gentle) or (kind == "talk" and not gentle):
            continue
        if kind == "use" and (not p.item_found or p.item_used and p.stage != "climax"):
            continue
        if kind == "ask_item" and not p.item_found:
            continue
        cands.append(p.L.CHOICES[kind].format(**s))
    # more roads: every place of the route this chapter is not at
    here = name_key(p.here.name)
    for w in p.route:
        if name_key(w.name) != here:
            cands.append(p.L.CHOICES["go"].format(**(s | {"to": w.forms["to"],
                                                          "dest": w.forms[""]})))
            cands.append(p.L.CHOICES["follow"].format(**(s | {"to": w.forms["to"]})))
    cands += [a.de if p.lang == "de" else a.en for a in p.bank.actions]
    picked: list[str] = []
    keys: set[str] = set()
    roads: set[str] = set()    # one way to each place: not "Follow X to Y" beside "Head for Y"
    places = [(w, {name_key(w.forms["to"]), _core(w.name)}) for w in p.route]
    for cand in cands:
        cand = cand[:1].upper() + cand[1:]
        k = name_key(cand)
        if k in avoid or k in keys or len(cand) > 80:
            continue
        road = next((name_key(w.name) for w, marks in places
                     if any(f" {m} " in f" {k} " for m in marks)), "")
        if road and k.split()[0] in ("follow", "head", "folge", "geh"):
            if road in roads:
                continue
            roads.add(road)
        picked.append(cand)
        keys.add(k)
        if len(picked) == n:
            break
    extra = 1
    while len(picked) < n:   # an avoid list that swallowed every phrase
        cand = (f"Versuch einen anderen Weg, Plan {extra}" if p.lang == "de"
                else f"Try another way, plan {extra}")
        if name_key(cand) not in avoid and name_key(cand) not in keys:
            picked.append(cand)
            keys.add(name_key(cand))
        extra += 1
    # the order on screen varies; the first option is not always the same kind
    p.crng.shuffle(picked)
    return tuple(picked)


_LABEL = re.compile(r"^\s*(?:(?:option|choice|wahl|chapter|kapitel)\s*[a-f0-9]+\s*[:.)-]\s*)+",
                    re.IGNORECASE)
_ASIDE = re.compile(r"\s*[(\[][^)\]]{0,80}[)\]]")


def clean_choice(text: str) -> str:
    """A model's choice as story words: no "(chapter 1, option 2)" asides, no "Option 2:"
    labels, no closing punctuation — what a chapter may restate."""
    plain = _ASIDE.sub("", _LABEL.sub("", " ".join(text.split())))
    return " ".join(plain.split()).rstrip(" .!?;:,") or " ".join(text.split()).rstrip(" .!?;:")
