"""The story grammar of the offline storyteller: who, where, what, and which arc stage.

Theory of operation
-------------------
The storyteller is stateless: everything comes from the `ChapterRequest`.

* **Story key** `seed - chapter_number` is the same for every chapter of a story (the
  director sends `story_seed * 1000 + n`), so the per-story decisions are stable across
  chapters: hero, goal, route of places, key item, obstacle, the inciting incident, the
  friend's secret, the antagonist's motive (a small plan of the storyteller's own), and the
  shuffled order of every template pool.
* **Cast, places, items** come from the story memory first (whoever wrote the earlier
  chapters, a model included, the same names continue), then from the outline, then from
  the theme's bank. Roles: hero/heroine, a friend (sidekick/elder), a foe (villain). A name
  is used in full once (where the person is introduced), then as `short` (first name).
* **Arc**: `max_chapters` (or 8 when 0) chapters: setup (1), complication, turning point,
  climax; past the arc an endgame that steers to the end; the closing chapter resolves the
  goal, the foe, the obstacle and the friend's thread, following the last choice.
* **Items are found before they are used**: the key item enters memory in a "find" beat; the
  "use" choice and the closing's item line need it in memory.
* **No repeats, no padding**: every pool is walked in a per-story shuffled order and each
  entry is taken once; when a pool is used up its line is left out (never "…, once again").
"""

from __future__ import annotations

import random
import re
from types import ModuleType
from typing import NamedTuple

import msgspec

from storyd.core.languages import offline_language
from storyd.core.memory import name_key
from storyd.core.model import ChapterRequest, Entity, StoryMemoryView
from storyd.core.plan import DEFAULT_CHAPTERS
from storyd.storyteller import de as offline_de
from storyd.storyteller import de_ends as offline_de_ends
from storyd.storyteller import de_lines as offline_de_lines
from storyd.storyteller import en as offline_en
from storyd.storyteller import en_ends as offline_en_ends
from storyd.storyteller import en_lines as offline_en_lines
from storyd.storyteller.bank import Bank, Obstacle, Place, Thing
from storyd.storyteller.banks import bank_for
from storyd.storyteller.cast import Casting, plan_goal
from storyd.storyteller.deeds import past_clause
from storyd.storyteller.names import genitive
from storyd.storyteller.outline import Outline, parse_outline

INCIDENTS = ("foe", "clue", "threat", "item", "friend")


class Where(NamedTuple):
    name: str              # the memory name, in the story's language
    forms: dict[str, str]  # "", "loc", "to", "acc"
    note: str
    scene: str
    g: str                 # German gender ("" in English)


def stage(n: int, arc: int, closing: bool) -> str:
    if closing:
        return "resolution"
    if n <= 1:
        return "setup"
    if n > arc:
        return "endgame"
    frac = (n - 1) / max(arc - 1, 1)
    return "complication" if frac < 0.45 else "turn" if frac < 0.7 else "climax"


def _mid(name: str) -> str:
    """A name as it reads mid-sentence: "The Grey Admiral" → "the Grey Admiral" ("{Foe}"
    at a sentence start capitalises it again)."""
    return "the" + name[3:] if name.startswith("The ") else name


