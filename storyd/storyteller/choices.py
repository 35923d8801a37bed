"""Choices of the offline storyteller: what it offers, and recognising what was chosen.

Our own choices start with fixed words per kind ("Follow …", "Hide from …" / "Folge …",
"Versteck dich …"), so the next chapter can tell what was chosen and name what it involved
(the place, the friend, the item). A model's choice is restated instead (kind "generic" /
"free"). The obstacle's choices depend on what it is: a creature is hidden from, lured away
or driven off; a hazard sheltered from or pushed through; a person slipped past, stood up to
or shown the item; a problem is solved.

A set of choices mixes three sorts — people (ask, confront, spy, talk), places (go, follow,
search) and deeds (the obstacle, the item, the theme's actions) — in proportions that suit
the stage, drawn per chapter, so no two chapters (and no two first chapters) offer the same
shapes. A kind is not offered right after it was taken, nor once its wordings are used up.
"""

from __future__ import annotations

import re

from storyd.core.memory import name_key
from storyd.storyteller.plot import Plot, Where

_SORTS = {"people": ("ask", "ask_item", "confront", "talk", "bargain", "spy"),
          "place": ("go", "follow", "search"),
          "deed": ("avoid", "face", "use", "action", "rest")}
# what each stage asks for, in order; a kind missing here is not offered at that stage
_STAGE_SORTS = {
    "setup": ("place", "people", "deed"),
    "complication": ("place", "people", "deed"),
    "turn": ("people", "deed", "place"),
    "climax": ("deed", "people", "deed", "place"),
    "endgame": ("deed", "people", "place", "deed"),
}
_LATE = frozenset({"confront", "bargain", "talk", "use"})     # not before the complication
_DECISIVE = ("confront", "bargain", "talk", "use", "face", "action")


def _core(name: str) -> str:
    key = name_key(name)
    first, _, rest = key.partition(" ")
    return rest if first in ("der", "die", "das", "the") and rest else key


def obstacle_kind(p: Plot, kind: str) -> str:
    """"avoid" → "avoid:creature": the obstacle's own wording of a kind."""
    return f"{kind}:{p.obstacle.kind}" if kind in ("avoid", "face", "use") else kind


def recognise(p: Plot, win: str) -> tuple[str, str, Where | None]:
    """(kind, past-tense phrase for a theme action, the place it leads to or None)."""
    key = f" {name_key(win)} "
    for action in p.bank.actions:
        if name_key(action.de if p.lang == "de" else action.en) == name_key(win):
            return "action", action.de_past if p.lang == "de" else action.en_past, None
    kind = p.kind_of(win)
    if kind == "ask_item" and f" {_core(p.item_name)} " not in key:
        kind = "ask"
    if kind in ("follow", "go"):
        for w in (*p.route, p.here):
            if f" {_core(w.name)} " in key or f" {name_key(w.forms['to'])} " in key:
                return kind, "", w
        kind = ""
    if kind in ("avoid", "face", "use") and f"{kind}:{p.obstacle.kind}" not in p.L.KIND_OPEN:
        kind = ""
    if kind == "use" and not p.item_found:
        kind = ""
    if kind and not _names_its_object(p, kind, key):
        kind = ""   # "Sneak past the night watchman" is not our "slip past the witness"
    if kind:
        return kind, "", None
    words = win.split()
    if p.lang == "en" and words and words[0].casefold() in EN_VERBS:
        return "generic", "", None
    return ("generic" if p.lang == "de" else "free"), "", None


def _names_its_object(p: Plot, kind: str, key: str) -> bool:
    """True when a choice that starts like one of ours names whom or what that kind of ours
    acts on (the friend, the antagonist, the obstacle, the place searched); a model's choice
    about someone else is told as its own deed (deeds.py)."""
    own_face = p.obstacle.de_face if p.lang == "de" else p.obstacle.en_face
    if kind == "face" and own_face and f" {name_key(own_face)} " == key:
        return True   # the obstacle's own way through ("Bring den Strom zurück")
    whom = {"ask": p.friend, "ask_item": p.friend, "rest": p.friend, "confront": p.foe,
            "talk": p.foe, "bargain": p.foe, "spy": p.foe}.get(kind)
    if whom is not None:
        names = {w for n in (whom.name, whom.short) for w in name_key(n).split() if len(w) > 2}
    elif kind in ("avoid", "face", "use"):
        names = {name_key(p.threat[""]).split()[-1]} if p.threat.get("") else set()
    elif kind == "search":
        names = {name_key(p.here.name).split()[-1]} if p.here.name else set()
    else:
        return True
    return not names or any(f" {w} " in key or f" {w}s " in key for w in names)


# English verbs a model's choice may start with ("Sail around the reef"): restated as "chose to"
EN_VERBS = frozenset(
    "go run open enter climb fight flee talk help investigate explore return find look call "
    "trust attack defend wait listen read steal give try jump swim cross check question follow "
    "examine accept refuse warn tell chase escape protect stay leave turn pick grab break search "
    "light lock dive keep save free rescue send visit join let make get bring carry push ask "
    "pull sneak hunt track fix build buy sell play dance kiss hug forgive confess hide use rest "
    "head spy confront set sing study sharpen bargain cast hack compare sail".split())


