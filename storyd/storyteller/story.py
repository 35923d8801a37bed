"""The offline storyteller: a seeded, stateless TextProvider that tells a story with no network.

`plot.Plot` decides who, where, what and which arc stage from the request; `scenes` lists
the beat groups of the chapter (English or German lines of `en`/`de` and
`en_ends`/`de_ends`); this module fits them to `request.words`, names people the way a
writer would (in full once, then the short name, a pronoun where the same person goes on),
and writes the choices, the title and the memory update.
"""

from __future__ import annotations

import re
import string

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
from storyd.storyteller.cameo import walk_on, with_guest
from storyd.storyteller.choices import (
    EN_VERBS,
    choices_for,
    clean_choice,
    obstacle_kind,
    recognise,
)
from storyd.storyteller.deeds import deed
from storyd.storyteller.name_pools import offer_names
from storyd.storyteller.names import place_once
from storyd.storyteller.planner import offline_plan, write_plan
from storyd.storyteller.plot import Plot, stage
from storyd.storyteller.scenes import (
    Fill,
    Line,
    Quote,
    closing_beats,
    first_beats,
    fit,
    friend_intros,
    hook,
    introduces,
    long_form,
    middle_beats,
)
from storyd.storyteller.turns import turn_event


def key_words(text: str, lang: str) -> list[str]:
    """The words of a choice that the next chapter has to show (≥ 4 letters, not stopwords)."""
    stop = (DE_STOP | {"dich", "dir", "mich", "mir", "einen", "einem"}) if lang == "de" else EN_STOP
    words = [w.strip(".,;:!?\"'„“”()…").casefold() for w in text.split()]
    return [w for w in words if len(w) >= 4 and w not in stop]


def shows(choice: str, text: str, lang: str) -> bool:
    """True when `text` shows the choice: half of its key words after the verb (the verb is
    conjugated: "Nutze" is "fand einen Weg"), by their first four letters, appear."""
    seen = {w.strip(".,;:!?\"'„“”()…").casefold()[:4] for w in text.split()}
    verb = choice.split()[0].casefold() if choice.split() else ""
    words = [w for w in key_words(choice, lang) if w != verb]
    return sum(w[:4] in seen for w in words) >= (len(words) + 1) // 2


