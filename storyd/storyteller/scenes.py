"""What goes into a chapter of the offline storyteller: beat groups with priorities.

A beat group is one or more sentences that belong together (a discovery and the friend's
answer to it); `fit` keeps groups by priority until the chapter has its length, then
puts them back in story order. Priority 0 is always kept: the restated choice, the hook
that sets up the next choices, and in a closing chapter the decisive moment and the goal.

* **First chapter**: the hero in full, the friend, the inciting incident, the place.
* **Middle chapters**: the choice, what it led to, the stage of the arc (the theme's own line
  when a stage begins; the antagonist introduced at the complication, the friend's secret or
  the antagonist's motive at the turn), the obstacle by its kind, the antagonist's moves,
  the friend's and the hero's words, the place, and a hook built from two of the offered
  choices ("Pip wanted to go on to the Glass Tower, but something at the Ravenhold did not
  add up").
* **Closing chapter**: follows from the last choice (see `en_ends`).
"""

from __future__ import annotations

from collections.abc import Callable

from storyd.storyteller import de_turns, en_turns
from storyd.storyteller.choices import obstacle_kind
from storyd.storyteller.plot import Plot
from storyd.storyteller.turns import turn_event

Line = tuple[str, str]                  # (sentence, speaker or "")
Beat = tuple[int, list[Line]]           # (priority, lines)
Fill = Callable[[str], str]
Quote = Callable[[str, str, str], Line]  # (line template, speaker, how) → sentence


_SORT = {"follow": "place", "go": "place", "search": "place", "ask": "people",
         "ask_item": "people", "confront": "people", "talk": "people", "bargain": "people",
         "spy": "people"}


def hook(p: Plot, s: dict[str, str], offered: list[tuple[str, str]]) -> str:
    """The last line: what pulls the hero towards two of the offered choices (of two
    different sorts: a road and a person, not two roads)."""
    L = p.L
    kinds: list[str] = []
    for k, _ in offered:
        key = obstacle_kind(p, k)
        if key in L.PULL and all(_SORT.get(k, "deed") != _SORT.get(c.split(":")[0], "deed")
                                 for c in kinds):
            kinds.append(key)
    pulls = [" ".join(L.PULL[k][(p.n + p.key + sum(map(ord, k))) % len(L.PULL[k])]
                      .format(**s).split()) for k in kinds]
    if len(pulls) >= 2:
        form, a, b = p.pick("hook", L.HOOK), pulls[0], pulls[1]
        for name, g in ((s["friend"], p.friend.g), (s["foe"], p.foe.g)):
            if a.startswith(name + " ") and b.startswith(name + " "):   # "…, but she …"
                b = L.pronouns(g, name)["pron"] + b[len(name):]
    elif pulls:
        form, a, b = p.pick("hook1", L.HOOK_ONE), pulls[0], ""
    else:
        form, a, b = p.pick("hook0", L.HOOK_NONE), "", ""
    text = form.format(**(s | {"A": "\x00", "B": "\x01"}))
    text = text.replace("\x00", a[:1].upper() + a[1:] if text.startswith("\x00") else a)
    text = text.replace("\x01", b[:1].upper() + b[1:] if ": \x01" in text else b)
    return text[:1].upper() + text[1:]


def friend_intros(p: Plot) -> tuple[str, ...]:
    """How the friend comes in; not "her friend, and her friend" when the outline's
    relation is all we know of them."""
    rel = p.L.relation(p.outline.friend_rel, p.hero.g) if p.outline.friend_rel else ""
    if rel and rel.casefold() == p.friend.desc.casefold():
        return tuple(t for t in p.E.FRIEND_INTRO if "{rel}" not in t)
    return tuple(p.E.FRIEND_INTRO)