class Plot:
    """Everything one chapter is made of, derived from the request (see the module doc)."""

    def __init__(self, req: ChapterRequest) -> None:
        self.req = req
        self.lang = offline_language(req.language)
        self.L: ModuleType = offline_de if self.lang == "de" else offline_en
        self.T: ModuleType = offline_de_lines if self.lang == "de" else offline_en_lines
        self.E: ModuleType = offline_de_ends if self.lang == "de" else offline_en_ends
        self.bank: Bank = bank_for(req.theme.id, self.lang)
        self.key = req.seed - req.chapter_number
        self.rng = random.Random(f"tale:{self.key}:{req.theme.id}")   # see _rng
        self.crng = random.Random(f"chapter:{req.seed}:{req.chapter_number}:{req.theme.id}")
        self.memory = req.memory or StoryMemoryView()
        self.outline = parse_outline(req.outline) if req.outline and not self._own_outline() \
            else Outline()
        self.n = req.chapter_number
        self.per = 3 if req.words > 150 else 2 if req.words > 70 else 1   # lines a pool gives
        self.arc = req.max_chapters if req.max_chapters > 0 else DEFAULT_CHAPTERS
        self.stage = stage(self.n, self.arc, req.closing)
        prev = stage(self.n - 1, self.arc, False) if self.n > 1 else ""
        self.stage_start = prev != self.stage
        first = self.n
        while first > 1 and stage(first - 1, self.arc, False) == self.stage:
            first -= 1
        self.stage_step = self.n - first          # 0 on the stage's first chapter
        self.incident = self._rng("incident").choice(INCIDENTS)
        self.past = [self.kind_of(c) for c in req.path[:-1]]   # kinds taken before the winner
        # the chapters that bring in the antagonist and the obstacle (one at a time); an
        # obstacle dealt with (faced, or the item used on it) makes way for the next one
        self.foe_at = 1 if self.incident in ("foe", "clue") else 2
        self.threat_at = 1 if self.incident == "threat" else 3 if self.foe_at == 2 else 2
        resolved = [i for i, k in enumerate(self.past) if k in ("face", "use")]
        if resolved:
            self.threat_at = resolved[-1] + 3   # choice i airs in chapter i + 2
        if self.threat_at > 1 and stage(self.threat_at, self.arc, False) != stage(
                self.threat_at - 1, self.arc, False) == "turn":
            self.threat_at += 1   # the climax begins with the climax, not a new obstacle
        self.goal_place: Where | None = None   # see _goal_place
        self._cast()
        self._places()
        self._things()

    def _own_outline(self) -> bool:
        """True when the outline is the one this storyteller wrote for this story: nothing in
        it needs reading (and "zur Ruhe bringen" is not a place)."""
        bare = msgspec.structs.replace(self.req, outline="", memory=None)
        return Plot(bare).outline_text() == " ".join(self.req.outline.split())

    def outline_text(self) -> str:
        """The outline this storyteller writes for the story: hero, goal, friend, antagonist."""
        s = self.slots() | {"hero_desc": self.hero.desc, "friend_desc": self.friend.desc,
                            "foe_desc": self.foe.desc}   # the outline is in the present
        if self.lang == "de":
            return (f"{s['hero_full']}, {s['hero_desc']}, will {s['here_loc']} {s['goal']}. "
                    f"{s['Friend_full']}, {s['friend_desc']}, hilft dabei. "
                    f"Doch {s['foe_full']}, {s['foe_desc']}, steht im Weg.")
        return (f"{s['hero_full']}, {s['hero_desc']}, must {s['goal']}, starting "
                f"{s['here_loc']}. {s['Friend_full']}, {s['friend_desc']}, comes along. "
                f"But {s['foe_full']}, {s['foe_desc']}, stands in the way.")

    def kind_of(self, text: str) -> str:
        """The kind of one of our choices by its words ("Hide from …" → "avoid"); "" for a
        model's choice."""
        low = " ".join(text.casefold().split()) + " "
        key = name_key(text)
        de = self.lang == "de"
        if any(name_key(a.de if de else a.en) == key for a in self.bank.actions):
            return "action"
        if any(name_key(o.de_face if de else o.en_face) == key for o in self.bank.obstacles
               if o.en_face):
            return "face"
        return next((k for k, words in self.L.KIND_WORDS if low.startswith(words)), "")

    # -- pools -------------------------------------------------------------------------------
    def pick(self, name: str, pool: tuple[str, ...], step: int = 0, *,
             once: bool = False) -> str:
        """This chapter's entry `step` (< `per`) of `pool` in the story's own order of it:
        chapter n takes entries (n-1)·per … (n-1)·per + per-1, so no two chapters share one;
        with `once` "" after the story has used the whole pool (the line is left out)."""
        return self.pick_k(name, pool, (self.n - 1) * self.per + step, once=once)

    def pick_k(self, name: str, pool: tuple[str, ...], k: int, *, once: bool = False) -> str:
        """Entry k of `pool` in this story's own order (see `pick`)."""
        if not pool or (once and k >= len(pool)):
            return ""
        order = list(range(len(pool)))
        random.Random(f"{self.key}:{self.req.theme.id}:{name}").shuffle(order)
        return pool[order[k % len(order)]]

    # -- cast --------------------------------------------------------------------------------
    def _rng(self, what: str) -> random.Random:
        """One random source per decision, so reading an outline (which skips some draws)
        does not change the others: the outline the storyteller wrote and the story agree."""
        return random.Random(f"tale:{self.key}:{self.req.theme.id}:{what}")

    def _cast(self) -> None:
        c = Casting(self.req, self.lang, self.L, self.bank, self.outline, self.key)
        self.hero, self.friend, self.foe, self.dead = c.hero, c.friend, c.foe, c.dead

    # -- places and things ---------------------------------------------------------------------
    def _bank_where(self, p: Place) -> Where:
        if self.lang == "de":
            forms = offline_de.place_forms(p.de, p.de_prep, p.de_g)
            return Where(forms[""], forms, p.de_note, p.scene, p.de_g)
        return Where(p.en, offline_en.place_forms(p.en, p.en_prep), p.en_note, p.scene, "")

    def _memory_where(self, e: Entity, route: list[Where]) -> Where:
        for w in route:
            if name_key(w.name) == name_key(e.name):
                return w._replace(note=e.note or w.note)
        forms = (offline_de.place_forms(e.name) if self.lang == "de"
                 else offline_en.place_forms(e.name))
        return Where(e.name, forms, e.note, "", "")

    def _places(self) -> None:
        route = [self._bank_where(p) for p in self.bank.places]
        self._rng("route").shuffle(route)
        o = self.outline
        told = f" {name_key(o.place)} "
        if o.place and all(told not in f" {name_key(form)} " for w in route
                           for form in w.forms.values()):
            if self.lang == "de" and o.place_g:
                forms = offline_de.place_forms(o.place, o.place_prep or "in", o.place_g)
            elif self.lang == "de":
                forms = offline_de.place_forms(o.place)
            else:
                forms = offline_en.place_forms(o.place)
            route.insert(0, Where(forms[""], forms, "", "", o.place_g))
        if o.place:   # the outline's place starts the story
            route.sort(key=lambda w: all(told not in f" {name_key(form)} "
                                         for form in w.forms.values()))
        plan = self.req.plan
        if plan is not None and plan.places:   # the plan's places are the story's route
            own = [self._memory_where(Entity(name=p.name, note=p.note), route)
                   for p in plan.places]
            keys = {name_key(w.name) for w in own}
            route = own + [w for w in route if name_key(w.name) not in keys]
        self.route = route[:5]
        visited = [self._memory_where(e, route) for e in self.memory.locations]
        self.visited = {name_key(w.name) for w in visited}
        self.here = visited[0] if visited else self.route[0]
        self.moved = not visited
        self.first_visit = not visited

    def go_to(self, where: Where) -> None:
        self.moved = name_key(where.name) != name_key(self.here.name)
        self.first_visit = name_key(where.name) not in self.visited
        self.here = where

    def dest(self) -> Where:
        """The next place on the route that is neither here nor visited; from the climax on,
        the goal's own place (see `_goal_place`)."""
        here = name_key(self.here.name)
        g = self.goal_place
        if g is not None and self.stage in ("climax", "endgame", "resolution") \
                and name_key(g.name) != here:
            return g
        for w in self.route:
            if name_key(w.name) not in self.visited and name_key(w.name) != here:
                return w
        return next(w for w in self.route if name_key(w.name) != here)

    def _thing(self, t: Thing | Obstacle) -> tuple[str, dict[str, str]]:
        if self.lang == "de":
            forms = offline_de.thing_forms(t)
            return forms[""], forms
        return offline_en.the(t.en), offline_en.thing_forms(t)

    def _things(self) -> None:
        remembered = self.memory.items[0] if self.memory.items else None
        if remembered is not None:
            self.item_name = remembered.name
            self.item = (offline_de.memory_thing(remembered.name) if self.lang == "de"
                         else offline_en.memory_thing(remembered.name))
            self.item_found = True
            self.item_used = "used" in remembered.note or "eingesetzt" in remembered.note
        else:
            self.item_name, self.item = self._thing(self._rng("item").choice(self.bank.items))
            self.item_found = self.item_used = False
        order = list(self.bank.obstacles)
        self._rng("threat").shuffle(order)
        faced = sum(k in ("face", "use") for k in self.past)
        self.obstacle_done = faced >= len(order)     # every obstacle dealt with
        self.obstacle = order[min(faced, len(order) - 1)]
        self.threat = self._thing(self.obstacle)[1]
        # the story has met this obstacle when a chapter's event says so (a model's story
        # continued by us has not, whatever the chapter number)
        noun = (self.obstacle.de if self.lang == "de" else self.obstacle.en).split()[-1]
        happened = (*self.memory.events, *self.memory.summaries)
        self.threat_known = any(noun.casefold() in e.casefold() for e in happened)
        self.threat_new = not self.obstacle_done and not self.threat_known and (
            self.n >= self.threat_at)   # this chapter brings it in
        goal = self._rng("goal").choice(self.bank.goals)
        o = self.outline
        told = name_key(self.req.outline)
        banked = next((g for g in self.bank.goals if name_key(o.goal) in (
            name_key(g.en), name_key(g.de)) or name_key(g.en) in told
            or name_key(g.de) in told), None)
        if banked is not None:
            goal = banked
        if o.goal and o.lang == self.lang and banked is None:
            self.goal, self.goal_done = o.goal, o.goal_done
        elif self.lang == "de":
            self.goal, self.goal_done = goal.de, goal.de_done
        else:
            self.goal, self.goal_done = goal.en, goal.en_done
        want = plan_goal(self.req.plan.protagonist.want if self.req.plan else "", self.lang)
        if want and name_key(want) != name_key(self.goal):   # a model's plan: its own goal
            self.goal, self.goal_done = want, ""
        self.goal_place = self._goal_place(goal.en if self.goal in (goal.en, goal.de) else "")

    def _goal_place(self, bank_goal: str) -> Where | None:
        """The route's place the goal belongs to ("get the children out of the house" →
        Blackmoor House, "das Café retten" → the Rosencafé), or None: the climax heads
        there and the ending happens there."""
        if bank_goal:   # a theme's goal: its English words name the place in both languages
            words = set(re.findall(r"\w+", bank_goal.casefold()))
            names = [name_key(p.de if self.lang == "de" else p.en) for p in self.bank.places
                     if p.en.split()[-1].casefold() in words]   # "das Moorhaus" is Moorhaus
            return next((w for w in self.route if any(name_key(w.name).endswith(n)
                                                      for n in names)), None)
        nouns = [w.casefold() for w in re.findall(r"\w+", self.goal)
                 if len(w) >= 4 and (self.lang == "en" or w[:1].isupper())]
        for w in self.route:
            last = w.name.split()[-1].casefold()
            if self.lang == "en" and last in nouns or self.lang == "de" and any(
                    last.endswith(n) for n in nouns):
                return w
        return None

    # -- slots -------------------------------------------------------------------------------
    def slots(self) -> dict[str, str]:
        """Every word a template may use (see en.py); "Key" and "Key_cap" capitalised."""
        L, h, f, x = self.L, self.hero, self.friend, self.foe
        d = self.dest()
        gentle = self.bank.gentle
        s: dict[str, str] = {
            "hero": h.short or h.name, "hero_full": h.name, "hero_desc": h.desc,
            "friend": f.short or f.name, "friend_full": f.name, "friend_desc": f.desc,
            "foe": _mid(x.short or x.name), "foe_full": _mid(x.name), "foe_desc": x.desc,
            "goal": self.goal, "goal_done": self.goal_done, "here": self.here.forms[""],
            "here_loc": self.here.forms["loc"], "here_acc": self.here.forms["acc"],
            "here_to": self.here.forms["to"],
            "note": past_clause(self.here.note, self.lang, note=True),   # narration is past
            "dest": d.forms[""], "to": d.forms["to"], "dest_loc": d.forms["loc"],
            "dest_acc": d.forms["acc"], "dest_dat": d.forms.get("dat", d.forms[""]),
            "here_dat": self.here.forms.get("dat", self.here.name),
            "dead": self.dead[0] if self.dead else "", "act": "", "past": "",
        }
        # told in the past: "a reporter who asked one question too many" (outline_text keeps
        s |= {k: past_clause(s[k], self.lang)   # the present)
              for k in ("hero_desc", "friend_desc", "foe_desc")}
        s |= L.pronouns(h.g, s["hero"])
        s |= {"f" + k: v for k, v in L.pronouns(f.g, s["friend"]).items()}
        s |= {"x" + k: v for k, v in L.pronouns(x.g, s["foe"]).items()}
        for key, forms in (("item", self.item), ("threat", self.threat)):
            for case, text in forms.items():
                s[f"{key}_{case}" if case else key] = text
        for key, forms in (("item", self.item), ("threat", self.threat)):
            s |= {f"a_{key}": forms["a"], f"a_{key}_acc": forms["a_acc"],
                  f"a_{key}_dat": forms.get("a_dat", forms["a"])}
        s["goal_zu"] = L.goal_zu(self.goal)
        s["goal_done_sub"] = L.verb_last(self.goal_done)
        s["friend_e"] = "" if f.g == "f" else "r"     # German "als Erste" / "als Erster"
        s |= L.obstacle_slots(self.obstacle, s)
        s |= L.place_slots(self.here.name, self.here.g) | L.dest_slots(d.name, d.g)
        s["friends"] = L.friends_word(h.g, f.g)
        s |= {f"{k}_gen": genitive(s[k], self.lang) for k in ("hero", "friend", "foe")}
        rels = L.REL_F if self.lang == "de" and f.g == "f" else L.REL
        rel = self.pick("rel", rels)
        if self.outline.friend and name_key(self.outline.friend) == name_key(f.name) \
                and self.outline.friend_rel:
            rel = L.relation(self.outline.friend_rel, h.g)
        s["rel"] = rel.format(**s)
        secret = self.pick_k("secret", self.T.SECRET, 0)
        motive = self.pick_k("motive", self.T.MOTIVE_GENTLE if gentle else self.T.MOTIVE, 0)
        s["secret"], s["motive"] = secret.format(**s), motive.format(**s)
        for key in ("goal_done", "faced"):   # verb second: "fand Ines ihren Bruder"
            verb, _, rest = s[key].partition(" ")
            s[key + "_v2"] = f"{verb} {s['hero']} {rest}".strip()
        for key in list(s):
            s[key[:1].upper() + key[1:]] = s[key][:1].upper() + s[key][1:]
            s[key[:1].upper() + key[1:] + "_cap"] = s[key][:1].upper() + s[key][1:]
        return s
