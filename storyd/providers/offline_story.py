"""The offline storyteller: a seeded, procedural TextProvider that needs no network.

Theory of operation
-------------------
Everything is decided by `random.Random("offline:<seed>:<chapter>:<theme>")`, so one request
always gives one chapter, and two chapters of a story differ. A chapter is built in four steps:

1. Cast: hero, companion and villain are taken from the story memory by role (an LLM may
   have written the earlier chapters), else from vocabulary names found in the outline or the
   memory block, else drawn for the theme. Dead characters are mentioned, never speak.
2. Scene: a place or item named in the winning choice wins; else the last remembered one.
3. Text: the first sentence restates the winning choice; middle beats (arrival, sights,
   dialogue, item, threat, villain) are drawn from several templates each, shuffled, and added
   while the word count stays within ±15% of `request.words`; a hook (or, for a closing
   chapter, a resolution) ends it. `lines` attributes each sentence to a speaker.
4. Choices: candidate phrases from the scene, minus anything in `avoid_choices`, preferring
   distinct first verbs. A `MemoryUpdate` tags the cast, place, item and event.

The offline storyteller writes English whatever `request.language` says (a known limit).
"""

from __future__ import annotations

import random

import trio

from storyd.core.memory import name_key
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    DialogueLine,
    Entity,
    MemoryUpdate,
    StoryMemoryView,
    Theme,
)
from storyd.errors import ProviderError
from storyd.providers import offline_text as T
from storyd.providers.offline_vocab import VOCAB, Vocab


class _Person:
    def __init__(self, name: str, role: str, note: str = "", *, alive: bool = True,
                 known: bool = False) -> None:
        self.name, self.role, self.note, self.alive, self.known = name, role, note, alive, known

    @property
    def pron(self) -> str:
        return {"heroine": "she", "hero": "he"}.get(self.role, self.name)


def _has(text: str, name: str) -> bool:
    return f" {name_key(name)} " in f" {name_key(text)} "


def _vocab(theme: Theme) -> Vocab:
    return VOCAB.get(theme.id, VOCAB["adventure"])


def _cast(rng: random.Random, vocab: Vocab, memory: StoryMemoryView,
          hint: str) -> dict[str, _Person]:
    """hero / companion / villain for this chapter (see the module docstring, step 1)."""
    taken = {name_key(c.name) for c in memory.characters}
    cast: dict[str, _Person] = {}
    wanted = {"hero": ("hero", "heroine"), "companion": ("sidekick", "elder", ""),
              "villain": ("villain",)}
    for slot, roles in wanted.items():
        for c in memory.characters:
            if c.role in roles and (c.alive or slot == "villain") and all(
                    p.name != c.name for p in cast.values()):
                cast[slot] = _Person(c.name, c.role or "sidekick", c.note, alive=c.alive,
                                     known=True)
                break
    pools: dict[str, list[tuple[str, str, str]]] = {
        "hero": list(vocab.heroes), "companion": list(vocab.companions),
        "villain": [(n, "villain", note) for n, note in vocab.villains]}
    for slot, pool in pools.items():
        if slot in cast:
            continue
        hinted = [p for p in pool if _has(hint, p[0]) and name_key(p[0]) not in taken]
        fresh = [p for p in pool if name_key(p[0]) not in taken] or pool
        name, role, note = hinted[0] if hinted else rng.choice(fresh)
        cast[slot] = _Person(name, role, note)
        taken.add(name_key(name))
    return cast


def _the(name: str) -> str:
    first = name.split(" ", 1)[0].casefold()
    if first in ("the", "a", "an"):
        return "the " + name.split(" ", 1)[1]
    return name if name[:1].isupper() else "the " + name


def _a(name: str) -> str:
    if name[:1].isupper() or name.split(" ", 1)[0].casefold() in ("the", "a", "an"):
        return _the(name)
    return ("an " if name[:1].casefold() in "aeiou" else "a ") + name


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(text: str) -> int:
    return len(text.split())


