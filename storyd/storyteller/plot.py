"""The story grammar of the offline storyteller: who, where, what, and which arc stage.

Theory of operation
-------------------
The storyteller is stateless: everything comes from the `ChapterRequest`.

* **Story key** `seed - chapter_number` is the same for every chapter of a story (the
  director sends `story_seed * 1000 + n`), so the per-story choices (hero, goal, route of
  places, key item, the shuffled order of every template pool) are stable across chapters.
* **Cast, places, items** come from the story memory first (whoever wrote the earlier
  chapters, a model included, the same names continue), then from the outline, then from
  the theme's bank. Roles: hero/heroine, a friend (sidekick/elder), a foe (villain).
* **Arc**: `max_chapters` (or 8 when 0) chapters: setup (1), complication, turning point,
  climax; past the arc an endgame that steers to the end; the closing chapter resolves the
  goal, the foe and the friend's thread.
* **Items are found before they are used**: the key item enters memory in a "find" beat; the
  "use" choice and the closing's item beat need it in memory.
* **The winning choice** is recognised by its first words (our own choices) and restated at
  the start of the chapter; an unknown choice (a model's) is quoted.
* **No repeats**: every pool is walked in a per-story shuffled order, one step per chapter.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import NamedTuple

from storyd.core.languages import offline_language
from storyd.core.memory import name_key
from storyd.core.model import ChapterRequest, Entity, StoryMemoryView
from storyd.core.plan import DEFAULT_CHAPTERS
from storyd.storyteller import de as offline_de
from storyd.storyteller import en as offline_en
from storyd.storyteller.bank import Bank, Obstacle, Person, Place, Thing
from storyd.storyteller.banks import bank_for
from storyd.storyteller.outline import parse_outline

_HERO_ROLES = ("hero", "heroine", "narrator", "protagonist")
_FRIEND_ROLES = ("sidekick", "elder", "friend", "companion", "ally", "")
_FOE_ROLES = ("villain", "antagonist", "rival", "enemy")


class Who(NamedTuple):
    name: str
    g: str
    desc: str
    role: str
    known: bool            # already in the story memory


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


def _plan_goal(want: str, lang: str) -> str:
    """A plan's want when it reads as the goal phrase the templates need ("find her brother"
    / "ihren Bruder finden"), else "" (the bank's goal then)."""
    words = want.strip().rstrip(".!").split()
    if not 2 <= len(words) <= 12:
        return ""
    if lang == "de":
        last = words[-1]
        return " ".join(words) if last.islower() and last.endswith("n") else ""
    if words[0].casefold() == "to":
        words = words[1:]
    first = words[0]
    return " ".join(words) if first.islower() and first not in ("a", "an", "the") else ""


class Plot:
    """Everything one chapter is made of, derived from the request (see the module doc)."""

    def __init__(self, req: ChapterRequest) -> None:
        self.req = req
        self.lang = offline_language(req.language)
        self.L: ModuleType = offline_de if self.lang == "de" else offline_en
        self.bank: Bank = bank_for(req.theme.id, self.lang)
        self.key = req.seed - req.chapter_number
        self.rng = random.Random(f"tale:{self.key}:{req.theme.id}")   # see _rng
        self.crng = random.Random(f"chapter:{req.seed}:{req.chapter_number}:{req.theme.id}")
        self.memory = req.memory or StoryMemoryView()
        self.outline = parse_outline(req.outline)
        self.n = req.chapter_number
        self.arc = req.max_chapters if req.max_chapters > 0 else DEFAULT_CHAPTERS
        self.stage = stage(self.n, self.arc, req.closing)
        prev = stage(self.n - 1, self.arc, False) if self.n > 1 else ""
        self.stage_start = prev != self.stage
        first = self.n
        while first > 1 and stage(first - 1, self.arc, False) == self.stage:
            first -= 1
        self.stage_step = self.n - first          # 0 on the stage's first chapter
        self._cast()
        self._places()
        self._things()

    # -- pools -------------------------------------------------------------------------------
    def pick(self, name: str, pool: tuple[str, ...], step: int = 0, *, once: bool = False,
             vary: bool = False) -> str:
        """Entry `chapter + step` of `pool` in this story's own order of it. Once the story has
        used the whole pool: with `once` "", with `vary` the line with an "again" ending that
        differs per round ("Nobody spoke, once again."), so no sentence comes back ("" once
        even those are used up)."""
        return self.pick_k(name, pool, self.n - 1 + step, once=once, vary=vary)

    def pick_k(self, name: str, pool: tuple[str, ...], k: int, *, once: bool = False,
               vary: bool = False) -> str:
        """Entry k of `pool` in this story's own order (see `pick`)."""
        order = list(range(len(pool)))
        random.Random(f"{self.key}:{name}").shuffle(order)
        line = pool[order[k % len(order)]]
        if k < len(order) or not (once or vary) or not line:
            return line
        if once or k // len(order) > len(self.L.AGAIN_END):
            return ""
        body, end = (line[:-1], line[-1]) if line[-1] in ".?!" else (line, ".")
        suffix = self.L.AGAIN_END[(k // len(order) - 1) % len(self.L.AGAIN_END)]
        return f"{body}, {suffix}{end}"

    def used_up(self, pool: tuple[str, ...], step: int = 0) -> bool:
        """True when this chapter's entry of `pool` would be a second round."""
        return self.n - 1 + step >= len(pool)

    # -- cast --------------------------------------------------------------------------------
    def _rng(self, what: str) -> random.Random:
        """One random source per decision, so reading an outline (which skips some draws)
        does not change the others: the outline the storyteller wrote and the story agree."""
        return random.Random(f"tale:{self.key}:{self.req.theme.id}:{what}")

    def _person(self, pool: tuple[Person, ...], avoid: set[str]) -> Who:
        people = [p for p in pool if name_key(p.name) not in avoid] or list(pool)
        p = self._rng(pool[0].name).choice(people)
        return Who(p.name, p.g, p.de if self.lang == "de" else p.en, "", False)

    def _from_memory(self, roles: tuple[str, ...], avoid: set[str], alive: bool) -> Who | None:
        for c in self.memory.characters:
            if c.role in roles and name_key(c.name) not in avoid and (c.alive or not alive):
                g = "f" if c.role == "heroine" else "m" if c.role == "hero" else ""
                return Who(c.name, g, c.note, c.role, True)
        return None

    def _from_plan(self, who: str) -> Who | None:
        """The plan's protagonist, first living companion or antagonist (a model's story
        told on by the offline storyteller keeps the model's people)."""
        plan = self.req.plan
        if plan is None:
            return None
        dead = {name_key(c.name) for c in self.memory.characters if not c.alive}
        if who == "hero":
            p = plan.protagonist
            return Who(p.name, self._gender(p.name), "", "", False)
        people = [plan.antagonist()] if who == "foe" else list(plan.companions())
        for c in people:
            if c is not None and name_key(c.name) not in dead:
                known = any(name_key(m.name) == name_key(c.name)
                            for m in self.memory.characters)
                return Who(c.name, self._gender(c.name), c.trait, "", known)
        return None

    def _gender(self, name: str) -> str:
        for c in self.memory.characters:
            if name_key(c.name) == name_key(name) and c.role in ("hero", "heroine"):
                return "f" if c.role == "heroine" else "m"
        return ""

    def _cast(self) -> None:
        o = self.outline
        hero = self._from_plan("hero") or self._from_memory(_HERO_ROLES, set(), True)
        banked = next((b for b in self.bank.heroes if b.name == o.hero), None) or next(
            (b for b in self.bank.heroes if b.name in self.req.outline), None)
        if hero is None and banked is not None:
            hero = Who(banked.name, banked.g, banked.de if self.lang == "de" else banked.en, "",
                       False)
        if hero is None and o.hero:
            desc = o.hero_role if o.hero_role and o.lang in (self.lang, "") else ""
            if desc and self.lang == "en":
                desc = self.L.a(desc)
            elif desc and self.lang == "de" and desc.split()[0] not in ("ein", "eine"):
                desc = ("eine " if o.hero_g == "f" else "ein ") + desc
            hero = Who(o.hero, o.hero_g or "m", desc, "", False)
        if hero is None:
            hero = self._person(self.bank.heroes, set())
        if not hero.g:
            g = next((p.g for p in self.bank.heroes if p.name == hero.name), "")
            hero = hero._replace(g=g)
        if not hero.desc:
            hero = hero._replace(desc=self._person(self.bank.heroes, set()).desc)
        self.hero = hero._replace(role=hero.role or ("heroine" if hero.g == "f" else "hero"))
        taken = {name_key(hero.name)}
        friend = self._from_plan("friend") or self._from_memory(
            ("sidekick", "elder", "friend", "companion", "ally"), taken,
            True) or self._from_memory(("",), taken, True)
        if friend is None and o.friend:
            friend = Who(o.friend, "f" if o.friend_rel.casefold() in (
                "sister", "mother", "daughter", "schwester", "mutter", "tochter", "freundin",
                "partnerin", "cousine") else "m", "", "sidekick", False)
        named = [b for b in self.bank.friends if b.name in self.req.outline]
        if friend is None and named:
            friend = Who(named[0].name, named[0].g,
                         named[0].de if self.lang == "de" else named[0].en, "", False)
        friend = friend or self._person(self.bank.friends, taken)
        if not friend.g:
            friend = friend._replace(g=next((p.g for p in self.bank.friends
                                             if p.name == friend.name), ""))
        if not friend.desc:
            friend = friend._replace(desc=(
                "jemand, der niemanden aufgibt" if self.lang == "de"
                else "someone who never gives up on anyone"))
        self.friend = friend._replace(role=friend.role or "sidekick")
        taken.add(name_key(friend.name))
        named_foes = [b for b in self.bank.foes if b.name in self.req.outline]
        foe = self._from_plan("foe") or self._from_memory(_FOE_ROLES, taken, False) or (
            Who(named_foes[0].name, named_foes[0].g,
                named_foes[0].de if self.lang == "de" else named_foes[0].en, "", False)
            if named_foes else self._person(self.bank.foes, taken))
        if not foe.desc:
            pool = self.bank.foes
            foe = foe._replace(desc=(pool[0].de if self.lang == "de" else pool[0].en))
        if not foe.g:
            foe = foe._replace(g=next((p.g for p in self.bank.foes if p.name == foe.name), ""))
        self.foe = foe._replace(role="villain")
        self.dead = [c.name for c in self.memory.characters
                     if not c.alive and name_key(c.name) not in taken]

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
                 else offline_en.place_forms(e.name, "at"))
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
                forms = offline_en.place_forms(o.place, "in" if "cave" in o.place.casefold()
                                               else "at")
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
        self.threat = self._thing(self._rng("threat").choice(self.bank.obstacles))[1]
        goal = self._rng("goal").choice(self.bank.goals)
        o = self.outline
        told = name_key(self.req.outline)
        banked = next((g for g in self.bank.goals if name_key(o.goal) in (
            name_key(g.en), name_key(g.de)) or name_key(g.en) in told
            or name_key(g.de) in told), None)
        if banked is not None:
            goal = banked
        want = _plan_goal(self.req.plan.protagonist.want if self.req.plan else "", self.lang)
        if want:
            self.goal, self.goal_done = want, ""
        elif o.goal and o.lang == self.lang and banked is None:
            self.goal, self.goal_done = o.goal, o.goal_done
        elif self.lang == "de":
            self.goal, self.goal_done = goal.de, goal.de_done
        else:
            self.goal, self.goal_done = goal.en, goal.en_done

    # -- slots -------------------------------------------------------------------------------
    def slots(self) -> dict[str, str]:
        L, h, f = self.L, self.hero, self.friend
        d = self.dest()
        s: dict[str, str] = {
            "hero": h.name, "hero_desc": h.desc, "friend": f.name, "friend_desc": f.desc,
            "foe": self.foe.name, "foe_desc": self.foe.desc, "goal": self.goal,
            "goal_done": self.goal_done, "here": self.here.forms[""],
            "here_loc": self.here.forms["loc"], "here_acc": self.here.forms["acc"],
            "here_to": self.here.forms["to"],
            "note": self.here.note or ("a strange, quiet place" if self.lang == "en"
                                       else "ein seltsam stiller Ort"),
            "dest": d.forms[""], "to": d.forms["to"], "dead": self.dead[0] if self.dead else "",
            "act": "", "past": "",
        }
        s |= L.pronouns(h.g, h.name)
        s["friend_pron"] = L.pronouns(f.g, f.name)["pron"]
        for key, forms in (("item", self.item), ("threat", self.threat)):
            for case, text in forms.items():
                s[f"{key}_{case}" if case else key] = text
        s["a_item"] = self.item["a"]
        s["a_item_acc"] = self.item["a_acc"]
        plural = self.here.g == "pl"
        last = self.here.name.split()[-1] if self.here.name else ""
        s["was"] = "were" if self.lang == "en" and last.endswith("s") and not last.endswith(
            ("ss", "us")) else "was"
        s |= {"war": "waren" if plural else "war", "lag": "lagen" if plural else "lag",
              "erwies": "erwiesen sich" if plural else "erwies sich",
              "empfing": "empfingen" if plural else "empfing"}
        rels = L.REL_F if self.lang == "de" and f.g == "f" else L.REL
        rel = self.outline.friend_rel if self.outline.friend == f.name and self.outline.friend_rel \
            else self.pick("rel", rels)
        if self.outline.friend == f.name and self.outline.friend_rel:
            rel = (f"{s.get('poss', 'the hero')} {rel}" if self.lang == "en"
                   else f"{'ihr' if h.g == 'f' else 'sein'} {rel}")
        s["rel"] = rel.format(**s)
        verb, _, rest = self.goal_done.partition(" ")
        s["goal_done_v2"] = f"{verb} {h.name} {rest}".strip()
        for key in list(s):
            s[key[:1].upper() + key[1:]] = s[key][:1].upper() + s[key][1:]
            s[key[:1].upper() + key[1:] + "_cap"] = s[key][:1].upper() + s[key][1:]
        return s