class OfflineStoryteller:
    """The embedded default storyteller (TextProvider "offline")."""

    name = "offline"

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        await trio.lowlevel.checkpoint()
        return Plot(ChapterRequest(theme=theme, language=language, chapter_number=1, words=40,
                                   n_choices=3, seed=seed * 1000 + 1)).outline_text()

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
    L = p.L
    win = clean_choice(req.winning_choice)
    kind, past_phrase, dest = recognise(p, win) if win else ("", "", None)
    if dest is not None:
        p.go_to(dest)
    s = p.slots()
    s["act"] = win[:1].lower() + win[1:] if kind == "generic" and p.lang == "en" else win
    if kind in ("generic", "free") and deed(win, p.lang, p.hero.g):   # a model's choice,
        kind, past_phrase = "deed", deed(win, p.lang, p.hero.g)       # told as done
        s["act"] = win
    s["past"] = past_phrase
    verb, _, rest = past_phrase.partition(" ")
    s["past_v2"] = f"{verb} {s['hero']} {rest}".strip()
    past = p.past
    said = p.n * 2

    def f(t: str) -> str:
        return _fill(t, s)

    def quote(line: str, who: str, how: str) -> Line:
        nonlocal said
        said += 1
        person = {"hero": p.hero, "friend": p.friend, "foe": p.foe}[who]
        if not line:
            return "", person.name
        return L.say(f(line), s[who], said, how), person.name   # voices know the full name

    offered = [] if req.closing else choices_for(p, s, req.n_choices, kind)
    first = p.n <= 1 or (not win and not p.memory.locations)
    events: list[str] = []
    opener = ""
    if first:
        beats = first_beats(p, f, quote)
        events.append(_event(L.EVENT["start"], s))
    else:
        opener = _opener(p, kind, s) if win else ""
        if win and kind not in ("generic", "free", "deed") and not shows(win, opener, p.lang):
            kind = "generic" if p.lang == "de" or win.split()[0].casefold() in EN_VERBS \
                else "free"
            s["act"] = win[:1].lower() + win[1:] if kind == "generic" and p.lang == "en" else win
            if deed(win, p.lang, p.hero.g):   # told as done, not quoted
                kind, s["past"] = "deed", deed(win, p.lang, p.hero.g)
                verb, _, rest = s["past"].partition(" ")
                s["past_v2"] = f"{verb} {s['hero']} {rest}".strip()
            opener = _opener(p, kind, s)
        events += _events(p, kind, s)
    if req.closing:
        result = _after(p, kind, f, quote, past, past_phrase) if kind in (
            "action", "face", "use") else []   # the obstacle answers (END tells "avoid")
        arrival = ""
        goal_place = p.goal_place   # the goal's own place, or where the last chapter pointed
        if goal_place is None and kind not in ("follow", "go") and \
                p.dest().name.split()[-1] in req.previous_text:
            goal_place = p.dest()
        if goal_place is not None and goal_place.name != p.here.name:
            p.go_to(goal_place)
            keep = {k: v for k, v in s.items() if k.casefold().startswith(("act", "past"))}
            s.update(p.slots() | keep)
            pool = p.E.GOAL_PLACE if p.first_visit else p.E.GOAL_BACK
            arrival = f(p.pick_k("goal_place", pool, 0))
        beats = closing_beats(p, f, kind, opener, past, result, arrival)
        events.append(_event(L.EVENT["end" if p.goal_done else "endinf"], s))
    elif not first:
        after = _after(p, kind, f, quote, past, past_phrase)
        beats = middle_beats(p, f, quote, kind, after, opener)
        if not p.friend.known:   # the first chapter had no room for the friend
            beats.append((1, [(f(p.pick_k("fintro", friend_intros(p), 0)), "")]))
    if not req.closing:   # the intro of a new antagonist or obstacle is hook enough, and
        if req.words > 70:  # a long consequence leaves no room for one in a short chapter
            beats += long_form(p, f, quote, past)
        told = sum(len(t.split()) for prio, g in beats if prio == 0 for t, _ in g)
        last = hook(p, s, offered)   # must-tell only where it fits in the length fit allows
        crowded = (first or introduces(p) or told > 0.55 * req.words
                   or told + len(last.split()) > int(max(req.words, 8) * 1.15))
        beats.append((1 if crowded else 0, [(last, "")]))
    cameo, walk = walk_on(req, s, lambda: f(p.pick_k("cameo", L.CAMEO, p.n - 1)))  # a viewer
    if walk:   # who joined (storyteller/cameo.py): their line on top of the wanted length
        beats.insert(1, (0, [(walk, "")]))
    kept = fit(beats, max(req.words, 8) + len(walk.split()), req.previous_text)
    written = _pronouns(p, s, [(t, who) for _, g in kept for t, who in g])
    lines = place_once(written, s["here_loc"], p.lang, (s["hero"], s["friend"], s["foe"],
                                                     s["item"].split()[-1],
                                                     s["threat"].split()[-1]))
    text = " ".join(t for t, _ in lines)
    turn = "" if first or req.closing else turn_event(p, kind, f, text)
    if turn and turn in text:   # the chapter's event is what a recap retells (turns.py)
        names = {w for k in ("hero", "friend", "foe") for w in s[k].split()}
        events.append(turn.rstrip(".") if turn.split()[0] in names else
                      turn[:1].lower() + turn[1:].rstrip("."))
    noun = s["threat"].split()[-1]
    if not p.threat_known and not p.obstacle_done and noun in text and kind not in (
            "face", "use"):   # the obstacle came in: memory keeps it (see Plot.threat_known)
        events.append(_event(L.EVENT["met"], s))
    find = f(p.pick_k("find", p.T.AFTER["find"], 0))
    found = not p.item_found and find in (t for t, _ in written)   # as written, before "there"
    if found:
        events.append(_event(L.EVENT["find"], s))
    used = kind == "use" and p.item_found or req.closing and p.item_found
    update = _memory(p, s, text, events, found=found,
                     used=used and p.item_name.split()[-1] in text, kind=kind)
    update = with_guest(update, cameo, text, L.CAMEO_NOTE)
    summary = update.event + (f" ({p.here.name})" if p.here.name not in update.event else "")
    return ChapterDraft(title=_title(p, s, text), text=text, choices=tuple(c for _, c in offered),
                        memory=update, summary=summary,
                        lines=tuple(DialogueLine(text=t, speaker=who) for t, who in lines))