def first_beats(p: Plot, fill: Fill, quote: Quote) -> list[Beat]:
    """The hero in full, the friend, the inciting incident (which decides the choices) and,
    if there is room, the place, the antagonist's name and the friend's first words."""
    E = p.E
    k = p.n - 1   # 0, unless a story starts again with nothing remembered
    intro = p.pick_k("open1", E.OPEN_FIRST, k)
    incite = p.pick_k("incite", E.INCITE[p.incident], k)
    fintro = p.pick_k("fintro", friend_intros(p), k)

    def size(*parts: str) -> int:
        return len(" ".join(fill(t) for t in parts).split())
    room = p.req.words * 1.15
    # a short chapter: the people without their descriptions (they come later)
    if size(intro, fintro, incite) > room:
        incite = incite.replace(", {foe_desc},", "").replace(", {foe_desc}.", ".")
    if size(intro, fintro, incite) > room:
        intro = intro.replace(", {hero_desc},", "")
    beats: list[Beat] = [(0, [(fill(intro), "")]),
                         (0 if size(intro, fintro, incite) <= room else 1, [(fill(fintro), "")]),
                         (0, [(fill(incite), "")])]
    place = E.FIRST_PLACE if p.here.note else E.FIRST_PLACE_PLAIN   # already there
    beats.append((2, [(fill(p.pick_k("place1", place, k)), "")]))
    if p.incident not in ("foe", "clue"):
        beats.append((4, [(fill(p.pick_k("rumour", E.FOE_RUMOUR, k)), "")]))
    beats.append((4, [quote(p.pick("says", p.T.FRIEND_SAYS, once=True), "friend", "")]))
    return beats


def must_find(p: Plot) -> bool:
    """True when the key item has to turn up in this chapter (from chapter 4 on)."""
    return not p.item_found and p.n >= 4 and not p.req.closing


def introduces(p: Plot) -> bool:
    """True when this chapter brings in the antagonist, the obstacle or the key item (then
    that, not a hook, ends the chapter if it must be short)."""
    return p.n > 1 and (p.n >= p.foe_at and not p.foe.known or p.threat_new
                        or must_find(p))


def middle_beats(p: Plot, fill: Fill, quote: Quote, kind: str, after: list[Line],
                 opener: str) -> list[Beat]:
    _L, bank = p.L, p.bank
    beats: list[Beat] = []
    if opener:
        beats.append((0, [(opener, "")]))
    if after:   # what the choice led to is part of it
        beats.append((0, after))
    # what is new in this chapter: the antagonist or the obstacle comes in, the key item turns
    # up, a stage of the arc begins; the first of these is always told, the rest if there is
    # room (the item and the theme's stage line wait for the next chapter otherwise)
    news = 0
    named = " ".join(t for _, g in beats for t, _ in g)
    if p.n >= p.foe_at and not p.foe.known and p.foe.short not in named:
        intro = p.pick_k("foe_intro", p.T.FOE_INTRO, 0)
        told = sum(len(t.split()) for _, g in beats for t, _ in g)
        if told + len(fill(intro).split()) > p.req.words * 1.15:   # no room: the name only
            intro = intro.replace(", {foe_desc},", "").replace(": {foe_desc}.", ".")
        beats.append((0, [(fill(intro), "")]))
        news += 1
    threat_kind = p.obstacle.kind
    if p.threat_new:   # then the obstacle (the next one, once one is dealt with)
        faced = sum(k in ("face", "use") for k in p.past)
        beats.append((0, [(fill(p.pick_k("tintro", p.T.THREAT_INTRO[threat_kind], faced)), "")]))
        news += 1
    find = fill(p.pick_k("find", p.T.AFTER["find"], 0))
    if must_find(p) and all(t != find for t, _ in after):
        beats.append((0 if not news else 1, [(find, "")]))   # before the climax
        news += 1
    if p.stage != "setup":
        idx = ("complication", "turn", "climax", "endgame").index(p.stage)
        theme_line = (bank.beats_de if p.lang == "de" else bank.beats_en)[idx]
        stage_line = fill(p.pick_k(p.stage, p.T.STAGE[p.stage], p.stage_step, once=True))
        told = sum(len(t.split()) for prio, g in beats if prio == 0 for t, _ in g)
        fits = told + len(theme_line.split()) <= p.req.words * 1.15   # a long consequence
        # the one event that changes the situation (turns.py) comes first; the theme's line
        # for the stage is colour after it, the stock line about the stage only fills a
        # chapter that is still short
        # (a short chapter with no room for the event keeps the theme's line first)
        event = turn_event(p, kind, fill, " ".join(t for _, g in beats for t, _ in g))
        first = 0 if event and told + len(event.split()) <= p.req.words else 1
        if event:
            beats.append((first, [(event, "")]))
        if p.stage_start:                                 # leaves the stage line for later
            beats.append((2 if event and not first else 0 if not news and fits else 1,
                          [(theme_line, "")]))
        beats.append((6 if event else 1 if p.stage_start else 2, [(stage_line, "")]))
    if p.threat_known and not p.obstacle_done and kind not in ("face", "use"):
        beats.append((3, [(fill(p.pick("threat", p.T.THREAT[threat_kind], once=True)), "")]))
    if p.foe.known or p.n > p.foe_at:
        beats.append((3, [(fill(p.pick("foe", p.T.RIVAL if bank.gentle else p.T.FOE,
                                       once=True)), "")]))
    beats.append((2, [quote(p.pick("says", p.T.FRIEND_SAYS, once=True), "friend", "")]))
    if p.moved and kind not in ("follow", "go"):
        arrive = p.T.ARRIVE if p.here.note else p.T.ARRIVE_PLAIN
        beats.append((3, [(fill(p.pick("arrive", arrive, once=True)), "")]))
    sights = bank.sights_de if p.lang == "de" else bank.sights_en
    beats.append((4, [(p.pick("sight", sights, once=True), "")]))
    beats.append((4, [quote(p.pick("hsays", p.T.HERO_SAYS, once=True), "hero", "")]))
    if p.item_found:
        beats.append((5, [(fill(p.pick("item", p.T.ITEM, once=True)), "")]))
    if p.dead:
        beats.append((5, [(fill(p.T.MOURN[0]), "")]))
    beats.append((5, [(fill(p.pick("mood", p.T.MOOD, once=True)), "")]))
    return beats