def _act(choice: str, cast: dict[str, _Person]) -> tuple[str, bool]:
    """The winning choice as a clause, and whether it reads as an imperative."""
    text = " ".join(choice.split()).rstrip(" .!?;:")
    words = text.split()
    if len(words) > 14:
        text = " ".join(words[:14])
    first = words[0].casefold() if words else ""
    imperative = first in T.VERBS
    if imperative and not any(text.startswith(p.name) for p in cast.values()):
        text = text[:1].lower() + text[1:]
    return text, imperative


class OfflineStoryteller:
    """The embedded default storyteller (TextProvider "offline")."""

    name = "offline"

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        await trio.lowlevel.checkpoint()
        vocab = _vocab(theme)
        rng = random.Random(f"offline-outline:{seed}:{theme.id}")
        hero, comp = rng.choice(vocab.heroes), rng.choice(vocab.companions)
        villain, place = rng.choice(vocab.villains), rng.choice(vocab.places)
        item, threat = rng.choice(vocab.items), rng.choice(vocab.threats)
        return " ".join(_cap(rng.choice(group).format(
            hero=hero[0], hero_note=hero[2], pron={"heroine": "she"}.get(hero[1], "he"),
            poss={"heroine": "her"}.get(hero[1], "his"), comp=comp[0], comp_note=comp[2],
            villain=villain[0],
            villain_note=villain[1], place=place[0], place_note=place[1], a_item=_a(item[0]),
            the_threat=_the(threat), Villain=_cap(villain[0]))) for group in T.OUTLINE)

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        """A chapter of about `request.words` words with exactly `request.n_choices` choices."""
        await trio.lowlevel.checkpoint()
        if not 0 <= request.n_choices <= 6 or (request.n_choices == 0) != request.closing:
            raise ProviderError(
                f"offline storyteller: n_choices={request.n_choices} with closing="
                f"{request.closing}; want 1-6 choices, or 0 for a closing chapter",
                provider=self.name, retryable=False)
        for salt in range(8):   # the same text twice in a row would look broken: redraw
            draft = _write(request, salt)
            if draft.text != request.previous_text:
                break
        return draft


Beat = tuple[str, str, str]   # (sentence, speaker or "", kind)