def _opener(p: Plot, kind: str, s: dict[str, str]) -> str:
    """The winning choice restated; the k-th time a kind is chosen gets its k-th wording."""
    k = sum(c == kind for c in p.past)
    custom = kind == "face" and (p.obstacle.de_face if p.lang == "de" else p.obstacle.en_face)
    pool = p.L.KIND_OPEN["face:custom" if custom else obstacle_kind(p, kind)]
    return _fill(pool[(k + p.key) % len(pool)] if k < len(pool) else pool[k % len(pool)], s)


def _events(p: Plot, kind: str, s: dict[str, str]) -> list[str]:
    E = p.L.EVENT
    name = {"follow": "arrive", "go": "arrive", "ask": "truth", "ask_item": "truth",
            "rest": "truth", "bargain": "talk", "generic": "chose" if p.lang == "en" else "free"
            }.get(kind, kind)
    return [_event(E[name], s)] if name in E else []


def secret_out(p: Plot, past: list[str]) -> bool:
    """True once the friend has told the secret: at the first question asked from the turn
    on, or at the second question of the story (chapter i + 2 shows the i-th choice)."""
    asked = 0
    for i, kind in enumerate(past):
        if kind == "ask":
            if asked or stage(i + 2, p.arc, False) in ("turn", "climax", "endgame"):
                return True
            asked += 1
    return False


def _after(p: Plot, kind: str, f: Fill, q: Quote, past: list[str], did: str) -> list[Line]:
    """What the winning choice led to, right after the opener (its consequence)."""
    k = sum(c == kind for c in past)
    if kind in ("follow", "go"):
        if not p.first_visit:
            return [(f(p.pick_k("revisit", p.T.REVISIT, k)), "")]
        moves = sum(c in ("follow", "go") for c in past) + 1   # chapter 1 used the first one
        pool = p.T.ARRIVE if p.here.note else p.T.ARRIVE_PLAIN
        return [(f(p.pick_k("arrive", pool, moves)), "")]
    if kind == "search":
        if not p.item_found and p.stage != "setup":
            return [(f(p.pick_k("find", p.T.AFTER["find"], 0)), "")]  # once per story: the item
        return [(f(p.pick_k("clue", p.T.AFTER["clue"], k)), "")]
    if kind == "ask":
        if (p.stage in ("turn", "climax", "endgame") or k >= 1) and not secret_out(p, past):
            return [(f(p.pick_k("secret", p.T.AFTER["secret"], 0)), "")]
        lines = tuple(t for t in p.T.AFTER["ask"] if p.foe.known or "{Foe}" not in t)
        return [q(p.pick_k("truth", lines, k, once=True), "friend", "")]
    if kind == "ask_item":
        return [q(p.pick_k("ask_item", p.T.AFTER["ask_item"], k, once=True), "friend", "")]
    if kind in ("confront", "talk", "bargain"):
        lines = _heard_of(p, p.T.AFTER["rival_says" if p.bank.gentle else
                                      "foe_bargain" if kind == "bargain" else "foe_says"])
        return [q(p.pick_k("foe_q", lines, k, once=True), "foe", "")]
    if kind == "rest":
        return [q(p.pick_k("rest_q", p.T.AFTER["rest"], k, once=True), "friend", "")]
    if kind == "action":
        action = next((a for a in p.bank.actions if (a.de_past if p.lang == "de" else a.en_past)
                       == did), None)
        result = (action.de_result if p.lang == "de" else action.en_result) if action else ""
        if result:
            return [(f(result), "")]
    if kind == "deed":   # a model's choice: it has a visible result
        lines = tuple(t for t in p.T.AFTER["deed"] if p.foe.known or "{foe}" not in t)
        return [(f(p.pick_k("deed", lines, k, once=True)), "")]
    if kind == "spy" and p.stage in ("turn", "climax"):
        return [(f(p.pick_k("motive", p.T.AFTER["motive"], 0)), "")]
    key = obstacle_kind(p, kind)
    if key in p.T.AFTER:
        return [(f(p.pick_k("after:" + key, _heard_of(p, p.T.AFTER[key]), k, once=True)), "")]
    return []


