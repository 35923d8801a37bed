"""Who is in the story: the hero, the friend and the antagonist, and what the story calls them.

People come from the story plan first (a model's plan keeps the model's people; the offline
plan names the bank's own), then from the story memory (whoever wrote the earlier chapters,
a model included, the same names continue), then from the operator's outline, then from
the theme's word bank. Each gets a gender (pronouns, German agreement), a description (used
where the person is introduced) and a short name for everywhere after that.
"""

from __future__ import annotations

import random
import re
from types import ModuleType
from typing import NamedTuple

from storyd.core.memory import name_key
from storyd.core.model import ChapterRequest, StoryMemoryView
from storyd.storyteller.bank import Bank, Person
from storyd.storyteller.deeds import is_en_verb
from storyd.storyteller.names import short_name
from storyd.storyteller.outline import Outline

_HERO_ROLES = ("hero", "heroine", "narrator", "protagonist")
_FOE_ROLES = ("villain", "antagonist", "rival", "enemy")


class Who(NamedTuple):
    name: str
    g: str
    desc: str
    role: str
    known: bool            # already in the story memory
    short: str = ""        # after the first mention ("" = the name)


_EN_WANTS = re.compile(r"^(?:[A-Z][\w'.-]*\s+){0,3}(?:(?:wants|needs|hopes|has|tries|longs|"
                       r"plans|means|is determined|is desperate|sets out|vows)\s+to|must)\s+")
_DE_WANTS = re.compile(r"^(?:\w+\s+){1,3}(?:will|muss|möchte|wollen|müssen)\s+")
_DE_OBJECT_START = ("den", "die", "das", "ihren", "ihre", "ihr", "seinen", "seine", "sein",
                    "einen", "eine", "ein")


def plan_goal(want: str, lang: str) -> str:
    """A plan's want as the goal phrase the templates need ("find her brother" / "ihren
    Bruder finden"), else "" (the bank's goal then). A model writes wants in many shapes:
    "She wants to clear her name." → "clear her name"; "Clear her name" → "clear her name";
    "the truth about her father" → "find the truth about her father"; "Sie will ihren
    Bruder retten" → "ihren Bruder retten"; "die Wahrheit über ihren Vater" → "… finden"."""
    text = " ".join(want.split()).rstrip(".!")
    text = (_DE_WANTS if lang == "de" else _EN_WANTS).sub("", text)
    words = text.split()
    if not 2 <= len(words) <= 12:
        return ""
    if lang == "de":
        if words[-1].islower() and words[-1].endswith("n"):
            return " ".join(words)
        return f"{' '.join(words)} finden" if words[0].lower() in _DE_OBJECT_START else ""
    if words[0].casefold() == "to":
        words = words[1:]
    first = words[0]
    if first[:1].isupper() and is_en_verb(first):
        words[0] = first.casefold()   # "Clear her name"
    elif first.casefold() in ("a", "an", "the", "her", "his", "their"):
        words = ["find", first.casefold(), *words[1:]]
    first = words[0]
    return " ".join(words) if first.islower() and first not in ("a", "an", "the") else ""


class Casting:
    """The cast of one chapter's story (see the module docstring): `hero`, `friend`, `foe`
    and `dead` (remembered people who died) are set on construction."""

    def __init__(self, req: ChapterRequest, lang: str, grammar: ModuleType, bank: Bank,
                 outline: Outline, key: int) -> None:
        self.req, self.lang, self.L, self.bank, self.outline = req, lang, grammar, bank, outline
        self.memory = req.memory or StoryMemoryView()
        self.key = key
        self._cast()

    def _rng(self, what: str) -> random.Random:
        """The same random source as `Plot._rng` for the same decision."""
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

    def _from_plan(self, who: str) -> Who | None:
        """The plan's protagonist, first living companion or antagonist (a model's story
        told on by the offline storyteller keeps the model's people; the offline plan names
        the bank's own)."""
        plan = self.req.plan
        if plan is None:
            return None
        dead = {name_key(c.name) for c in self.memory.characters if not c.alive}
        pool = {"hero": self.bank.heroes, "friend": self.bank.friends, "foe": self.bank.foes}[who]
        if who == "hero":
            p = plan.protagonist
            banked = self._banked(pool, p.name)
            if banked is not None:
                return Who(banked.name, banked.g, banked.de if self.lang == "de" else banked.en,
                           "", False, self._short(banked))
            # "Anna Berg, eine Kommissarin, will …": the premise says who she is
            said = re.search(re.escape(p.name) + r",\s+((?:an?|the|ein|eine|der|die)\s"
                             r"[^,.]{3,60}),", plan.premise)
            desc = said.group(1) if said else ""
            return Who(p.name, self._gender(p.name, desc or f"{p.want} {p.flaw}"), desc, "",
                       False)
        people = [plan.antagonist()] if who == "foe" else list(plan.companions())
        for c in people:
            if c is not None and name_key(c.name) not in dead:
                known = any(name_key(m.name) == name_key(c.name)
                            for m in self.memory.characters)
                banked = self._banked(pool, c.name)
                said = re.search(re.escape(c.name) + r",\s+((?:an?|the|ein|eine|der|die)\s"
                                 r"[^,.]{3,60}),", plan.premise)
                desc = (banked.de if self.lang == "de" else banked.en) if banked else \
                    said.group(1) if said else self._trait(c.trait)
                return Who(c.name, banked.g if banked else self._gender(c.name, c.trait), desc,
                           "", known, self._short(banked) if banked else "")
        return None

    def _trait(self, trait: str) -> str:
        """A plan's bare trait as words that stand after a name: "Kroll, smooth as ever"
        (not "Kroll, smooth,"); a described person ("a smooth talker") as it is."""
        t = " ".join(trait.split()).rstrip(".")
        if not t or t.split()[0].casefold() in ("a", "an", "the", "ein", "eine", "der", "die",
                                                "das") or len(t.split()) > 4:
            return t
        return f"{t} {'wie immer' if self.lang == 'de' else 'as ever'}"

    def _gender(self, name: str, about: str) -> str:
        for c in self.memory.characters:
            if name_key(c.name) == name_key(name) and c.role in ("hero", "heroine"):
                return "f" if c.role == "heroine" else "m"
        guess: str = self.L.gender_of(about)
        return guess

    def _banked(self, pool: tuple[Person, ...], name: str) -> Person | None:
        return next((b for b in pool if name and name_key(b.name) == name_key(name)), None)

    def _cast(self) -> None:
        o = self.outline
        hero = self._from_plan("hero") or self._from_memory(_HERO_ROLES, set(), True)
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
        friend = self._from_plan("friend") or self._from_memory(
            ("sidekick", "elder", "friend", "companion", "ally"), taken, True) or \
            self._from_memory(("",), taken, True)
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
        foe = self._from_plan("foe") or self._from_memory(_FOE_ROLES, taken, False) or (
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
