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
from types import ModuleType
from typing import NamedTuple

import msgspec

from storyd.core.memory import name_key
from storyd.core.model import ChapterRequest, Entity, StoryMemoryView
from storyd.storyteller import de as offline_de
from storyd.storyteller import de_ends as offline_de_ends
from storyd.storyteller import de_lines as offline_de_lines
from storyd.storyteller import en as offline_en
from storyd.storyteller import en_ends as offline_en_ends
from storyd.storyteller import en_lines as offline_en_lines
from storyd.storyteller.bank import Bank, Obstacle, Person, Place, Thing
from storyd.storyteller.banks import bank_for
from storyd.storyteller.lang import offline_language
from storyd.storyteller.names import short_name
from storyd.storyteller.outline import Outline, parse_outline

DEFAULT_ARC = 8
_HERO_ROLES = ("hero", "heroine", "narrator", "protagonist")
_FRIEND_ROLES = ("sidekick", "elder", "friend", "companion", "ally", "")
_FOE_ROLES = ("villain", "antagonist", "rival", "enemy")
INCIDENTS = ("foe", "clue", "threat", "item", "friend")


class Who(NamedTuple):
    name: str
    g: str
    desc: str
    role: str
    known: bool            # already in the story memory
    short: str = ""        # after the first mention ("" = the name)


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
        self.arc = req.max_chapters if req.max_chapters > 0 else DEFAULT_ARC
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
        s = self.slots()
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

    def _person(self, pool: tuple[Person, ...], avoid: set[str]) -> Who:
        people = [p for p in pool if name_key(p.name) not in avoid] or list(pool)
        p = self._rng(pool[0].name).choice(people)
        return Who(p.name, p.g, p.de if self.lang == "de" else p.en, "", False, self._short(p))

    def _from_memory(self, roles: tuple[str, ...], avoid: set[str], alive: bool) -> Who | None:
        for c in self.memory.characters:
            if c.role in roles and name_key(c.name) not in avoid and (c.alive or not alive):
                g = "f" if c.role == "heroine" else "m" if c.role == "hero" else ""
                return Who(c.name, g, c.note, c.role, True)
        return None

    def _banked(self, pool: tuple[Person, ...], name: str) -> Person | None:
        return next((b for b in pool if name and name_key(b.name) == name_key(name)), None)

    def _cast(self) -> None:
        o = self.outline
        hero = self._from_memory(_HERO_ROLES, set(), True)
        banked = self._banked(self.bank.heroes, o.hero) or next(
            (b for b in self.bank.heroes if b.name in self.req.outline), None)
        if hero is None and banked is not None:
            hero = Who(banked.name, banked.g, banked.de if self.lang == "de" else banked.en, "",
                       False, self._short(banked))
        if hero is None and o.hero:
            desc = o.hero_role if o.hero_role and o.lang in (self.lang, "") else ""
            if desc and self.lang == "en":   # "Detective" in front of a name: "a detective"
                desc = self.L.a(desc.casefold())
            elif desc and self.lang == "de" and desc.split()[0] not in ("ein", "eine"):
                desc = ("eine " if o.hero_g == "f" else "ein ") + desc
            hero = Who(o.hero, o.hero_g or "m", desc, "", False)
        if hero is None:
            hero = self._person(self.bank.heroes, set())
        if not hero.g:
            hero = hero._replace(g=next((p.g for p in self.bank.heroes if p.name == hero.name),
                                        ""))
        if not hero.desc:   # someone of the same gender from the bank, for a description
            alike = tuple(b for b in self.bank.heroes if b.g == hero.g) or self.bank.heroes
            hero = hero._replace(desc=self._person(alike, set()).desc)
        self.hero = self._named(hero._replace(
            role=hero.role or ("heroine" if hero.g == "f" else "hero")), self.bank.heroes)
        taken = {name_key(hero.name)}
        friend = self._from_memory(("sidekick", "elder", "friend", "companion", "ally"), taken,
                                   True) or self._from_memory(("",), taken, True)
        if friend is None and o.friend:
            banked = self._banked(self.bank.friends, o.friend)
            g = o.friend_g or (banked.g if banked else "m")
            rel = self.L.relation(o.friend_rel, hero.g) if o.friend_rel and o.lang in (
                self.lang, "") else ""
            friend = Who(o.friend, g, (banked.de if self.lang == "de" else banked.en)
                         if banked else rel, "sidekick", False)
        named = [b for b in self.bank.friends if b.name in self.req.outline]
        if friend is None and named:
            friend = Who(named[0].name, named[0].g,
                         named[0].de if self.lang == "de" else named[0].en, "", False,
                         self._short(named[0]))
        friend = friend or self._person(self.bank.friends, taken)
        if not friend.g:   # a friend from memory: the outline or the bank knows, or the note
            told_g = o.friend_g if o.friend and name_key(o.friend) == name_key(friend.name) \
                else ""
            friend = friend._replace(g=told_g or next(
                (p.g for p in self.bank.friends if p.name == friend.name), "")
                or self.L.gender_of(friend.desc))
        if not friend.desc:
            friend = friend._replace(desc=(
                "jemand, der niemanden aufgibt" if self.lang == "de"
                else "someone who never gives up on anyone"))
        self.friend = self._named(friend._replace(role=friend.role or "sidekick"),
                                  self.bank.friends)
        taken.add(name_key(friend.name))
        named_foes = [b for b in self.bank.foes if b.name in self.req.outline]
        foe = self._from_memory(_FOE_ROLES, taken, False) or (
            Who(o.foe, o.foe_g or "m", "", "", False) if o.foe else None) or (
            Who(named_foes[0].name, named_foes[0].g,
                named_foes[0].de if self.lang == "de" else named_foes[0].en, "", False,
                self._short(named_foes[0]))
            if named_foes else self._person(self.bank.foes, taken))
        if not foe.desc:
            pool = self.bank.foes
            foe = foe._replace(desc=(pool[0].de if self.lang == "de" else pool[0].en))
        if not foe.g:
            foe = foe._replace(g=next((p.g for p in self.bank.foes if p.name == foe.name), "m"))
        self.foe = self._named(foe._replace(role="villain"), self.bank.foes, foe=True)
        self.dead = [c.name for c in self.memory.characters
                     if not c.alive and name_key(c.name) not in taken]

    def _short(self, p: Person) -> str:
        return (p.de_short or p.short) if self.lang == "de" else p.short

    def _named(self, who: Who, pool: tuple[Person, ...], foe: bool = False) -> Who:
        """`who` with its short name: the bank's, or made from the name."""
        banked = self._banked(pool, who.name)
        return who._replace(short=who.short or (self._short(banked) if banked else "")
                            or short_name(who.name, foe))

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
        """The next place on the route that is neither here nor visited."""
        here = name_key(self.here.name)
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

    # -- slots -------------------------------------------------------------------------------
    def slots(self) -> dict[str, str]:
        """Every word a template may use (see en.py); "Key" and "Key_cap" capitalised."""
        L, h, f, x = self.L, self.hero, self.friend, self.foe
        d = self.dest()
        gentle = self.bank.gentle
        s: dict[str, str] = {
            "hero": h.short or h.name, "hero_full": h.name, "hero_desc": h.desc,
            "friend": f.short or f.name, "friend_full": f.name, "friend_desc": f.desc,
            "foe": x.short or x.name, "foe_full": x.name, "foe_desc": x.desc,
            "goal": self.goal, "goal_done": self.goal_done, "here": self.here.forms[""],
            "here_loc": self.here.forms["loc"], "here_acc": self.here.forms["acc"],
            "here_to": self.here.forms["to"], "note": self.here.note,
            "dest": d.forms[""], "to": d.forms["to"], "dest_loc": d.forms["loc"],
            "dest_acc": d.forms["acc"], "here_dat": self.here.forms.get("dat", self.here.name),
            "dead": self.dead[0] if self.dead else "", "act": "", "past": "",
        }
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