def _allowed(p: Plot, kind: str, taken: str, past: list[str]) -> bool:
    gentle, early = p.bank.gentle, p.stage == "setup"
    met_foe = p.n >= p.foe_at or p.foe.known
    met_threat = p.threat_known or p.threat_new
    if kind == taken or past.count(kind) >= len(p.L.KIND_OPEN.get(obstacle_kind(p, kind), ())):
        return False
    if kind in _LATE and early or kind in ("confront", "bargain") and gentle:
        return False
    if kind == "talk" and not gentle:
        return False
    if kind in ("confront", "spy", "talk", "bargain") and not met_foe:
        return False
    if kind in ("avoid", "face", "use") and (
            not met_threat or p.obstacle_done or taken in ("face", "use")
            or obstacle_kind(p, kind) not in p.L.CHOICES):
        return False
    if kind in ("use", "ask_item"):
        return p.item_found and (kind != "use" or not p.item_used or p.stage == "climax")
    return True


def _texts(p: Plot, s: dict[str, str], kind: str) -> list[str]:
    """The choice texts of a kind here: one per road for a move, the actions in story order."""
    if kind == "action":
        acts = list(p.bank.actions)
        p.crng.shuffle(acts)
        return [a.de if p.lang == "de" else a.en for a in acts]
    if kind in ("go", "follow"):
        here = name_key(p.here.name)
        roads = [w for w in (p.dest(), *p.route) if name_key(w.name) != here]
        return [p.L.CHOICES[kind].format(**(s | {"to": w.forms["to"], "dest": w.forms[""]}))
                for w in roads]
    if kind == "face":
        return [s["face"]]
    return [p.L.CHOICES[obstacle_kind(p, kind)].format(**s)]


def choices_for(p: Plot, s: dict[str, str], n: int, taken: str) -> list[tuple[str, str]]:
    """Exactly n distinct (kind, text) choices, none offered or taken before, kinds fitting
    the stage and the story so far (see the module docstring)."""
    req = p.req
    avoid = {name_key(c) for c in (*req.avoid_choices, *req.path)}
    past = p.past + ([taken] if taken else [])
    rng = p.crng
    if p.stage == "setup" and p.n <= 1:   # three of the four the incident suggests
        wanted = list(p.E.INCITE_CHOICES[p.incident])
        rng.shuffle(wanted)
        wanted = wanted[:3]
    else:
        wanted = []
        for sort in _STAGE_SORTS[p.stage]:
            kinds = [k for k in _SORTS[sort] if k not in wanted]
            rng.shuffle(kinds)
            if p.stage in ("climax", "endgame"):
                kinds.sort(key=lambda k: k not in _DECISIVE)
            wanted += kinds[:1]
    rest = [k for sort in _STAGE_SORTS[p.stage] for k in _SORTS[sort] if k not in wanted]
    rng.shuffle(rest)
    picked: list[tuple[str, str]] = []
    keys: set[str] = set()

    def offer(kind: str, many: bool) -> None:
        for text in _texts(p, s, kind):
            text = text[:1].upper() + text[1:]
            k = name_key(text)
            moves = sum(c in ("go", "follow") for c, _ in picked)
            if k in avoid or k in keys or len(text) > 80 or (
                    kind in ("go", "follow") and moves >= 2):
                continue
            picked.append((kind, text))
            keys.add(k)
            if not many or len(picked) == n:
                return
    for kind in (*wanted, *rest):
        if len(picked) < n and _allowed(p, kind, taken, past):
            offer(kind, many=False)
    for kind in ("action", "go", "follow"):   # more of the theme's deeds and roads
        if len(picked) < n:
            offer(kind, many=True)
    extra = 1
    while len(picked) < n:   # an avoid list that swallowed every phrase
        cand = (f"Versuch einen anderen Weg, Plan {extra}" if p.lang == "de"
                else f"Try another way, plan {extra}")
        if name_key(cand) not in avoid and name_key(cand) not in keys:
            picked.append(("free", cand))
            keys.add(name_key(cand))
        extra += 1
    rng.shuffle(picked)   # the order on screen varies; the first option is not always one kind
    return picked


_LABEL = re.compile(r"^\s*(?:(?:option|choice|wahl|chapter|kapitel)\s*[a-f0-9]+\s*[:.)-]\s*)+",
                    re.IGNORECASE)
_ASIDE = re.compile(r"\s*[(\[][^)\]]{0,80}[)\]]")


def clean_choice(text: str) -> str:
    """A model's choice as story words: no "(chapter 1, option 2)" asides, no "Option 2:"
    labels, no closing punctuation — what a chapter may restate."""
    plain = _ASIDE.sub("", _LABEL.sub("", " ".join(text.split())))
    return " ".join(plain.split()).rstrip(" .!?;:,") or " ".join(text.split()).rstrip(" .!?;:")
