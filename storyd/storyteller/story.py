"""The offline storyteller: a seeded, stateless TextProvider that tells a story with no network.

`offline_plot.Plot` decides who, where, what and which arc stage from the request; this
module turns that into sentences (English or German templates of `offline_en`/`offline_de`),
fits them to `request.words`, and writes the choices, the title and the memory update.

A chapter is a list of beat groups with priorities: the restated winning choice, the stage of
the arc and the hook (or, in a closing chapter, the goal reached and the last line) come first;
arrival, the friend, the foe, the item and the sights fill up to the wanted length. A group is
kept or dropped whole (a found item and its use go together), then the kept groups are put
back in story order.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import trio

from storyd.core.languages import DE_STOP, EN_STOP
from storyd.core.memory import name_key
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    DialogueLine,
    Entity,
    MemoryUpdate,
    Theme,
)
from storyd.core.plan import StoryPlan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.recap import RecapRequest, StoryRecap
from storyd.errors import ProviderError
from storyd.storyteller.choices import choices_for, clean_choice, recognise
from storyd.storyteller.name_pools import offer_names
from storyd.storyteller.planner import offline_plan, write_plan
from storyd.storyteller.plot import Plot, Where

Beat = tuple[int, list[tuple[str, str]]]     # (priority, [(sentence, speaker)])
_EN_VERBS = frozenset(
    "go run open enter climb fight flee talk help investigate explore return find look call "
    "trust attack defend wait listen read steal give try jump swim cross check question follow "
    "examine accept refuse warn tell chase escape protect stay leave turn pick grab break search "
    "light lock dive keep save free rescue send visit join let make get bring carry push ask "
    "pull sneak hunt track fix build buy sell play dance kiss hug forgive confess hide use rest "
    "head spy confront set sing study sharpen bargain cast hack compare".split())


def key_words(text: str, lang: str) -> list[str]:
    """The words of a choice that the next chapter has to show (≥ 4 letters, not stopwords)."""
    stop = (DE_STOP | {"dich", "dir", "mich", "mir", "einen", "einem"}) if lang == "de" else EN_STOP
    words = [w.strip(".,;:!?\"'„“”()…").casefold() for w in text.split()]
    return [w for w in words if len(w) >= 4 and w not in stop]


def shows(choice: str, text: str, lang: str) -> bool:
    """True when `text` shows the choice: every key word, or its first four letters, appears."""
    seen = {w.strip(".,;:!?\"'„“”()…").casefold()[:4] for w in text.split()}
    words = key_words(choice, lang)
    return sum(w[:4] in seen for w in words) >= max(len(words) - 1, (len(words) + 1) // 2)


class OfflineStoryteller:
    """The embedded default storyteller (TextProvider "offline")."""

    name = "offline"

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        await trio.lowlevel.checkpoint()
        req = ChapterRequest(theme=theme, language=language, chapter_number=1, words=40,
                             n_choices=3, seed=seed * 1000 + 1)
        p = Plot(req)
        s = p.slots()
        if p.lang == "de":
            return (f"{s['hero']}, {s['hero_desc']}, will {s['goal']}, {s['here_loc']}. "
                    f"{s['Friend']}, {s['friend_desc']}, hilft dabei. "
                    f"Doch {s['foe']}, {s['foe_desc']}, steht im Weg.")
        return (f"{s['hero']}, {s['hero_desc']}, must {s['goal']}, starting {s['here_loc']}. "
                f"{s['Friend']}, {s['friend_desc']}, comes along. "
                f"But {s['foe']}, {s['foe_desc']}, stands in the way.")

    async def write_plan(self, request: PlanRequest) -> StoryPlan:
        """A whole story plan from the outline and the theme (storyteller/planner.py)."""
        await trio.lowlevel.checkpoint()
        return write_plan(request)

    def plan_fallback(self, request: PlanRequest) -> StoryPlan:
        """Its own plan for `request` (before any completion)."""
        return offline_plan(request)

    def offer_names(self, theme_id: str, language: str, seed: int) -> tuple[str, ...]:
        return offer_names(theme_id, language, seed)

    async def write_recap(self, request: RecapRequest) -> StoryRecap:
        """The recap built from the chapters themselves (core/recap.py)."""
        await trio.lowlevel.checkpoint()
        return request.fallback

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        """A chapter of about `request.words` words with exactly `request.n_choices` choices."""
        await trio.lowlevel.checkpoint()
        if not 0 <= request.n_choices <= 6 or (request.n_choices == 0) != request.closing:
            raise ProviderError(
                f"offline storyteller: n_choices={request.n_choices} with closing="
                f"{request.closing}; want 1-6 choices, or 0 for a closing chapter",
                provider=self.name, retryable=False)
        return write(request)


def _fill(template: str, s: dict[str, str]) -> str:
    if not template:
        return ""
    text = template.format(**s)
    text = re.sub(r"\s+([,.])", r"\1", " ".join(text.split()))
    return text[:1].upper() + text[1:]


def write(req: ChapterRequest) -> ChapterDraft:
    p = Plot(req)
    L, bank = p.L, p.bank
    win = clean_choice(req.winning_choice)
    kind, past, dest = recognise(p, win) if win else ("", "", None)
    if dest is not None:
        p.go_to(dest)
    s = p.slots()
    s["act"] = win[:1].lower() + win[1:] if kind == "generic" and p.lang == "en" else win
    s["past"] = past
    verb, _, rest = past.partition(" ")
    s["past_v2"] = f"{verb} {p.hero.name} {rest}".strip()
    said = p.n

    def f(t: str) -> str:
        return _fill(t, s)

    def quote(line: str, who: str) -> tuple[str, str]:
        nonlocal said
        said += 1
        if not line:
            return "", who
        return L.say(f(line), who, said), who

    beats: list[Beat] = []
    events: list[str] = []

    def opt(prio: int, name: str, pool: tuple[str, ...]) -> None:
        """An optional line; a second round of its pool only when nothing fresher is left."""
        beats.append((prio + (5 if p.used_up(pool) else 0), [(f(p.pick(name, pool, vary=True)),
                                                             "")]))
    used = False
    first = p.n <= 1 or (not win and not p.memory.locations)
    if first:
        beats.append((0, [(f(p.pick("open1", L.OPEN_FIRST)), "")]))
        beats.append((1, [(f(p.pick("fintro", L.FRIEND_INTRO)), "")]))
        beats.append((2, [(f(p.pick("arrive", L.ARRIVE)), "")]))
        events.append(_event(L.EVENT["start"], s))
    else:
        # no winning choice after chapter 1 (an operator's `finish` before any vote, a resumed
        # story): nothing to restate, the story simply goes on
        opener = _opener(p, kind, s) if win else ""
        if win and kind not in ("generic", "free") and not shows(win, opener, p.lang):
            kind = "generic" if p.lang == "de" or win.split()[0].casefold() in _EN_VERBS \
                else "free"
            s["act"] = win[:1].lower() + win[1:] if kind == "generic" and p.lang == "en" else win
            opener = _opener(p, kind, s)
        if opener:
            beats.append((0, [(opener, "")]))
        after = _after(p, kind, f, quote) if win else []
        if after:
            # what the choice led to is part of it; an arrival can give way to the story
            beats.append((3 if req.closing else 1 if kind in ("follow", "go", "action") else 0,
                          after))
        if kind in ("follow", "go"):
            events.append(_event(L.EVENT["arrive"], s))
        if kind in ("confront", "talk"):
            events.append(_event(L.EVENT[kind], s))
        if kind in ("ask", "ask_item", "rest"):
            events.append(_event(L.EVENT["truth"], s))
        if kind == "spy":
            events.append(_event(L.EVENT["spy"], s))
        if kind == "use" and p.item_found:
            used = True
            events.append(_event(L.EVENT["use"], s))
        if kind in ("hide", "search"):
            events.append(_event(L.EVENT[kind], s))
        if kind in ("action", "free"):
            events.append(_event(L.EVENT[kind], s))
        elif kind == "generic":
            events.append(_event(L.EVENT["chose" if p.lang == "en" else "free"], s))
        if kind not in ("follow", "go"):
            opt(2, "stay", L.STAY)
        if not p.friend.known and not req.closing:
            beats.append((2, [(f(p.pick("fintro", L.FRIEND_INTRO)), "")]))
    sight_pool = bank.sights_de if p.lang == "de" else bank.sights_en
    sights = p.pick("sight", sight_pool, once=True)
    if req.closing:
        group: list[tuple[str, str]] = []
        if not p.item_found:
            group.append((f(p.pick("find", L.AFTER["find"])), ""))
        used = True
        group.append((f(p.pick("close_item", L.CLOSE_ITEM_GENTLE if bank.gentle
                               else L.CLOSE_ITEM)), ""))
        beats.append((1, group))
        fate = L.CLOSE_RIVAL if bank.gentle else L.CLOSE_FOE
        own = bank.fate_de if p.lang == "de" else bank.fate_en
        beats.append((0, [(f(own or p.pick("fate", fate)), "")]))
        goal = L.CLOSE_GOAL if p.goal_done else L.CLOSE_GOAL_INF
        beats.append((0, [(f(p.pick("goal", goal)), "")]))
        beats.append((0, [(f(p.pick("cfriend", L.CLOSE_FRIEND)), "")]))   # every thread ends
        beats.append((3, [((bank.beats_de if p.lang == "de" else bank.beats_en)[4], "")]))
        beats.append((4, [(sights, "")]))
        beats.append((0, [(f(p.pick("final", L.CLOSE_FINAL)), "")]))
        events.append(_event(L.EVENT["end" if p.goal_done else "endinf"], s))
    else:
        if p.stage != "setup":
            idx = ("complication", "turn", "climax", "endgame").index(p.stage)
            theme_beat = (bank.beats_de if p.lang == "de" else bank.beats_en)[idx]
            line = theme_beat if p.stage_start else f(p.pick_k(
                p.stage, L.STAGE[p.stage], p.stage_step - 1, vary=True))
            beats.append((0 if p.stage != "endgame" else 2, [(line, "")]))
        find = f(p.pick("find", L.AFTER["find"]))   # the key item turns up after the setup
        if not p.item_found and p.stage != "setup" and all(
                t != find for _, g in beats for t, _ in g):
            beats.append((0, [(find, "")]))
        opt(3, "foe", L.RIVAL if bank.gentle else L.FOE)
        beats.append((3, [quote(p.pick("says", L.FRIEND_SAYS, once=True), p.friend.name)]))
        if p.stage == "complication" and p.stage_start:   # the danger is named early
            beats.append((1, [(f(p.pick("threat", L.THREAT)), "")]))
        elif not bank.gentle:
            opt(4, "threat", L.THREAT)
        opt(4, "sight", sight_pool)
        if p.item_found:
            opt(5, "item", L.ITEM)
        if p.dead:
            beats.append((5, [(f(L.MOURN[0]), "")]))
        opt(5, "mood", L.MOOD)
        opt(6, "fill", L.FILL)
        if req.words > 70:   # long-form chapters: more of the scene, the people and the mood
            extra = [*(bank.sights_de if p.lang == "de" else bank.sights_en), *L.FILL,
                     *L.FOE[:2], *L.ITEM[:1], *L.STAGE["turn"][2:], *L.STAGE["endgame"][2:],
                     *L.STAGE["complication"][2:], *L.HOOK[:5], *L.STAY[:3], *L.MOOD]
            beats += [(12, [quote(p.pick("truth", L.AFTER["truth"], 1), p.friend.name)]),
                      (12, [quote(p.pick("rest_q", L.AFTER["rest"], 1), p.hero.name)])]
            beats += [(13, [(f(t), "")]) for t in extra]
        beats.append((0, [(f(p.pick("hook", L.HOOK, vary=True)), "")]))
    kept = _fit(beats, max(req.words, 8), req.previous_text)
    lines = tuple(DialogueLine(text=t, speaker=who) for _, g in kept for t, who in g)
    text = " ".join(line.text for line in lines)
    # the item was found when a find line made it into the text (the search consequence too)
    found = not p.item_found and f(p.pick("find", L.AFTER["find"])) in (ln.text for ln in lines)
    if found:
        events.append(_event(L.EVENT["find"], s))
    title = _title(p, s)
    choices = () if req.closing else choices_for(p, s, req.n_choices, win)
    update = _memory(p, s, text, events, found=found, used=used and p.item_name.split()[-1] in text,
                     kind=kind)
    summary = update.event + (f" ({p.here.name})" if p.here.name not in update.event else "")
    return ChapterDraft(title=title, text=text, choices=choices, memory=update, summary=summary,
                        lines=lines)


def _opener(p: Plot, kind: str, s: dict[str, str]) -> str:
    """The winning choice restated; the k-th time a kind is chosen gets its own wording."""
    words = dict(p.L.KIND_WORDS).get(kind, "\0")
    k = sum(c.casefold().startswith(words) for c in p.req.path[:-1])
    pool = p.L.KIND_OPEN[kind]
    text = _fill(pool[(k + p.key) % len(pool)], s)
    if k >= len(pool):
        again = p.L.AGAIN[(k // len(pool) - 1) % len(p.L.AGAIN)]
        text = f"{again} {text[:1].lower() + text[1:]}" if not text.startswith(s["hero"]) \
            else f"{again} {text}"
    return text


def _times(p: Plot, *kinds: str) -> int:
    """How often choices of these kinds were taken before the winning one."""
    words = tuple(w for k, w in p.L.KIND_WORDS if k in kinds)
    actions = {name_key(a.de if p.lang == "de" else a.en) for a in p.bank.actions} \
        if "action" in kinds else set()
    return sum(c.casefold().startswith(words) if words else name_key(c) in actions
               for c in p.req.path[:-1])


Line = tuple[str, str]   # (sentence, speaker or "")


def _after(p: Plot, kind: str, fill: Callable[[str], str],
           quote: Callable[[str, str], Line]) -> list[Line]:
    """What the winning choice led to, right after the opener (its consequence)."""
    L = p.L
    k = _times(p, kind)
    if kind in ("follow", "go"):
        moves = _times(p, "follow", "go") + 1     # chapter 1 used the first one
        return [(fill(p.pick_k("arrive", L.ARRIVE, moves, vary=True)), "")]
    if kind == "search":
        if not p.item_found and p.stage != "setup":
            return [(fill(p.pick("find", L.AFTER["find"])), "")]  # once per story: the item
        return [(fill(p.pick_k("clue", L.AFTER["clue"], k, vary=True)), "")]
    if kind in ("ask", "ask_item"):
        return [quote(p.pick_k("truth", L.AFTER["truth"], _times(p, "ask", "ask_item"),
                               once=True), p.friend.name)]
    if kind == "rest":
        return [quote(p.pick_k("rest_q", L.AFTER["rest"], k, once=True), p.friend.name)]
    if kind in ("confront", "talk"):
        lines = L.AFTER["rival_says" if p.bank.gentle else "foe_says"]
        return [quote(p.pick_k("foe_q", lines, k, once=True), p.foe.name)]
    if kind in ("spy", "hide", "use", "action"):
        return [(fill(p.pick_k("after:" + kind, L.AFTER[kind], k, vary=True)), "")]
    return []


def _words(group: list[tuple[str, str]]) -> int:
    return sum(len(t.split()) for t, _ in group)


def _fit(beats: list[Beat], target: int, previous: str) -> list[Beat]:
    """Groups by priority while the count stays within ±15% of target (the opener always),
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
        w = _words(group)
        if not chosen or (total + w <= hi and (total < lo or beats[i][0] == 0)):
            chosen.add(i)
            total += w
            seen.update(t for t, _ in group)
    return [beats[i] for i in sorted(chosen)]