def _heard_of(p: Plot, pool: tuple[str, ...]) -> tuple[str, ...]:
    """The lines that name the key item only once the story has found or mentioned it."""
    told = p.item_found or p.incident == "item"
    return tuple(t for t in pool if told or "{item" not in t.casefold()) or pool


def _pronouns(p: Plot, s: dict[str, str], lines: list[Line]) -> list[Line]:
    """A narrator's sentence that starts with the person the previous one started with says
    "She"/"Er" instead, unless another person of that gender has been named in the chapter
    (then "he" could be either of them)."""
    people = [(s["hero"], p.hero.g), (s["friend"], p.friend.g), (s["foe"], p.foe.g)]
    out: list[Line] = []
    prev_subject, told = "", ""
    for text, who in lines:
        subject = next((n for n, _ in people
                        if who == "" and text.startswith((n + " ", n + ","))), "")
        if subject and subject == prev_subject:
            g = next(g for n, g in people if n == subject)
            rivals = [n for n, g2 in people if g2 == g and n != subject and n in told]
            if g in ("f", "m") and not rivals:
                pron = p.L.pronouns(g, subject)["pron"]
                text = pron[:1].upper() + pron[1:] + text[len(subject):]
                subject = ""   # the next one names the person again
        out.append((text, who))
        prev_subject, told = subject, f"{told} {text}"
    return out


def _event(template: str, s: dict[str, str]) -> str:
    return " ".join(template.format(**s).split())


def _shown(template: str, s: dict[str, str], text: str) -> bool:
    """True when every person, place and thing a title names is in the chapter's text."""
    keys = [k for _, k, _, _ in string.Formatter().parse(template) if k]
    return all(s[k].casefold().removeprefix("the ") in text.casefold() for k in keys
               if not k.casefold().startswith(("here", "hero")))


def _title(p: Plot, s: dict[str, str], text: str) -> str:
    pool = p.E.TITLES_END if p.req.closing else p.T.TITLES
    used = {name_key(t) for t in p.req.previous_titles}
    title = ""
    for step in range(len(pool)):
        template = p.pick("title", pool, step)
        shape = re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(template)) + "$", re.I)
        if step < len(pool) - 1 and (not _shown(template, s, text) or any(
                shape.match(t) for t in p.req.previous_titles)):
            continue
        title = _fill(template, s)
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
    if s["friend"] in text:
        note = "" if p.friend.known else p.friend.desc
        if kind in ("ask", "ask_item", "rest") or p.req.closing:
            note = _event(L.EVENT["ally"], s)
        chars.append(Entity(name=p.friend.name, role=p.friend.role, note=note))
    if s["foe"] in text or p.req.closing:
        note = "" if p.foe.known else p.foe.desc
        if p.req.closing:
            note = "reconciled" if p.bank.gentle else "defeated"
        elif kind in ("confront", "talk", "bargain"):
            note = _event(L.EVENT["confronted" if kind == "confront" else "talked"], s)
        chars.append(Entity(name=p.foe.name, role="villain", note=note))
    items: tuple[Entity, ...] = ()
    if used:
        items = (Entity(name=p.item_name, note=_event(L.EVENT["used"], s)),)
    elif found:
        items = (Entity(name=p.item_name, note=_event(L.EVENT["found"], s)),)
    elif p.item_found and p.item_name.split()[-1] in text:
        items = (Entity(name=p.item_name),)
    event = "; ".join(dict.fromkeys(e for e in events if e))
    return MemoryUpdate(characters=tuple(chars),
                        locations=(Entity(name=p.here.name, note=p.here.note),),
                        items=items, event=(event[:1].upper() + event[1:] + ".") if event else "")