def long_form(p: Plot, fill: Fill, quote: Quote, past: list[str]) -> list[Beat]:
    """More of the scene for long chapters: the place, the mood, an exchange between the
    friend and the hero, who they are, and the path so far. Each pool gives `p.per` lines
    a chapter (see `Plot.pick`); a used-up pool gives none, so a long story's late chapters
    grow shorter rather than repeat themselves."""
    bank = p.bank
    sights = bank.sights_de if p.lang == "de" else bank.sights_en
    beats: list[Beat] = []
    for j in range(1, p.per):
        beats += [(6 + j, [(p.pick("sight", sights, j, once=True), "")]),
                  (6 + j, [(fill(p.pick("mood", p.T.MOOD, j, once=True)), "")])]
    beats.append((8, [quote(p.pick("says", p.T.FRIEND_SAYS, 1, once=True), "friend", ""),
                      quote(p.pick("hsays", p.T.HERO_SAYS, 1, once=True), "hero", "")]))
    if past and past[-1] in p.T.CALLBACK and past[-1] not in past[:-1]:
        beats.append((7, [(fill(p.T.CALLBACK[past[-1]]), "")]))
    for j in range(2 if p.n <= 1 else 1):   # who the people are, early in the story
        beats.append((6 + j, [(fill(p.pick("back", p.T.BACKSTORY, j, once=True)), "")]))
    beats.append((9, [(fill(p.pick("foe", p.T.RIVAL if bank.gentle else p.T.FOE, 1,
                                   once=True)), "")]))
    M = de_turns if p.lang == "de" else en_turns
    for k in _LATE.get(p.n, (p.n - 1,) if p.n > 8 else ()) if p.req.words > 120 else ():
        if p.foe.known:   # late chapters: the pools above run dry
            pool = M.LONG_RIVAL if bank.gentle else M.LONG_FOE
            beats.append((6, [(fill(p.pick_k("long_foe", pool, k, once=True)), "")]))
        beats.append((6, [(fill(p.pick_k("long_friend", M.LONG_FRIEND, k, once=True)), "")]))
    return beats


# the entries of turns' LONG_FOE / LONG_FRIEND a long chapter n takes: more where the other
# pools have run dry
_LATE = {4: (0,), 5: (1,), 6: (2,), 7: (3, 4), 8: (5, 6)}