def _write(req: ChapterRequest, salt: int) -> ChapterDraft:
    vocab = _vocab(req.theme)
    rng = random.Random(f"offline:{req.seed}:{req.chapter_number}:{req.theme.id}:{salt}")
    memory = req.memory or StoryMemoryView()
    hint = " ".join((req.outline, req.context, req.previous_text))
    cast = _cast(rng, vocab, memory, hint)
    hero, comp, villain = cast["hero"], cast["companion"], cast["villain"]

    # scene: what the winning choice names wins, then memory, then the outline, then chance
    places = [(p.name, p.note) for p in memory.locations] + list(vocab.places)
    items = [(i.name, i.note) for i in memory.items] + list(vocab.items)
    here = next((p for p in places if _has(req.winning_choice, p[0])), None)
    moved = here is not None and not (memory.locations and _has(memory.locations[0].name, here[0]))
    if here is None:
        hinted = [p for p in vocab.places if _has(hint, p[0])]
        here = places[0] if memory.locations else (hinted or [rng.choice(vocab.places)])[0]
    item = next((i for i in items if _has(req.winning_choice, i[0])), None)
    new_item = item is None and (not memory.items or rng.random() < 0.5)
    if item is None:
        fresh = [i for i in vocab.items if all(not _has(m.name, i[0]) for m in memory.items)]
        hinted = [i for i in fresh if _has(hint, i[0])] if not memory.items else []
        item = (hinted[0] if hinted else rng.choice(fresh or list(vocab.items))) if new_item \
            else items[0]
    threat = next((t for t in vocab.threats if _has(req.winning_choice, t)), None) or next(
        (t for t in vocab.threats if _has(hint, t)), None) or rng.choice(vocab.threats)
    dead = [c.name for c in memory.characters if not c.alive and c.name != villain.name]
    item_note = item[1] or "it felt important"
    slots = {
        "hero": hero.name, "Hero": _cap(hero.name), "hero_note": hero.note or "far from home",
        "pron": hero.pron, "Pron": _cap(hero.pron), "comp": comp.name, "Comp": _cap(comp.name),
        "poss": {"heroine": "her", "hero": "his"}.get(hero.role, "their"),
        "comp_note": comp.note or "loyal as ever", "villain": villain.name,
        "Villain": _cap(villain.name), "place": here[0], "Place": _cap(here[0]),
        "place_note": here[1] or "a quiet and strange place", "item": _the(item[0]),
        "Item": _cap(_the(item[0])), "a_item": _a(item[0]), "item_note": item_note,
        "Item_note": _cap(item_note), "threat": _the(threat), "Threat": _cap(_the(threat)),
        "dead": dead[0] if dead else "", "act": "", "choice": "",
    }

    def fill(template: str) -> str:
        return template.format(**slots)

    # the opening sentence restates the winning choice
    if req.winning_choice.strip():
        act, imperative = _act(req.winning_choice, cast)
        slots["act"] = slots["choice"] = act
        opener = fill(rng.choice(T.OPEN_ACT if imperative else T.OPEN_FREE))
        clause = f"{hero.name} chose to {act}" if imperative else f"{hero.name} chose: {act}"
    else:
        opener = fill(rng.choice(T.OPEN_FIRST))
        clause = f"{hero.name} set out"
    if not _has(clause, here[0]):
        clause += f" at {here[0]}"

    first = req.chapter_number <= 1 and not memory.locations
    arrival = T.ARRIVE_FIRST if first else T.ARRIVE_NEW if moved else T.ARRIVE_SAME
    lead: list[Beat] = [(fill(rng.choice(arrival)), "", "arrive")]
    if not comp.known:   # a new companion is introduced early (first thing in chapter 1)
        lead.insert(0 if first else 1, (fill(rng.choice(T.COMP_NEW)), "", "comp"))
    pool: list[Beat] = [(s, "", "sight") for s in rng.sample(vocab.sights, len(vocab.sights))]
    pool += [(fill(t), "", "comp") for t in rng.sample(T.COMP_KNOWN, 2)] if comp.known else []
    pool += [(T.quote(rng, fill(q), comp.name), comp.name, "say")
             for q in rng.sample(T.COMP_QUOTES, 3)]
    pool += [(T.quote(rng, fill(q), hero.name), hero.name, "say")
             for q in rng.sample(T.HERO_QUOTES, 2)]
    pool += [(fill(t), "", "item") for t in rng.sample(T.ITEM_NEW if new_item else T.ITEM_KNOWN, 2)]
    if dead:
        pool.append((fill(rng.choice(T.MOURN)), "", "mourn"))
    if not req.closing:
        pool += [(fill(t), "", "threat") for t in rng.sample(T.THREAT, 2)]
        if villain.alive:
            pool += [(fill(t), "", "villain") for t in rng.sample(T.VILLAIN, 2)]
            pool.append((fill(rng.choice(T.VILLAIN_SAYS)), villain.name, "villain"))
    rng.shuffle(pool)
    if req.closing:   # the resolution beats come first, so even a short closing resolves
        (resolve, fate), final = T.closing_beats(rng, villain.alive)
        lead = [(fill(resolve), "", "resolve"),
                (T.quote(rng, rng.choice(T.WIN_QUOTES), comp.name), comp.name, "say"), *lead]
        ending: list[Beat] = [(fill(fate), "", "fate"), (fill(final), "", "end")]
    else:
        ending = [(fill(rng.choice(T.HOOK)), "", "hook")]
    fillers: list[Beat] = [(fill(f), "", "filler") for f in rng.sample(T.FILLERS, 6)]
    beats = _fit([(opener, "", "open"), *lead, *pool, *fillers], ending, max(req.words, 8))

    lines = tuple(DialogueLine(text=s, speaker=who) for s, who, _ in beats)
    text = " ".join(line.text for line in lines)
    kinds = {kind for _, _, kind in beats}
    choices = () if req.closing else _choices(rng, req, vocab, slots, villain.alive, here[0])
    chars = [Entity(name=p.name, role=p.role, note="" if p.known else p.note)
             for p in (hero, comp) if _has(text, p.name)]
    if _has(text, villain.name):
        fell = "fate" in kinds and "did not rise" in text
        note = "defeated" if "fate" in kinds else "" if villain.known else villain.note
        chars.append(Entity(name=villain.name, role="villain", note=note,
                            alive=villain.alive and not fell))
    extras = [f"found {_a(item[0])}" if "item" in kinds and new_item else "",
              f"heard {villain.name}" if "villain" in kinds else "",
              f"ended the danger of {_the(threat)}" if "resolve" in kinds else ""]
    update = MemoryUpdate(
        characters=tuple(chars), locations=(Entity(name=here[0], note=here[1]),),
        items=(Entity(name=item[0], note=item[1]),) if _has(text, item[0]) else (),
        event=", ".join([clause, *filter(None, extras)]) + ".")
    summary = clause + ("; the story ended." if req.closing else ".")
    title = _title(fill(rng.choice(T.TITLES_END if req.closing else T.TITLES)))
    return ChapterDraft(title=title, text=text, choices=choices, memory=update,
                        summary=summary, lines=lines)