def _event(template: str, s: dict[str, str]) -> str:
    return " ".join(template.format(**s).split())


def _title(p: Plot, s: dict[str, str]) -> str:
    L = p.L
    pool = L.TITLES_END if p.req.closing else L.TITLES
    used = {name_key(t) for t in p.req.previous_titles}
    title = ""
    for step in range(len(pool)):
        title = _fill(p.pick("title", pool, step), s)
        if p.lang == "en":
            title = " ".join(w if i and w in _SMALL else w[:1].upper() + w[1:]
                             for i, w in enumerate(title.split()))
        if name_key(title) not in used:
            return title
    base, part = title, 2
    while name_key(title) in used:   # a very long story: "…, Part 2" / "…, Teil 2"
        title = f"{base}, {'Teil' if p.lang == 'de' else 'Part'} {part}"
        part += 1
    return title


_SMALL = frozenset("a an the of and to in on at for from over with into by".split())


def _memory(p: Plot, s: dict[str, str], text: str, events: list[str], *, found: bool,
            used: bool, kind: str) -> MemoryUpdate:
    L = p.L
    chars = [Entity(name=p.hero.name, role=p.hero.role, note="" if p.hero.known else p.hero.desc)]
    if p.friend.name in text:
        note = "" if p.friend.known else p.friend.desc
        if kind in ("ask", "ask_item", "rest") or p.req.closing:
            note = _event(L.EVENT["ally"], s)
        chars.append(Entity(name=p.friend.name, role=p.friend.role, note=note))
    if p.foe.name in text:
        note = "" if p.foe.known else p.foe.desc
        if p.req.closing:
            note = "reconciled" if p.bank.gentle else "defeated"
        elif kind in ("confront", "talk"):
            note = _event(L.EVENT["confronted" if kind == "confront" else "talked"], s)
        chars.append(Entity(name=p.foe.name, role="villain", note=note))
    items: tuple[Entity, ...] = ()
    if used:
        items = (Entity(name=p.item_name, note=_event(L.EVENT["used"], s)),)
    elif found:
        items = (Entity(name=p.item_name, note=_event(L.EVENT["found"], s)),)
    elif p.item_found and p.item_name.split()[-1] in text:
        items = (Entity(name=p.item_name),)
    here: Where = p.here
    event = "; ".join(dict.fromkeys(e for e in events if e))
    return MemoryUpdate(characters=tuple(chars), locations=(Entity(name=here.name, note=here.note),
                                                            ),
                        items=items, event=(event[:1].upper() + event[1:] + ".") if event else "")