def closing_beats(p: Plot, fill: Fill, kind: str, opener: str, past: list[str],
                  result: list[Line], arrival: str = "") -> list[Beat]:
    """The end, following from the last choice (`kind`, what came of a theme action in
    `result`) and the path (`past`); `arrival` takes them to the goal's own place first."""
    E, bank = p.E, p.bank
    beats: list[Beat] = []
    if opener:
        beats.append((0, [(opener, "")]))
    if result:   # how the obstacle took the last choice is told; a theme action's result if
        beats.append((0 if kind in ("avoid", "face", "use") else 1, result))   # there is room
    end_kind = kind if kind in E.END else {"deed": "generic", "ask_item": "ask"}.get(kind, "free")
    pool = E.END_GENTLE.get(end_kind, E.END[end_kind]) if bank.gentle else E.END[end_kind]
    if bank.gentle and end_kind in ("confront", "bargain"):
        pool = E.END_GENTLE[end_kind]
    beats.append((0, [(fill(p.pick_k("end", pool, 0)), "")]))
    if arrival:   # then on to the goal's place, where the antagonist's fate and the goal are
        beats.append((0, [(arrival, "")]))   # told
    ends = E.OBSTACLE_END_GENTLE if bank.gentle else E.OBSTACLE_END
    if kind not in ("avoid", "face", "use") and not p.obstacle_done and p.threat_known:
        line = ends[p.obstacle.kind][0 if p.item_found else 1]
        beats.append((2, [(fill(line), "")]))
    if bank.gentle:
        beats.append((1, [(fill(p.pick_k("rival", E.RIVAL_END, 0)), "")]))
    else:
        fates = E.FATE.get(kind, E.FATE[""])
        own = bank.fate_de if p.lang == "de" else bank.fate_en
        fate = own if own and kind in ("use", "action", "ask", "rest", "") else \
            p.pick_k("fate", fates, 0)
        beats.append((1, [(fill(fate), "")]))
    told = " ".join(t for _, g in beats for t, _ in g)
    if p.item_found and p.item_name.split()[-1] not in told:   # the item's thread ends too
        beats.append((1, [(fill(p.pick_k("item_end", E.ITEM_END, 0)), "")]))
    goal = E.GOAL if p.goal_done else E.GOAL_INF
    beats.append((0, [(fill(p.pick_k("goal", goal, 0)), "")]))
    trusted = sum(k in ("ask", "ask_item", "rest", "follow") for k in (*past, kind))
    friend = E.FRIEND_TRUSTED if trusted else E.FRIEND_DOUBTED
    beats.append((1, [(fill(p.pick_k("cfriend", friend, 0)), "")]))
    beats.append((3, [((bank.beats_de if p.lang == "de" else bank.beats_en)[4], "")]))
    beats.append((2, [(fill(p.pick_k("final", E.FINAL, len(past))), "")]))
    sights = bank.sights_de if p.lang == "de" else bank.sights_en
    beats += [(5 + j, [(p.pick_k("sight", sights, p.n + j, once=True), "")]) for j in range(3)]
    return beats


def fit(beats: list[Beat], target: int, previous: str) -> list[Beat]:
    """Groups by priority while the count stays within ±15% of target (priority 0 always),
    then back in story order. A sentence of the previous chapter is never used again."""
    lo, hi = round(target * 0.85), int(target * 1.15)
    old = set(previous.split(". "))
    order = sorted(range(len(beats)), key=lambda i: (beats[i][0], i))
    chosen: set[int] = set()
    total = 0
    seen: set[str] = set()
    for i in order:
        group = beats[i][1]
        if any(t in seen or not t for t, _ in group):
            continue
        if any(t.rstrip(".") in old for t, _ in group) and beats[i][0] > 0:
            continue
        w = sum(len(t.split()) for t, _ in group)
        if beats[i][0] == 0 or not chosen or (total + w <= hi and total < lo):
            chosen.add(i)
            total += w
            seen.update(t for t, _ in group)
    return [beats[i] for i in sorted(chosen)]