def _fit(candidates: list[Beat], ending: list[Beat], target: int) -> list[Beat]:
    """The opener, then candidates in order while the count stays within ±15% of target,
    then the ending. Tiny targets that even opener+ending overflow get a clipped opener."""
    lo, hi = round(target * 0.85), int(target * 1.15)
    opener, rest = candidates[0], candidates[1:]
    chosen: list[Beat] = []
    total = _words(opener[0]) + sum(_words(b[0]) for b in ending)
    for beat in rest:
        if total >= lo:
            break
        if total + _words(beat[0]) <= hi:
            chosen.append(beat)
            total += _words(beat[0])
    if total > target * 1.2:
        ending = ending[-1:]
        room = max(target - _words(ending[-1][0]), 4)
        opener = (" ".join(opener[0].split()[:room]).rstrip(".,;:") + "…", "", "open")
    return [opener, *chosen, *ending]


def _title(text: str) -> str:
    words = text.split()
    return " ".join(w if (i and w.casefold() in T.SMALL_WORDS) or w[:1].isupper() else _cap(w)
                    for i, w in enumerate(words))


def _choices(rng: random.Random, req: ChapterRequest, vocab: Vocab, slots: dict[str, str],
             villain_alive: bool, here: str) -> tuple[str, ...]:
    """Exactly `req.n_choices` distinct choices, none in `avoid_choices`, varied first verbs."""
    avoid = {name_key(c) for c in (*req.avoid_choices, *req.path, req.winning_choice)}
    elsewhere = [p for p, _ in vocab.places if not _has(p, here)]
    candidates = list(vocab.actions)
    for template in T.CHOICES:
        if "{villain}" in template and not villain_alive:
            continue
        for place in (elsewhere if "{to}" in template else [""]):
            candidates.append(_cap(template.format(**(slots | {"to": place}))))
    rng.shuffle(candidates)
    picked: list[str] = []
    keys: set[str] = set()
    for strict in (True, False):
        for cand in candidates:
            key, verb = name_key(cand), cand.split()[0].casefold()
            if len(picked) == req.n_choices:
                return tuple(picked)
            if key in avoid or key in keys or (strict and any(
                    p.split()[0].casefold() == verb for p in picked)):
                continue
            picked.append(cand)
            keys.add(key)
    n = 1
    while len(picked) < req.n_choices:   # an avoid list that swallowed every phrase
        cand = f"Try another way, plan {n}"
        if name_key(cand) not in avoid and name_key(cand) not in keys:
            picked.append(cand)
            keys.add(name_key(cand))
        n += 1
    return tuple(picked)
